"""The estate-wide circuit breaker's memory: disruptive actions Warden took, with their time.

``policy.guards.max_disruptive_actions_per_hour`` caps how many disruptive actions may run
automatically in an hour across every subscription; ``count_since(now - 1h)`` is the
``recent_disruptive_actions`` input of ``plan_response``. Each action is recorded once per
(incident, step) (conditional insert), so a retried activity is not counted twice.

Table: ``WardenDisruptiveActions`` (PartitionKey ``disruptive``, RowKey = hash of the key).
Requires "Storage Table Data Contributor".
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.storage.ports import record_key
from shared.storage.tables import LazyTable

__all__ = [
    "BREAKER_TABLE",
    "DisruptiveActionLog",
    "MemoryDisruptiveActionLog",
    "TableDisruptiveActionLog",
]

BREAKER_TABLE = "WardenDisruptiveActions"
_PARTITION = "disruptive"


class DisruptiveActionLog(Protocol):
    """Disruptive actions taken, for the circuit breaker."""

    def record(self, key: str, *, at: datetime, incident_id: str, action: str, target: str) -> bool:
        """Record one disruptive action; False if ``key`` was already recorded."""
        ...

    def count_since(self, since: datetime) -> int:
        """How many disruptive actions were recorded at or after ``since``."""
        ...


class MemoryDisruptiveActionLog:
    """In-memory ``DisruptiveActionLog``."""

    def __init__(self) -> None:
        self._items: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def record(self, key: str, *, at: datetime, incident_id: str, action: str, target: str) -> bool:
        with self._lock:
            if key in self._items:
                return False
            self._items[key] = at
            return True

    def count_since(self, since: datetime) -> int:
        with self._lock:
            return sum(1 for at in self._items.values() if at >= since)


class TableDisruptiveActionLog:
    """``DisruptiveActionLog`` in ``WardenDisruptiveActions``."""

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, BREAKER_TABLE)

    def _table(self) -> TableClient:
        return self._lazy.client()

    def record(self, key: str, *, at: datetime, incident_id: str, action: str, target: str) -> bool:
        entity = {
            "PartitionKey": _PARTITION,
            "RowKey": record_key(key),
            "At": at.astimezone(UTC),
            "IncidentId": incident_id,
            "Action": action,
            "Target": target[:1024],
        }
        try:
            self._table().create_entity(entity)
            return True
        except ResourceExistsError:
            return False

    def count_since(self, since: datetime) -> int:
        rows = self._table().query_entities(
            "PartitionKey eq @pk and At ge @since",
            parameters={"pk": _PARTITION, "since": since.astimezone(UTC)},
            select=["RowKey"],
        )
        return sum(1 for _ in rows)
