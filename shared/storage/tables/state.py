"""Azure Table Storage adapters for the state-store ports (Azurite locally).

Tables (created on first use): ``WardenQuarantine``, ``WardenState`` (watermarks) and
``WardenIdempotency``. Requires the "Storage Table Data Contributor" role on the storage
account for Warden's managed identity.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.ports.stores import (
    MAX_QUARANTINE_RAW_BYTES,
    AlreadyCompletedError,
    AlreadyInProgressError,
    ConcurrentUpdateError,
    IdempotencyRecord,
    LeaseLostError,
    QuarantineRecord,
    StorageError,
    Watermark,
    result_json,
)
from shared.storage.tables.base import LazyTable, record_key, safe_key, utc

__all__ = [
    "IDEMPOTENCY_TABLE",
    "QUARANTINE_TABLE",
    "STATE_TABLE",
    "TableIdempotencyStore",
    "TableQuarantineStore",
    "TableWatermarkStore",
]

QUARANTINE_TABLE = "WardenQuarantine"
STATE_TABLE = "WardenState"
IDEMPOTENCY_TABLE = "WardenIdempotency"
_CHUNK = 64_000  # binary properties are limited to 64 KiB


class TableQuarantineStore:
    """Quarantine in ``WardenQuarantine``: PartitionKey = source, RowKey = time-ordered id.

    The raw payload is kept in 64 KB binary chunks (``Raw0``..``Raw14``, at most 960,000
    bytes); larger payloads are truncated and flagged, with the full size and SHA-256 kept.
    """

    def __init__(self, service: TableServiceClient) -> None:
        self._table = LazyTable(service, QUARANTINE_TABLE)

    def put(
        self, *, source: str, reason_code: str, message: str, raw: bytes, received_at: datetime
    ) -> QuarantineRecord:
        kept = raw[:MAX_QUARANTINE_RAW_BYTES]
        record_id = f"{received_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}"
        entity: dict[str, Any] = {
            "PartitionKey": safe_key(source),
            "RowKey": record_id,
            "Source": source,
            "ReasonCode": reason_code,
            "Message": message[:4000],
            "ReceivedAt": received_at.astimezone(UTC),
            "Size": len(raw),
            "Sha256": hashlib.sha256(raw).hexdigest(),
            "Truncated": len(raw) > MAX_QUARANTINE_RAW_BYTES,
            "Chunks": (len(kept) + _CHUNK - 1) // _CHUNK,
        }
        for index in range(entity["Chunks"]):
            entity[f"Raw{index}"] = kept[index * _CHUNK : (index + 1) * _CHUNK]
        try:
            self._table.client().create_entity(entity)
        except HttpResponseError as exc:
            raise StorageError(f"quarantining a {source} payload failed: {exc.reason or exc.message}") from exc
        return _quarantine_record(entity)

    def list(self, *, source: str | None = None, limit: int = 100) -> list[QuarantineRecord]:
        client = self._table.client()
        if source is None:
            entities = client.list_entities()
        else:
            entities = client.query_entities("PartitionKey eq @pk", parameters={"pk": safe_key(source)})
        records = [_quarantine_record(e) for e in entities]
        records.sort(key=lambda r: r.id, reverse=True)
        return records[:limit]


def _quarantine_record(entity: dict[str, Any]) -> QuarantineRecord:
    chunks = int(entity.get("Chunks", 0))
    raw = b"".join(bytes(entity.get(f"Raw{i}", b"")) for i in range(chunks))
    return QuarantineRecord(
        id=str(entity["RowKey"]),
        source=str(entity["Source"]),
        reason_code=str(entity["ReasonCode"]),
        message=str(entity.get("Message", "")),
        received_at=utc(entity["ReceivedAt"]),
        size=int(entity["Size"]),
        sha256=str(entity["Sha256"]),
        raw=raw,
        truncated=bool(entity.get("Truncated", False)),
    )


class TableWatermarkStore:
    """Watermarks in ``WardenState`` (PartitionKey ``watermark``), with ETag concurrency."""

    def __init__(self, service: TableServiceClient) -> None:
        self._table = LazyTable(service, STATE_TABLE)

    def get(self, name: str) -> Watermark | None:
        try:
            entity = self._table.client().get_entity("watermark", safe_key(name))
        except ResourceNotFoundError:
            return None
        return Watermark(
            name=name,
            value=utc(entity["Value"]),
            boundary_ids=tuple(json.loads(entity.get("BoundaryIds", "[]"))),
            etag=entity.metadata["etag"],
        )

    def save(self, watermark: Watermark) -> Watermark:
        entity = {
            "PartitionKey": "watermark",
            "RowKey": safe_key(watermark.name),
            "Value": watermark.value.astimezone(UTC),
            "BoundaryIds": json.dumps(list(watermark.boundary_ids)),
        }
        client = self._table.client()
        try:
            if watermark.etag is None:
                meta = client.create_entity(entity)
            else:
                meta = client.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=watermark.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as exc:
            raise ConcurrentUpdateError(f"watermark {watermark.name!r} changed since it was read") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise ConcurrentUpdateError(f"watermark {watermark.name!r} changed since it was read") from exc
            raise StorageError(f"saving watermark {watermark.name!r} failed: {exc.reason or exc.message}") from exc
        return watermark.model_copy(update={"etag": meta["etag"]})


class TableIdempotencyStore:
    """Idempotency records in ``WardenIdempotency``; RowKey = SHA-256 of the key.

    Every state change is a conditional write (insert, or replace if the ETag is unchanged),
    so two concurrent executions can never both believe they own a key.
    """

    def __init__(self, service: TableServiceClient, *, partition: str = "idem") -> None:
        self._table = LazyTable(service, IDEMPOTENCY_TABLE)
        self._partition = partition

    def begin(self, key: str, *, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        client = self._table.client()
        row = record_key(key)
        expires = now + timedelta(seconds=lease_seconds)
        owner = uuid.uuid4().hex
        entity = {
            "PartitionKey": self._partition,
            "RowKey": row,
            "Key": key[:1000],
            "Status": "INPROGRESS",
            "ExpiresAt": expires.astimezone(UTC),
            "Owner": owner,
        }
        try:
            client.create_entity(entity)
            return IdempotencyRecord(key=key, status="INPROGRESS", expires_at=expires, owner=owner)
        except ResourceExistsError:
            pass
        existing = client.get_entity(self._partition, row)
        if utc(existing["ExpiresAt"]) > now:
            if existing["Status"] == "COMPLETED":
                raise AlreadyCompletedError(key, json.loads(existing.get("Result", "{}")))
            raise AlreadyInProgressError(key)
        try:  # expired: take it over, but only if nobody else did first
            client.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, HttpResponseError) as exc:
            raise AlreadyInProgressError(key) from exc
        return IdempotencyRecord(key=key, status="INPROGRESS", expires_at=expires, owner=owner)

    def _held(self, key: str, owner: str) -> tuple[TableClient, dict[str, Any], str]:
        """The INPROGRESS entity ``owner`` holds and its etag; ``LeaseLostError`` otherwise."""
        client = self._table.client()
        try:
            existing = client.get_entity(self._partition, record_key(key))
        except ResourceNotFoundError:
            raise LeaseLostError(key) from None
        if existing["Status"] != "INPROGRESS" or existing.get("Owner") != owner:
            raise LeaseLostError(key)
        return client, dict(existing), str(existing.metadata["etag"])

    def renew(self, key: str, *, owner: str, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        client, entity, etag = self._held(key, owner)
        expires = now + timedelta(seconds=lease_seconds)
        entity["ExpiresAt"] = expires.astimezone(UTC)
        try:
            client.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise LeaseLostError(key) from exc
        return IdempotencyRecord(key=key, status="INPROGRESS", expires_at=expires, owner=owner)

    def complete(
        self, key: str, result: dict[str, Any], *, now: datetime, ttl_seconds: int, owner: str | None = None
    ) -> None:
        entity = {
            "PartitionKey": self._partition,
            "RowKey": record_key(key),
            "Key": key[:1000],
            "Status": "COMPLETED",
            "ExpiresAt": (now + timedelta(seconds=ttl_seconds)).astimezone(UTC),
            "Result": result_json(result),
        }
        if owner is None:
            self._table.client().upsert_entity(entity, mode=UpdateMode.REPLACE)
            return
        client, _, etag = self._held(key, owner)
        try:
            client.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise LeaseLostError(key) from exc

    def release(self, key: str, *, owner: str | None = None) -> None:
        client = self._table.client()
        try:
            existing = client.get_entity(self._partition, record_key(key))
        except ResourceNotFoundError:
            return
        if existing["Status"] == "INPROGRESS" and (owner is None or existing.get("Owner") == owner):
            client.delete_entity(
                self._partition,
                record_key(key),
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
