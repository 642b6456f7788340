"""Reading a submission from the request: a JSON or YAML body, or multipart with `spec` and an
optional `bundle`. Every failure is a 4xx naming what is wrong."""

import json
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from runyard.schemas.spec import ExperimentSpec
from runyard.schemas.spec_errors import spec_problems
from runyard.schemas.text import find_unstorable
from server.bundles.storage import SpooledBundle, spool
from server.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from server.settings import Settings

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
MULTIPART = "multipart/form-data"
# Room for multipart boundaries and headers around the spec and the bundle.
_MULTIPART_OVERHEAD = 64 * 1024
# A spec is a few hundred values; YAML aliases can make a small text expand to billions.
MAX_SPEC_NODES = 100_000


@dataclass(frozen=True)
class Submission:
    spec: ExperimentSpec
    bundle: SpooledBundle | None


def parse_spec(text: bytes | str, media_type: str) -> ExperimentSpec:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data: Any = json.loads(text) if media_type in JSON_TYPES else yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise InvalidInput("the spec is not UTF-8 text", loc=["body"]) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", loc=["body"]
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"malformed YAML: {exc}", loc=["body"]) from exc
    except RecursionError as exc:
        raise InvalidInput("the spec is nested too deeply", loc=["body"]) from exc
    if not isinstance(data, dict):
        raise InvalidInput("an experiment spec must be a JSON object or YAML mapping", loc=["body"])
    _check_size(data)
    if (found := find_unstorable(data)) is not None:
        path, reason = found
        raise InvalidInput(f"{'.'.join(map(str, path))} {reason}", loc=["body", *path])
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        # Only loc/msg/type: the rejected input may be huge or not JSON-serialisable. The
        # messages suggest the field meant when one is misspelt.
        raise RequestValidationError(
            [
                {"loc": ["body", *problem.loc], "msg": problem.message, "type": problem.type}
                for problem in spec_problems(exc)
            ]
        ) from exc


def _check_size(data: Any) -> None:
    """Counts values without recursion and stops at the limit, so an alias bomb costs at most
    MAX_SPEC_NODES steps."""
    pending = [data]
    seen = 0
    while pending:
        node = pending.pop()
        seen += 1
        if seen > MAX_SPEC_NODES:
            raise InvalidInput(
                f"the spec holds more than {MAX_SPEC_NODES} values (YAML aliases count each "
                "time they are used); keep data out of the spec",
                loc=["body"],
            )
        if isinstance(node, dict):
            pending.extend(node.values())
            pending.extend(node.keys())
        elif isinstance(node, list):
            pending.extend(node)


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the spec exceeds {limit} bytes; trim it")
        chunks.append(chunk)
    return b"".join(chunks)


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_submission(request: Request, settings: Settings) -> Submission:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = _declared_length(request)
    if media_type in JSON_TYPES or media_type in YAML_TYPES:
        if declared is not None and declared > settings.max_spec_bytes:
            raise PayloadTooLarge(f"the spec exceeds {settings.max_spec_bytes} bytes; trim it")
        return Submission(
            parse_spec(await _read_limited(request, settings.max_spec_bytes), media_type), None
        )
    if media_type == MULTIPART:
        limit = settings.max_spec_bytes + settings.max_bundle_bytes + _MULTIPART_OVERHEAD
        if declared is not None and declared > limit:
            raise PayloadTooLarge(
                f"the upload exceeds {limit} bytes (spec + code bundle); bundle only your code"
            )
        return await _read_multipart(request, settings)
    raise UnsupportedMediaType(
        "send the spec as application/json, application/yaml or text/yaml, or as multipart "
        "form data with a 'spec' field and an optional 'bundle' file"
    )


async def _read_multipart(request: Request, settings: Settings) -> Submission:
    try:
        form = await request.form(max_files=1, max_fields=2, max_part_size=settings.max_spec_bytes)
    except MultiPartException as exc:
        raise InvalidInput(f"malformed multipart body: {exc.message}", loc=["body"]) from exc
    try:
        unknown = set(form.keys()) - {"spec", "bundle"}
        if unknown:
            raise InvalidInput(
                f"unexpected form fields {sorted(unknown)}; send 'spec' and optionally 'bundle'",
                loc=["body", sorted(unknown)[0]],
            )
        raw_spec = form.get("spec")
        if raw_spec is None:
            raise InvalidInput("the form needs a 'spec' field", loc=["body", "spec"])
        if isinstance(raw_spec, UploadFile):
            spec_text: bytes | str = await raw_spec.read(settings.max_spec_bytes + 1)
            if len(spec_text) > settings.max_spec_bytes:
                raise PayloadTooLarge(f"the spec exceeds {settings.max_spec_bytes} bytes")
            spec_type = (raw_spec.content_type or "application/yaml").lower()
        else:
            spec_text, spec_type = raw_spec, "application/yaml"
        spec = parse_spec(spec_text, spec_type if spec_type in JSON_TYPES else "application/yaml")
        bundle_part = form.get("bundle")
        if bundle_part is None or bundle_part == "":
            return Submission(spec, None)
        if not isinstance(bundle_part, UploadFile):
            raise InvalidInput("'bundle' must be a file (a .tar.gz)", loc=["body", "bundle"])
        bundle_part.file.seek(0)
        spooled = spool(bundle_part.file, settings.artifacts, settings.max_bundle_bytes)
        return Submission(spec, spooled)
    finally:
        await form.close()
