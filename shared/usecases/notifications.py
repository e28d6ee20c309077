"""Notifications: deliver Warden's messages on every channel, with retries, never raising.

A notification must never block containment: ``deliver`` tries each channel (``Channel`` port)
up to ``attempts`` times with a short backoff and returns one ``DeliveryStatus`` per channel;
``send`` delivers a batch of messages (the incident stages of ``shared.notify.incident``) and
returns one status per message and channel. Neither raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.notify.messages import Notification
from shared.ports.channels import Channel

__all__ = ["DeliveryStatus", "deliver", "send"]

_log = logging.getLogger("warden.notify")


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    ok: bool
    attempts: int
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "attempts": self.attempts, "error": self.error}


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:300]


def deliver(
    channels: Sequence[Channel],
    message: Notification,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryStatus]:
    """Send ``message`` on every channel, retrying each up to ``attempts`` times; never raises."""
    results: list[DeliveryStatus] = []
    for channel in channels:
        error = ""
        for attempt in range(1, attempts + 1):
            try:
                channel.send(message)
            except Exception as exc:
                error = _describe(exc)
                _log.warning(
                    "notification %s on %s failed (attempt %d/%d): %s",
                    message.type,
                    channel.name,
                    attempt,
                    attempts,
                    error,
                )
                if attempt < attempts:
                    sleep(backoff * (2 ** (attempt - 1)))
                continue
            results.append(DeliveryStatus(channel.name, True, attempt))
            break
        else:
            results.append(DeliveryStatus(channel.name, False, attempts, error))
    return results


def send(messages: Iterable[Notification], channels: Sequence[Channel], *, attempts: int = 3) -> list[dict[str, Any]]:
    """Deliver every message on ``channels``; one status per message and channel. Never raises."""
    try:
        out: list[dict[str, Any]] = []
        for message in messages:
            for status in deliver(channels, message, attempts=attempts):
                out.append({"type": message.type, **status.as_dict()})
        return out
    except Exception as exc:  # pragma: no cover - a broken configuration must not stop a response
        _log.exception("notifications could not be sent")
        return [{"type": "all", "channel": "all", "ok": False, "attempts": 0, "error": type(exc).__name__}]
