"""Opaque cursors for keyset pagination: base64 of (sort, last value, last id).

Keyset pagination stays fast and stable while rows are added; the cursor names its sort so a
cursor from one ordering is refused (422) by another instead of skipping rows.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from server.errors import InvalidInput

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])

_BAD_CURSOR = "invalid cursor; pass back 'next_cursor' exactly as a previous page returned it"


@dataclass(frozen=True)
class SortKey:
    name: str
    column: Any
    id_column: Any
    descending: bool
    is_datetime: bool


def encode_cursor(key: SortKey, value: Any, row_id: str) -> str:
    raw = value.isoformat() if isinstance(value, datetime) else value
    payload = json.dumps({"s": key.name, "v": raw, "id": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(key: SortKey, cursor: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError("not a cursor object")
        value = data["v"]
        if data["s"] != key.name:
            raise InvalidInput(
                f"this cursor belongs to sort {data['s']!r}, not {key.name!r}; restart without "
                "a cursor",
                loc=["query", "cursor"],
            )
        if key.is_datetime:
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("not an integer")
        return value, data["id"]
    except InvalidInput:
        raise
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        raise InvalidInput(_BAD_CURSOR, loc=["query", "cursor"]) from exc


def apply_keyset(query: _Query, key: SortKey, cursor: str | None, limit: int) -> _Query:
    """Orders by (sort column, id) and starts after the cursor's row. Fetches one extra row so
    the caller can tell whether there is a next page."""
    if cursor:
        value, row_id = decode_cursor(key, cursor)
        after: ColumnElement[bool]
        if key.descending:
            after = or_(key.column < value, and_(key.column == value, key.id_column < row_id))
        else:
            after = or_(key.column > value, and_(key.column == value, key.id_column > row_id))
        query = query.where(after)
    if key.descending:
        query = query.order_by(key.column.desc(), key.id_column.desc())
    else:
        query = query.order_by(key.column.asc(), key.id_column.asc())
    return query.limit(limit + 1)
