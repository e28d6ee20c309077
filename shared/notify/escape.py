"""Escaping attacker-controlled text (alert descriptions, prompts, resource names) for each rendering.

``card_text``: Adaptive Card ``TextBlock`` text is a markdown subset (Teams renders links,
emphasis, lists, headings); every markdown metacharacter is backslash-escaped, so an alert
saying ``[click](https://evil)`` shows those characters instead of a link. ``{{`` is broken
up (card templating / ``{{DATE()}}`` functions), control characters are dropped, and the text
is bounded. HTML escaping lives with the page (``html.escape``).
"""

from __future__ import annotations

import re

__all__ = ["card_text"]

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def card_text(value: object, *, limit: int = 1000) -> str:
    """``value`` as literal text inside an Adaptive Card TextBlock."""
    text = _CONTROL.sub("", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", text)
