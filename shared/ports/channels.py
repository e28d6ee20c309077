"""The notification channel port: where Warden's messages to owners and approvers go.

A ``Channel`` has a ``name`` and ``send(message)``, which raises on failure; delivery with
retries that never blocks containment is the use case ``shared.usecases.notifications.deliver``.
Implementations: ``shared.azure.channels.EventGridChannel`` (CloudEvents to Warden's topic) and
``TeamsChannel`` (Adaptive Cards to a Teams webhook); tests use ``tests.fakes.FakeChannel``.
"""

from __future__ import annotations

from typing import Protocol

from shared.notify.messages import Notification

__all__ = ["Channel"]


class Channel(Protocol):
    name: str

    def send(self, message: Notification) -> None:
        """Deliver ``message``; raise on failure (``deliver`` retries)."""
        ...
