"""Cursors: what a page hands out comes back intact; anything else is a 422-style InvalidInput,
never another exception (which would be a 500)."""

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import InvalidInput
from server.pagination import decode_cursor, encode_cursor
from server.runs.repository import RUN_SORTS


@settings(max_examples=60, deadline=None)
@given(
    moment=st.datetimes(timezones=st.just(UTC)),
    priority=st.integers(-100, 100),
    row_id=st.uuids().map(str),
)
def test_cursors_round_trip(moment: datetime, priority: int, row_id: str) -> None:
    by_time = RUN_SORTS["-created_at"]
    assert decode_cursor(by_time, encode_cursor(by_time, moment, row_id)) == (moment, row_id)
    by_priority = RUN_SORTS["priority"]
    assert decode_cursor(by_priority, encode_cursor(by_priority, priority, row_id)) == (
        priority,
        row_id,
    )


@settings(max_examples=200, deadline=None)
@given(garbage=st.text(max_size=200))
def test_any_text_is_a_cursor_or_invalid_input(garbage: str) -> None:
    try:
        decode_cursor(RUN_SORTS["-created_at"], garbage)
    except InvalidInput as exc:
        assert exc.loc == ["query", "cursor"]


def test_a_cursor_from_another_sort_is_refused() -> None:
    cursor = encode_cursor(RUN_SORTS["priority"], 3, "some-id")
    with pytest.raises(InvalidInput, match="sort"):
        decode_cursor(RUN_SORTS["-priority"], cursor)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    payload=st.fixed_dictionaries(
        {
            "s": st.sampled_from(["-created_at", "priority", "x"]),
            "v": json_values,
            "id": json_values,
        }
    )
    | json_values
)
def test_any_well_encoded_json_is_a_cursor_or_invalid_input(payload: object) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    for sort in ("-created_at", "priority"):
        try:
            decode_cursor(RUN_SORTS[sort], cursor)
        except InvalidInput as exc:
            assert exc.loc == ["query", "cursor"]
