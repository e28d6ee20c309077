"""DTFx history events, shaped as the extension serialises them for the Python SDK.

Every event has ``EventType``, ``EventId``, ``IsPlayed`` and ``Timestamp`` (PascalCase, as
Newtonsoft writes DTFx ``HistoryEvent``s). Only the fields the SDK reads matter for replay; the
others are kept so the status API can show a recognisable history.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

__all__ = ["EventType", "format_time", "make_event", "parse_time"]

Event = dict[str, Any]


class EventType(enum.IntEnum):
    """DTFx ``EventType`` values (``DurableTask.Core.History.EventType``)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16


def format_time(value: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` (fixed width, so strings sort like times)."""
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time as written by the SDK or by ``format_time`` (naive means UTC)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def make_event(event_type: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> Event:
    """One history event: the common header plus ``fields``."""
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_time(timestamp),
        **fields,
    }
