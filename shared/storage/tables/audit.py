"""Audit stores: append-only, hash-chained, safe under concurrent writers.

Appending takes the next sequence number with a conditional insert (RowKey = the zero-padded
sequence number), so two writers can never both write record ``n``; the loser re-reads the
tail and tries again. A ``head`` entity records the highest sequence written, so truncation of
the newest records is detectable; it may lag after a crash (then the tail is found by reading
forward), but never runs ahead of the records unless records were removed.

``append_once(event, key)`` appends at most one record per ``key``, atomically: the record and
a ``key-<sha256>`` marker entity are inserted in one table transaction, so two writers racing
to audit the same thing (a retried activity and its stalled first attempt, a request and the
gate that audits its decision late) can never both succeed, and a writer that dies cannot leave
the marker without its record.

Table: ``WardenAudit`` (PartitionKey ``chain``; RowKeys: 12-digit sequence numbers, ``head``,
``key-...`` markers). Requires "Storage Table Data Contributor".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableErrorCode, TableServiceClient, TableTransactionError, UpdateMode

from shared.audit.chain import GENESIS, AuditEvent, AuditRecord, ChainReport, seal, verify_chain
from shared.ports.stores import StorageError
from shared.storage.tables.base import LazyTable

__all__ = ["AUDIT_TABLE", "TableAuditStore"]

AUDIT_TABLE = "WardenAudit"
_PARTITION = "chain"
_HEAD = "head"
_MARKER = "key-"
_MAX_ATTEMPTS = 50


def _row(seq: int) -> str:
    return f"{seq:012d}"


def _key_row(key: str) -> str:
    return _MARKER + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _is_marker(row_key: str) -> bool:
    return row_key.startswith(_MARKER) and len(row_key) == len(_MARKER) + 64


def _to_entity(record: AuditRecord) -> dict[str, Any]:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": _row(record.seq),
        "Record": record.model_dump_json(),
        "IncidentId": record.incident_id or "",
        "Action": record.action,
        "Hash": record.hash,
    }


class TableAuditStore:
    """The audit trail in Azure Table Storage."""

    def __init__(self, service: TableServiceClient) -> None:
        self._lazy = LazyTable(service, AUDIT_TABLE)

    def _client(self) -> Any:
        return self._lazy.client()

    def _tail(self) -> tuple[int, str, str | None, int]:
        """(last seq, last hash, head etag, head seq) — reading forward past a lagging head."""
        client = self._client()
        try:
            head = client.get_entity(_PARTITION, _HEAD)
            head_seq, head_hash, etag = int(head["Seq"]), str(head["Hash"]), head.metadata["etag"]
        except ResourceNotFoundError:
            head_seq, head_hash, etag = 0, GENESIS, None
        seq, last_hash = head_seq, head_hash
        while True:
            try:
                nxt = client.get_entity(_PARTITION, _row(seq + 1))
            except ResourceNotFoundError:
                return seq, last_hash, etag, head_seq
            seq, last_hash = seq + 1, str(nxt["Hash"])

    def append(self, event: AuditEvent) -> AuditRecord:
        client = self._client()
        for _ in range(_MAX_ATTEMPTS):
            seq, last_hash, etag, _head_seq = self._tail()
            record = seal(event, seq=seq + 1, prev_hash=last_hash)
            try:
                client.create_entity(_to_entity(record))
            except ResourceExistsError:
                continue  # another writer took this sequence number; re-read the tail
            self._advance_head(record, etag)
            return record
        raise StorageError(f"audit append lost {_MAX_ATTEMPTS} races in a row; the audit table is overloaded")

    def append_once(self, event: AuditEvent, key: str) -> AuditRecord | None:
        client = self._client()
        marker_row = _key_row(key)
        for _ in range(_MAX_ATTEMPTS):
            seq, last_hash, etag, _head_seq = self._tail()
            record = seal(event, seq=seq + 1, prev_hash=last_hash)
            marker = {"PartitionKey": _PARTITION, "RowKey": marker_row, "Seq": record.seq, "Key": key[:1000]}
            try:
                client.submit_transaction([("create", _to_entity(record)), ("create", marker)])
            except TableTransactionError as exc:
                if getattr(exc, "error_code", None) != TableErrorCode.ENTITY_ALREADY_EXISTS:
                    raise
                try:
                    client.get_entity(_PARTITION, marker_row)
                except ResourceNotFoundError:
                    continue  # another writer took this sequence number; re-read the tail
                return None  # already audited (the marker and its record were written together)
            self._advance_head(record, etag)
            return record
        raise StorageError(f"audit append lost {_MAX_ATTEMPTS} races in a row; the audit table is overloaded")

    def _advance_head(self, record: AuditRecord, etag: str | None) -> None:
        client = self._client()
        entity = {"PartitionKey": _PARTITION, "RowKey": _HEAD, "Seq": record.seq, "Hash": record.hash}
        try:
            if etag is None:
                client.create_entity(entity)
            else:
                client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            # Another writer moved the head; it only ever moves forward, and a lagging head is
            # caught up by the next append (which reads forward from it).
            return
        except HttpResponseError as exc:
            if exc.status_code != 412:
                raise

    def records(self, *, incident_id: str | None = None) -> list[AuditRecord]:
        client = self._client()
        if incident_id is None:
            entities = client.query_entities(
                "PartitionKey eq @pk and RowKey ne @head", parameters={"pk": _PARTITION, "head": _HEAD}
            )
        else:
            entities = client.query_entities(
                "PartitionKey eq @pk and IncidentId eq @iid",
                parameters={"pk": _PARTITION, "iid": incident_id},
            )
        out = [AuditRecord.model_validate(json.loads(e["Record"])) for e in entities if not _is_marker(e["RowKey"])]
        out.sort(key=lambda r: r.seq)
        return out

    def verify(self) -> ChainReport:
        client = self._client()
        try:
            head_seq: int | None = int(client.get_entity(_PARTITION, _HEAD)["Seq"])
        except ResourceNotFoundError:
            head_seq = None
        problems: list[str] = []
        records: list[AuditRecord] = []
        for entity in client.query_entities(
            "PartitionKey eq @pk and RowKey ne @head", parameters={"pk": _PARTITION, "head": _HEAD}
        ):
            if _is_marker(entity["RowKey"]):
                continue  # an append_once key; the record it names is checked with the chain
            try:
                record = AuditRecord.model_validate(json.loads(entity["Record"]))
            except (ValueError, KeyError) as exc:
                problems.append(f"row {entity.get('RowKey')}: unreadable record ({type(exc).__name__})")
                continue
            if _row(record.seq) != entity["RowKey"]:
                problems.append(f"row {entity['RowKey']}: holds record {record.seq} (moved)")
            records.append(record)
        report = verify_chain(records, expected_head_seq=head_seq)
        if problems:
            return report.model_copy(update={"ok": False, "problems": (*problems, *report.problems)})
        return report
