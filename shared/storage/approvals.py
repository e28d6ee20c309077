"""Pending approvals: one record per gate instance, updated with optimistic concurrency.

``ApprovalStore`` is the port; ``MemoryApprovalStore`` the fake; ``TableApprovalStore`` keeps
records in the ``WardenApprovals`` table (PartitionKey ``approval``, RowKey = SHA-256 of the gate
instance id, the record as JSON in ``Record``, ``Status`` and ``IncidentId`` for queries).
Every update is conditional on the record's ETag, so two approvers deciding at the same moment
can never both win: the loser gets ``ConcurrentUpdateError`` and re-reads.

Requires the "Storage Table Data Contributor" role for Warden's managed identity.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.approvals.models import ApprovalRecord, ApprovalStatus
from shared.storage.ports import ConcurrentUpdateError, StorageError, record_key
from shared.storage.tables import LazyTable

__all__ = ["APPROVALS_TABLE", "ApprovalStore", "MemoryApprovalStore", "TableApprovalStore"]

APPROVALS_TABLE = "WardenApprovals"
_PARTITION = "approval"


class ApprovalStore(Protocol):
    def create(self, record: ApprovalRecord) -> ApprovalRecord:
        """Store a new record; if one exists for the instance, return it unchanged (idempotent)."""
        ...

    def get(self, instance_id: str) -> ApprovalRecord | None:
        """The record with its etag, or ``None``."""
        ...

    def update(self, record: ApprovalRecord) -> ApprovalRecord:
        """Replace the record if its ``etag`` is still current; raises ``ConcurrentUpdateError``."""
        ...

    def list(self, *, status: ApprovalStatus | None = None, incident_id: str | None = None) -> list[ApprovalRecord]:
        """Records, oldest request first, optionally filtered."""
        ...


class MemoryApprovalStore:
    """In-memory approvals (same contract as the table store)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        self._etags = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, record: ApprovalRecord) -> ApprovalRecord:
        with self._lock:
            if record.instance_id not in self._items:
                self._items[record.instance_id] = (record.model_dump_json(), f"m{next(self._etags)}")
            text, etag = self._items[record.instance_id]
        return ApprovalRecord.model_validate_json(text).model_copy(update={"etag": etag})

    def get(self, instance_id: str) -> ApprovalRecord | None:
        with self._lock:
            item = self._items.get(instance_id)
        if item is None:
            return None
        return ApprovalRecord.model_validate_json(item[0]).model_copy(update={"etag": item[1]})

    def update(self, record: ApprovalRecord) -> ApprovalRecord:
        with self._lock:
            item = self._items.get(record.instance_id)
            if item is None or item[1] != record.etag:
                raise ConcurrentUpdateError(f"approval {record.instance_id!r} changed since it was read")
            etag = f"m{next(self._etags)}"
            self._items[record.instance_id] = (record.model_dump_json(), etag)
        return record.model_copy(update={"etag": etag})

    def list(self, *, status: ApprovalStatus | None = None, incident_id: str | None = None) -> list[ApprovalRecord]:
        with self._lock:
            items = list(self._items.values())
        records = [ApprovalRecord.model_validate_json(text).model_copy(update={"etag": etag}) for text, etag in items]
        return _filtered(records, status, incident_id)


def _filtered(
    records: list[ApprovalRecord], status: ApprovalStatus | None, incident_id: str | None
) -> list[ApprovalRecord]:
    out = [
        r
        for r in records
        if (status is None or r.status is status) and (incident_id is None or r.incident_id == incident_id)
    ]
    out.sort(key=lambda r: (r.requested_at, r.instance_id))
    return out


class TableApprovalStore:
    """Approvals in Azure Table Storage (Azurite locally)."""

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, APPROVALS_TABLE)

    def _table(self) -> TableClient:
        return self._lazy.client()

    @staticmethod
    def _entity(record: ApprovalRecord) -> dict[str, Any]:
        return {
            "PartitionKey": _PARTITION,
            "RowKey": record_key(record.instance_id),
            "Record": record.model_dump_json(),
            "Status": record.status.value,
            "IncidentId": record.incident_id,
        }

    @staticmethod
    def _record(entity: Any) -> ApprovalRecord:
        record = ApprovalRecord.model_validate(json.loads(entity["Record"]))
        return record.model_copy(update={"etag": entity.metadata["etag"]})

    def create(self, record: ApprovalRecord) -> ApprovalRecord:
        with contextlib.suppress(ResourceExistsError):
            self._table().create_entity(self._entity(record))
        stored = self.get(record.instance_id)
        if stored is None:  # pragma: no cover - deleted in between
            raise StorageError(f"approval {record.instance_id!r} vanished right after it was written")
        return stored

    def get(self, instance_id: str) -> ApprovalRecord | None:
        try:
            entity = self._table().get_entity(_PARTITION, record_key(instance_id))
        except ResourceNotFoundError:
            return None
        return self._record(entity)

    def update(self, record: ApprovalRecord) -> ApprovalRecord:
        if record.etag is None:
            raise ConcurrentUpdateError(f"approval {record.instance_id!r} has no etag; read it first")
        try:
            meta = self._table().update_entity(
                self._entity(record),
                mode=UpdateMode.REPLACE,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise ConcurrentUpdateError(f"approval {record.instance_id!r} changed since it was read") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise ConcurrentUpdateError(f"approval {record.instance_id!r} changed since it was read") from exc
            raise
        return record.model_copy(update={"etag": meta.get("etag") if isinstance(meta, dict) else None})

    def list(self, *, status: ApprovalStatus | None = None, incident_id: str | None = None) -> list[ApprovalRecord]:
        query, params = "PartitionKey eq @pk", {"pk": _PARTITION}
        if status is not None:
            query += " and Status eq @status"
            params["status"] = status.value
        if incident_id is not None:
            query += " and IncidentId eq @iid"
            params["iid"] = incident_id
        records = [self._record(e) for e in self._table().query_entities(query, parameters=params)]
        return _filtered(records, status, incident_id)
