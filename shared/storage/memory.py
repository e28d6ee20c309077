"""In-process implementations of the state-store ports (``shared.ports.stores``).

They behave like the Table Storage ones (the same contract tests run against both,
``tests/functional/storage``) and are real adapters: the unit tests use them, and so does the
CLI's read-only ``warden scan``, which must never write Warden's state.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.approvals.records import ApprovalRecord, ApprovalStatus
from shared.audit.chain import GENESIS, AuditEvent, AuditRecord, ChainReport, seal, verify_chain
from shared.finding import Finding
from shared.ports.stores import (
    MAX_QUARANTINE_RAW_BYTES,
    AlreadyCompletedError,
    AlreadyInProgressError,
    ConcurrentUpdateError,
    IdempotencyRecord,
    LeaseLostError,
    QuarantineRecord,
    Snapshot,
    Watermark,
    result_json,
    select_approvals,
)

__all__ = [
    "MemoryApprovalStore",
    "MemoryAuditStore",
    "MemoryDisruptiveActionLog",
    "MemoryIdempotencyStore",
    "MemoryIncidentFindingsStore",
    "MemoryOpenIncidentStore",
    "MemoryQuarantineStore",
    "MemorySnapshotStore",
    "MemoryWatermarkStore",
]


class MemoryQuarantineStore:
    def __init__(self) -> None:
        self._records: list[QuarantineRecord] = []
        self._lock = threading.Lock()

    def put(
        self, *, source: str, reason_code: str, message: str, raw: bytes, received_at: datetime
    ) -> QuarantineRecord:
        record = QuarantineRecord(
            id=f"{received_at.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}",
            source=source,
            reason_code=reason_code,
            message=message[:4000],
            received_at=received_at,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            raw=raw[:MAX_QUARANTINE_RAW_BYTES],
            truncated=len(raw) > MAX_QUARANTINE_RAW_BYTES,
        )
        with self._lock:
            self._records.append(record)
        return record

    def list(self, *, source: str | None = None, limit: int = 100) -> list[QuarantineRecord]:
        with self._lock:
            chosen = [r for r in self._records if source is None or r.source == source]
        chosen.sort(key=lambda r: r.id, reverse=True)
        return chosen[:limit]


class MemoryWatermarkStore:
    def __init__(self) -> None:
        self._items: dict[str, Watermark] = {}
        self._lock = threading.Lock()
        self._etags = itertools.count(1)

    def get(self, name: str) -> Watermark | None:
        with self._lock:
            return self._items.get(name)

    def save(self, watermark: Watermark) -> Watermark:
        with self._lock:
            current = self._items.get(watermark.name)
            current_etag = current.etag if current is not None else None
            if watermark.etag != current_etag:
                raise ConcurrentUpdateError(
                    f"watermark {watermark.name!r} changed since it was read (etag {watermark.etag!r})"
                )
            stored = watermark.model_copy(update={"etag": f"W/{next(self._etags)}"})
            self._items[watermark.name] = stored
            return stored


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._items: dict[str, tuple[IdempotencyRecord, datetime]] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, *, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        with self._lock:
            existing = self._items.get(key)
            if existing is not None:
                record, _ = existing
                if record.expires_at > now:
                    if record.status == "COMPLETED":
                        raise AlreadyCompletedError(key, dict(record.result or {}))
                    raise AlreadyInProgressError(key)
            fresh = IdempotencyRecord(
                key=key,
                status="INPROGRESS",
                expires_at=now + timedelta(seconds=lease_seconds),
                owner=uuid.uuid4().hex,
            )
            self._items[key] = (fresh, now)
            return fresh

    def _held_by(self, key: str, owner: str) -> bool:
        existing = self._items.get(key)
        return existing is not None and existing[0].status == "INPROGRESS" and existing[0].owner == owner

    def renew(self, key: str, *, owner: str, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        with self._lock:
            if not self._held_by(key, owner):
                raise LeaseLostError(key)
            renewed = IdempotencyRecord(
                key=key, status="INPROGRESS", expires_at=now + timedelta(seconds=lease_seconds), owner=owner
            )
            self._items[key] = (renewed, now)
            return renewed

    def complete(
        self, key: str, result: dict[str, Any], *, now: datetime, ttl_seconds: int, owner: str | None = None
    ) -> None:
        stored = json.loads(result_json(result))
        with self._lock:
            if owner is not None and not self._held_by(key, owner):
                raise LeaseLostError(key)
            self._items[key] = (
                IdempotencyRecord(
                    key=key,
                    status="COMPLETED",
                    expires_at=now + timedelta(seconds=ttl_seconds),
                    result=stored,
                ),
                now,
            )

    def release(self, key: str, *, owner: str | None = None) -> None:
        with self._lock:
            existing = self._items.get(key)
            held = existing is not None and existing[0].status == "INPROGRESS"
            if held and existing is not None and (owner is None or existing[0].owner == owner):
                del self._items[key]


class MemoryOpenIncidentStore:
    def __init__(self) -> None:
        self._items: dict[str, tuple[str, bool]] = {}  # key -> (instance id, closing)
        self._lock = threading.Lock()

    def claim(self, correlation_key: str, instance_id: str, *, now: datetime) -> str | None:
        with self._lock:
            held = self._items.get(correlation_key)
            if held is not None and not held[1]:
                return held[0]
            self._items[correlation_key] = (instance_id, False)
            return None

    def mark_closing(self, correlation_key: str, instance_id: str) -> bool:
        with self._lock:
            held = self._items.get(correlation_key)
            if held is None or held[0] != instance_id:
                return False
            self._items[correlation_key] = (instance_id, True)
            return True

    def release(self, correlation_key: str, instance_id: str) -> bool:
        with self._lock:
            held = self._items.get(correlation_key)
            if held is not None and held[0] == instance_id:
                del self._items[correlation_key]
                return True
            return False

    def get(self, correlation_key: str) -> str | None:
        with self._lock:
            held = self._items.get(correlation_key)
            return held[0] if held is not None and not held[1] else None


class MemoryIncidentFindingsStore:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, Finding]] = {}
        self._lock = threading.Lock()

    def add(self, incident_id: str, finding: Finding, *, now: datetime) -> bool:
        with self._lock:
            bucket = self._items.setdefault(incident_id, {})
            if finding.dedupe_key in bucket:
                return False
            bucket[finding.dedupe_key] = finding
            return True

    def list(self, incident_id: str) -> list[Finding]:
        with self._lock:
            return list(self._items.get(incident_id, {}).values())

    def count(self, incident_id: str) -> int:
        with self._lock:
            return len(self._items.get(incident_id, {}))


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
        return select_approvals(records, status, incident_id)


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


class MemoryAuditStore:
    """In-memory audit trail for unit tests (same behaviour as the table store)."""

    def __init__(self) -> None:
        self._records: list[AuditRecord] = []
        self._head = 0
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def append(self, event: AuditEvent) -> AuditRecord:
        with self._lock:
            return self._append(event)

    def _append(self, event: AuditEvent) -> AuditRecord:
        prev = self._records[-1].hash if self._records else GENESIS
        record = seal(event, seq=len(self._records) + 1, prev_hash=prev)
        self._records.append(record)
        self._head = record.seq
        return record

    def append_once(self, event: AuditEvent, key: str) -> AuditRecord | None:
        with self._lock:
            if key in self._keys:
                return None
            record = self._append(event)
            self._keys.add(key)
            return record

    def records(self, *, incident_id: str | None = None) -> list[AuditRecord]:
        with self._lock:
            return [r for r in self._records if incident_id is None or r.incident_id == incident_id]

    def verify(self) -> ChainReport:
        with self._lock:
            return verify_chain(list(self._records), expected_head_seq=self._head)
