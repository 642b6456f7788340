"""Opaque cursors for keyset pagination: base64 of (sort, last value, last id).

Keyset pagination stays fast and stable while rows are added; the cursor names its sort so a
cursor from one ordering is refused (422) by another instead of skipping rows.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

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
    kind: Literal["int", "float", "text"] = "int"
    """What a non-datetime cursor value must be."""
    nullable: bool = False
    """The column may be NULL: such rows sort last either way (a cursor may carry null)."""


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
        if value is None and key.nullable:
            return None, data["id"]
        if key.is_datetime:
            value = datetime.fromisoformat(value)
        elif not _is_kind(value, key.kind):
            raise ValueError(f"not a value of kind {key.kind}")
        return value, data["id"]
    except InvalidInput:
        raise
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        raise InvalidInput(_BAD_CURSOR, loc=["query", "cursor"]) from exc


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if kind == "float":
        return isinstance(value, int | float)
    return isinstance(value, int)


def apply_keyset(query: _Query, key: SortKey, cursor: str | None, limit: int) -> _Query:
    """Orders by (sort column, id) and starts after the cursor's row. Fetches one extra row so
    the caller can tell whether there is a next page."""
    if cursor:
        value, row_id = decode_cursor(key, cursor)
        query = query.where(_after(key, value, row_id))
    column = key.column.desc() if key.descending else key.column.asc()
    if key.nullable:
        column = column.nulls_last()
    row_id_order = key.id_column.desc() if key.descending else key.id_column.asc()
    return query.order_by(column, row_id_order).limit(limit + 1)


def _after(key: SortKey, value: Any, row_id: str) -> ColumnElement[bool]:
    """Rows after (value, row_id) in the key's order, NULLs last in either direction."""
    id_after = key.id_column < row_id if key.descending else key.id_column > row_id
    if value is None:
        return and_(key.column.is_(None), id_after)
    beyond = key.column < value if key.descending else key.column > value
    after = or_(beyond, and_(key.column == value, id_after))
    if key.nullable:
        after = or_(after, key.column.is_(None))
    return after
