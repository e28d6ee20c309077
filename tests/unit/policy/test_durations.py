"""Durations: short (30m, 1h30m, 14d) or ISO-8601 (PT30M, P14D); positive, bounded, with units."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy import format_duration, parse_duration
from shared.policy.durations import MAX_DURATION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("1h30m", timedelta(minutes=90)),
        ("14d", timedelta(days=14)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("PT30M", timedelta(minutes=30)),
        ("P14D", timedelta(days=14)),
        ("P1DT12H", timedelta(hours=36)),
        ("pt1h", timedelta(hours=1)),
        (" 5m ", timedelta(minutes=5)),
    ],
)
def test_accepted_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "a bare number has no unit"),
        (True, "a bare number has no unit"),
        ("0m", "must be positive"),
        ("P1Y", "ISO years and months are not supported"),
        ("P2M", "ISO years and months are not supported"),
        ("P", "got 'P'"),
        ("PT", "got 'PT'"),
        ("1.5h", "got '1.5h'"),
        ("", "got ''"),
        ("400d", "at most 365d"),
        ("9999999d", "got '9999999d'"),
        (["1h"], "got a list"),
    ],
)
def test_refused_forms_say_what_was_expected(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="duration") as info:
        parse_duration(value)
    assert message in str(info.value)


def test_short_form_round_trips() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"


@given(
    st.timedeltas(min_value=timedelta(seconds=1), max_value=MAX_DURATION).map(
        lambda d: timedelta(seconds=int(d.total_seconds()))
    )
)
def test_formatting_then_parsing_gives_the_same_duration(value: timedelta) -> None:
    if value > timedelta(0):
        assert parse_duration(format_duration(value)) == value


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_value_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except ValueError:
        return
    assert timedelta(0) < result <= MAX_DURATION
