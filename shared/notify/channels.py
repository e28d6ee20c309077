"""Where notifications go, and delivery that retries but never blocks containment.

``Channel`` is the port (``name``, ``send(message)`` raising on failure). Adapters:

- ``EventGridChannel``: CloudEvents through ``azure-eventgrid``'s publisher
  (``container().clients.event_grid_publisher()``). Requires "EventGrid Data Sender" on the
  topic, or ``WARDEN_NOTIFY_TOPIC_KEY``.
- ``TeamsChannel``: POST of an Adaptive Card to a Teams incoming webhook
  (``WARDEN_TEAMS_WEBHOOK_URL``, a secret: it is never logged or returned).
- ``MemoryChannel``: the fake (records messages; can be told to fail).

``deliver(channels, message)`` tries each channel up to ``attempts`` times with a short
backoff and returns one ``DeliveryStatus`` per channel. It never raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.notify.messages import Notification, adaptive_card

__all__ = ["Channel", "DeliveryStatus", "EventGridChannel", "MemoryChannel", "TeamsChannel", "deliver"]

_log = logging.getLogger("warden.notify")
SOURCE = "/warden"


class Channel(Protocol):
    name: str

    def send(self, message: Notification) -> None:
        """Deliver ``message``; raise on failure (``deliver`` retries)."""
        ...


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    ok: bool
    attempts: int
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "attempts": self.attempts, "error": self.error}


class EventGridChannel:
    """CloudEvents to Warden's basic Event Grid topic."""

    name = "event_grid"

    def __init__(self, publisher: Callable[[], Any]) -> None:
        self._publisher = publisher

    def send(self, message: Notification) -> None:
        from azure.core.messaging import CloudEvent

        event = CloudEvent(source=SOURCE, type=message.type, subject=message.subject, data=message.data)
        self._publisher().send([event])


class TeamsChannel:
    """Adaptive Cards to a Teams incoming webhook."""

    name = "teams"

    def __init__(self, url: str, *, timeout: float = 10.0, session: Any = None) -> None:
        self._url = url
        self._timeout = timeout
        self._session = session

    def send(self, message: Notification) -> None:
        import requests

        poster = self._session or requests
        response = poster.post(self._url, json=adaptive_card(message), timeout=self._timeout)
        if not 200 <= response.status_code < 300:
            # Never echo the URL: it is the webhook's credential.
            raise RuntimeError(f"Teams webhook answered HTTP {response.status_code}")


@dataclass
class MemoryChannel:
    """Records what it is sent; fails the first ``failures`` sends (tests)."""

    name: str = "memory"
    failures: int = 0
    sent: list[Notification] = field(default_factory=list)
    calls: int = 0

    def send(self, message: Notification) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError(f"{self.name} is unavailable")
        self.sent.append(message)


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
