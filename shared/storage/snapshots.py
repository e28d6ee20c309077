"""Snapshots of a resource's state taken before Warden changes it (what ``restore`` re-applies).

One snapshot per incident and step, written **before** the change and never overwritten: if a
step runs again (a retry, a re-run after a failure), the first snapshot (the state before
Warden touched anything) is kept and returned. Snapshots never hold key values; ``Snapshot``
refuses fields that look like one.

Table: ``WardenSnapshots`` (PartitionKey = incident id, RowKey = step id). Requires "Storage
Table Data Contributor".
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.storage.ports import StorageError
from shared.storage.tables import LazyTable

__all__ = [
    "SNAPSHOT_TABLE",
    "MemorySnapshotStore",
    "Snapshot",
    "SnapshotStore",
    "TableSnapshotStore",
]

SNAPSHOT_TABLE = "WardenSnapshots"
_SECRET_FIELDS = frozenset({"key1", "key2", "key", "keys", "value", "primarykey", "secondarykey", "secret"})
_MAX_CHARS = 30_000


def _no_secrets(value: Any, path: str = "before") -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            if str(name).replace("_", "").lower() in _SECRET_FIELDS:
                raise ValueError(f"{path}.{name}: snapshots never hold key or secret values")
            if str(name) != "tags":  # tag names are the owner's words (a tag may be called "key")
                _no_secrets(item, f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_secrets(item, f"{path}[{index}]")


class Snapshot(BaseModel):
    """The state of ``target`` before step ``step_id`` of incident ``incident_id`` changed it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str = Field(min_length=1, max_length=100)
    step_id: str = Field(min_length=1, max_length=80)
    action: str = Field(min_length=1, max_length=60)
    target: str = Field(min_length=1, max_length=1024)
    taken_at: datetime
    before: dict[str, Any]

    @field_validator("before")
    @classmethod
    def _safe(cls, value: dict[str, Any]) -> dict[str, Any]:
        _no_secrets(value)
        if len(json.dumps(value, default=str)) > _MAX_CHARS:
            raise ValueError(f"snapshot larger than {_MAX_CHARS} characters")
        return value


class SnapshotStore(Protocol):
    """Write-once snapshots per (incident, step)."""

    def put(self, snapshot: Snapshot) -> Snapshot:
        """Store ``snapshot`` unless one exists for its (incident, step); returns the stored one."""
        ...

    def get(self, incident_id: str, step_id: str) -> Snapshot | None:
        """The snapshot of one step, or None."""
        ...

    def list(self, incident_id: str) -> list[Snapshot]:
        """Every snapshot of the incident, by step id."""
        ...


class MemorySnapshotStore:
    """In-memory ``SnapshotStore`` (unit and functional tests)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Snapshot] = {}
        self._lock = threading.Lock()

    def put(self, snapshot: Snapshot) -> Snapshot:
        with self._lock:
            return self._items.setdefault((snapshot.incident_id, snapshot.step_id), snapshot)

    def get(self, incident_id: str, step_id: str) -> Snapshot | None:
        with self._lock:
            return self._items.get((incident_id, step_id))

    def list(self, incident_id: str) -> list[Snapshot]:
        with self._lock:
            return sorted((s for (i, _), s in self._items.items() if i == incident_id), key=lambda s: s.step_id)


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
