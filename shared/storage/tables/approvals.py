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
import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.approvals.records import ApprovalRecord, ApprovalStatus
from shared.ports.stores import ConcurrentUpdateError, StorageError, select_approvals
from shared.storage.tables.base import LazyTable, record_key

__all__ = ["APPROVALS_TABLE", "TableApprovalStore"]

APPROVALS_TABLE = "WardenApprovals"
_PARTITION = "approval"


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
        return select_approvals(records, status, incident_id)
