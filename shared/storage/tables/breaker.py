"""The estate-wide circuit breaker's memory: disruptive actions Warden took, with their time.

``policy.guards.max_disruptive_actions_per_hour`` caps how many disruptive actions may run
automatically in an hour across every subscription; ``count_since(now - 1h)`` is the
``recent_disruptive_actions`` input of ``plan_response``. Each action is recorded once per
(incident, step) (conditional insert), so a retried activity is not counted twice.

Table: ``WardenDisruptiveActions`` (PartitionKey ``disruptive``, RowKey = hash of the key).
Requires "Storage Table Data Contributor".
"""

from __future__ import annotations

from datetime import UTC, datetime

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.storage.tables.base import LazyTable, record_key

__all__ = ["BREAKER_TABLE", "TableDisruptiveActionLog"]

BREAKER_TABLE = "WardenDisruptiveActions"
_PARTITION = "disruptive"


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
