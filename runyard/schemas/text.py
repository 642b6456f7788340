"""Text a database can store: no NUL characters and no lone UTF-16 surrogates.

JSON may spell both ("\\u0000", "\\ud800"); Python decodes them into strings that PostgreSQL
refuses (NUL) or that no UTF-8 encoder can write (a surrogate without its pair). Finding them
at the boundary turns what would be a server error into a 422 that names the field.
"""

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters (\\u0000)"
    return (
        f"contains a lone UTF-16 surrogate (\\u{ord(found.group()):04x}) at position "
        f"{found.start()}: send valid Unicode text"
    )


def find_unstorable(data: Any) -> tuple[list[str | int], str] | None:
    """The path and reason of the first unstorable string among `data`'s keys and values."""
    pending: list[tuple[list[str | int], Any]] = [([], data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if (reason := unstorable_reason(value)) is not None:
                return path, reason
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and (reason := unstorable_reason(key)) is not None:
                    return [*path, key], f"key {reason}"
                pending.append(([*path, key], item))
        elif isinstance(value, list | tuple):
            pending.extend(([*path, i], item) for i, item in enumerate(value))
    return None
