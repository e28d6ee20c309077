"""In-memory fakes of the state-store ports (unit tests, and the contract-test reference)."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.storage.ports import (
    MAX_QUARANTINE_RAW_BYTES,
    AlreadyCompletedError,
    AlreadyInProgressError,
    ConcurrentUpdateError,
    IdempotencyRecord,
    LeaseLostError,
    QuarantineRecord,
    Watermark,
    result_json,
)

__all__ = ["MemoryIdempotencyStore", "MemoryQuarantineStore", "MemoryWatermarkStore"]


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
