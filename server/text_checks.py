"""Refusing text the database cannot store, for every route, before any handler runs: a
query parameter, path parameter or JSON body field holding a NUL or a lone surrogate gets a
422 naming it instead of a 500 from the database driver."""

import json

from fastapi import Request

from runyard.schemas.text import find_unstorable, unstorable_reason
from server.errors import InvalidInput

JSON_TYPES = ("application/json",)


async def refuse_unstorable_text(request: Request) -> None:
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        for name, value in params.items():
            if isinstance(value, str) and (reason := unstorable_reason(value)) is not None:
                raise InvalidInput(f"{name} {reason}", loc=[where, name])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        return  # YAML and multipart specs are checked where they are parsed (intake)
    body = await request.body()  # cached: the route reads the same bytes again
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError):
        return  # malformed JSON: the route's own parsing says what is wrong
    if (found := find_unstorable(data)) is not None:
        path, reason = found
        raise InvalidInput(f"{'.'.join(map(str, path)) or 'body'} {reason}", loc=["body", *path])
