"""Snapshots of a resource's state taken before Warden changes it (what ``restore`` re-applies).

One snapshot per incident and step, written **before** the change and never overwritten: if a
step runs again (a retry, a re-run after a failure), the first snapshot (the state before
Warden touched anything) is kept and returned. Snapshots never hold key values; ``Snapshot``
refuses fields that look like one.

Table: ``WardenSnapshots`` (PartitionKey = incident id, RowKey = step id). Requires "Storage
Table Data Contributor".
"""

from __future__ import annotations

from datetime import UTC

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient

from shared.ports.stores import Snapshot, StorageError
from shared.storage.tables.base import LazyTable

__all__ = ["SNAPSHOT_TABLE", "TableSnapshotStore"]

SNAPSHOT_TABLE = "WardenSnapshots"


class TableSnapshotStore:
    """Snapshots in ``WardenSnapshots`` (conditional insert: the first snapshot wins)."""

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, SNAPSHOT_TABLE)

    def _table(self) -> TableClient:
        return self._lazy.client()

    def put(self, snapshot: Snapshot) -> Snapshot:
        entity = {
            "PartitionKey": snapshot.incident_id,
            "RowKey": snapshot.step_id,
            "TakenAt": snapshot.taken_at.astimezone(UTC),
            "Snapshot": snapshot.model_dump_json(),
        }
        try:
            self._table().create_entity(entity)
            return snapshot
        except ResourceExistsError:
            existing = self.get(snapshot.incident_id, snapshot.step_id)
            if existing is None:  # pragma: no cover - deleted in between
                raise StorageError(f"snapshot {snapshot.incident_id}/{snapshot.step_id} vanished") from None
            return existing
        except HttpResponseError as exc:
            raise StorageError(
                f"writing snapshot {snapshot.incident_id}/{snapshot.step_id} failed: {exc.reason or exc.message}"
            ) from exc

    def get(self, incident_id: str, step_id: str) -> Snapshot | None:
        try:
            entity = self._table().get_entity(incident_id, step_id)
        except ResourceNotFoundError:
            return None
        return Snapshot.model_validate_json(str(entity["Snapshot"]))

    def list(self, incident_id: str) -> list[Snapshot]:
        rows = self._table().query_entities("PartitionKey eq @pk", parameters={"pk": incident_id})
        return sorted((Snapshot.model_validate_json(str(e["Snapshot"])) for e in rows), key=lambda s: s.step_id)
