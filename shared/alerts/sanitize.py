"""Bounding and cleaning attacker-controlled text and JSON taken from alerts.

Alert descriptions, entities and extended properties can carry text an attacker chose (a
prompt, a user agent, a URL). Warden keeps it as data: it never interprets, unescapes or
renders it here. These helpers only make it safe to store and log:

- ``clean_text`` removes control characters except tab, newline and carriage return, and
  removes invisible format characters (Unicode category Cf: zero-width and bidi controls, and
  the Unicode "tag" block that ASCII-smuggling attacks use) and lone surrogates (which cannot
  be encoded as UTF-8). HTML and script text is left as it is: escaping is the renderer's job.
- ``truncate`` bounds a string, marking the cut with ``…``.
- ``bound_json`` copies a JSON-like value with limits on depth, items and string length.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import JsonValue

__all__ = ["ELLIPSIS", "JsonLimits", "bound_json", "clean_text", "json_size", "truncate"]

ELLIPSIS = "…"
_KEEP = {"\t", "\n", "\r"}
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_text(value: str) -> str:
    """``value`` without control, format, private-use, unassigned or surrogate characters.

    Tab, newline and carriage return are kept. Needs a ``str``; never raises for one.
    """
    if value.isascii() and value.isprintable():
        return value
    return "".join(ch for ch in value if ch in _KEEP or unicodedata.category(ch) not in _DROP_CATEGORIES)


def truncate(value: str, max_chars: int) -> str:
    """``value`` cut to at most ``max_chars`` characters, ending in ``…`` when cut."""
    if len(value) <= max_chars:
        return value
    if max_chars <= 0:
        return ""
    return value[: max_chars - 1] + ELLIPSIS


def clean(value: str, max_chars: int) -> str:
    """``clean_text`` then ``truncate``, and surrounding whitespace stripped."""
    return truncate(clean_text(value).strip(), max_chars)


class JsonLimits:
    """Limits for ``bound_json``: nesting depth, items per list or object, string length."""

    __slots__ = ("max_depth", "max_items", "max_key_chars", "max_string_chars")

    def __init__(
        self,
        *,
        max_depth: int = 6,
        max_items: int = 50,
        max_string_chars: int = 1024,
        max_key_chars: int = 100,
    ) -> None:
        self.max_depth = max_depth
        self.max_items = max_items
        self.max_string_chars = max_string_chars
        self.max_key_chars = max_key_chars


_TRUNCATED_MARK = "…(truncated)"


def bound_json(value: Any, limits: JsonLimits | None = None, _depth: int = 0) -> JsonValue:
    """A JSON-compatible copy of ``value`` within ``limits``; never raises.

    Strings are cleaned and truncated; lists and objects keep their first ``max_items`` items
    (a dropped tail is marked by a ``"…(truncated)"`` item / key); containers deeper than
    ``max_depth`` become the string ``"…(truncated)"``. Non-finite floats become ``None``,
    datetimes ISO strings, anything else its cleaned ``str()``.
    """
    lim = limits or JsonLimits()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Beyond 64 bits JSON consumers disagree; very long ints cannot even be str()-ed.
        return value if abs(value) < 2**63 else _TRUNCATED_MARK
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean(value, lim.max_string_chars)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        if _depth >= lim.max_depth:
            return _TRUNCATED_MARK
        out: dict[str, JsonValue] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= lim.max_items:
                out[_TRUNCATED_MARK] = len(value) - lim.max_items
                break
            out[clean(_safe_str(k), lim.max_key_chars)] = bound_json(v, lim, _depth + 1)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        if _depth >= lim.max_depth:
            return _TRUNCATED_MARK
        items: list[JsonValue] = [bound_json(v, lim, _depth + 1) for v in value[: lim.max_items]]
        if len(value) > lim.max_items:
            items.append(_TRUNCATED_MARK)
        return items
    return clean(_safe_str(value), lim.max_string_chars)


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a foreign object whose __str__ fails must not break bounding
        return f"<unprintable {type(value).__name__}>"


def json_size(value: Any) -> int:
    """UTF-8 size of ``value`` as compact JSON (``str()`` for non-JSON values).

    Raises ``ValueError`` for circular references and ``RecursionError`` for very deep nesting.
    """
    text = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", errors="replace"))
