"""Notification channels (``shared.ports.channels.Channel``): the Microsoft implementations.

- ``EventGridChannel``: CloudEvents through ``azure-eventgrid``'s publisher
  (``AzureClients.event_grid_publisher``). Requires "EventGrid Data Sender" on the topic, or
  ``WARDEN_NOTIFY_TOPIC_KEY``.
- ``TeamsChannel``: POST of an Adaptive Card to a Teams webhook (``WARDEN_TEAMS_WEBHOOK_URL``, a
  secret: it is never logged or returned).

Both raise on failure; ``shared.usecases.notifications.deliver`` retries and never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.notify.messages import Notification, adaptive_card

__all__ = ["SOURCE", "EventGridChannel", "TeamsChannel"]

SOURCE = "/warden"


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
