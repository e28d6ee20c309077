"""Durations in a policy: ``30m``, ``4h``, ``1h30m``, ``14d``, ``2w`` or ISO-8601 (``PT30M``, ``P14D``).

A bare number is rejected (it has no unit), as are zero, negative values, ISO years and months
(their length varies) and anything longer than ``MAX_DURATION``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["DURATION_PATTERN", "MAX_DURATION", "Duration", "format_duration", "parse_duration"]

MAX_DURATION = timedelta(days=365)
"""Nothing a policy times (approvals, baselines, windows, grace periods) runs longer than a year."""

_SHORT_RE = re.compile(r"^(?:(\d{1,6})w)?(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$")
_ISO_RE = re.compile(r"^P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$")
_ISO_YEAR_MONTH_RE = re.compile(r"^P[^T]*\d[YM]")
_HINT = "expected a duration like 30m, 4h, 1h30m, 14d or ISO-8601 PT30M, P14D"

DURATION_PATTERN = (
    r"^(?:(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?"
    r"|P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$"
)


def parse_duration(value: object) -> timedelta:
    """Parse a policy duration; raises ``ValueError`` saying what was expected.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("P14D")
    datetime.timedelta(days=14)
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float):  # bool is an int too
        raise ValueError(f"{_HINT}; a bare number has no unit")
    elif isinstance(value, str):
        result = _parse_text(value.strip())
    else:
        raise ValueError(f"{_HINT}; got a {type(value).__name__}")
    if result <= timedelta(0):
        raise ValueError("a duration must be positive")
    if result > MAX_DURATION:
        raise ValueError(f"a duration may be at most {format_duration(MAX_DURATION)}")
    return result


def _parse_text(text: str) -> timedelta:
    upper = text.upper()
    match = _ISO_RE.match(upper) if upper.startswith("P") else _SHORT_RE.match(text.lower())
    if match is None or not text or upper in {"P", "PT"} or upper.endswith("T"):
        if _ISO_YEAR_MONTH_RE.match(upper):
            raise ValueError(f"{_HINT}; ISO years and months are not supported (their length varies)")
        raise ValueError(f"{_HINT}; got {text!r}")
    weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The short form of ``value`` (``timedelta(hours=4)`` -> ``"4h"``; ``0s`` for zero)."""
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def _serialize(value: timedelta) -> str:
    return format_duration(value)


def _json_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "A positive duration: 30m, 4h, 1h30m, 14d, 2w, or ISO-8601 such as PT30M or P14D.",
        "examples": ["30m", "4h", "PT30M"],
    }


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(_serialize, return_type=str),
    WithJsonSchema(_json_schema()),
]
"""A pydantic field type for policy durations (validated positive and at most a year)."""
