"""Ports for Warden's state stores, and the errors they raise."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_QUARANTINE_RAW_BYTES",
    "AlreadyCompletedError",
    "AlreadyInProgressError",
    "ConcurrentUpdateError",
    "IdempotencyRecord",
    "IdempotencyStore",
    "LeaseLostError",
    "QuarantineRecord",
    "QuarantineStore",
    "StorageError",
    "Watermark",
    "WatermarkStore",
    "record_key",
]

# Table entities are limited to 1 MiB; Warden keeps at most this much of a bad payload and
# records its full size and SHA-256 so the rest can be matched with the sender's copy.
MAX_QUARANTINE_RAW_BYTES = 15 * 64_000


class StorageError(RuntimeError):
    """A state-store operation failed (the message names the table and operation)."""


class ConcurrentUpdateError(StorageError):
    """Someone else changed the record since it was read (optimistic concurrency)."""


class AlreadyInProgressError(StorageError):
    """Another execution holds this idempotency key and its lease has not expired."""

    def __init__(self, key: str) -> None:
        super().__init__(f"operation {key!r} is already in progress")
        self.key = key


class LeaseLostError(StorageError):
    """This execution no longer holds the idempotency key: its lease expired and another
    execution took the key over (or the key completed). Stop without changing anything."""

    def __init__(self, key: str) -> None:
        super().__init__(f"operation {key!r}: this execution's lease was lost to another execution")
        self.key = key


class AlreadyCompletedError(StorageError):
    """This idempotency key already completed; ``result`` is what it returned."""

    def __init__(self, key: str, result: dict[str, Any]) -> None:
        super().__init__(f"operation {key!r} already completed")
        self.key = key
        self.result = result


def record_key(key: str) -> str:
    """A Table-safe row key for an arbitrary string (no '/', '\\', '#', '?')."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class QuarantineRecord(BaseModel):
    """A payload Warden refused, kept for inspection with why and where it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str = Field(min_length=1, max_length=100)
    reason_code: str = Field(min_length=1, max_length=100)
    message: str = Field(max_length=4000)
    received_at: datetime
    size: int = Field(ge=0)
    sha256: str
    raw: bytes = Field(repr=False)
    truncated: bool = False


class QuarantineStore(Protocol):
    """Where malformed, unparseable or oversized input goes (never retried, never dropped)."""

    def put(
        self, *, source: str, reason_code: str, message: str, raw: bytes, received_at: datetime
    ) -> QuarantineRecord:
        """Keep ``raw`` with its reason; returns the stored record (raw possibly truncated)."""
        ...

    def list(self, *, source: str | None = None, limit: int = 100) -> list[QuarantineRecord]:
        """The most recent records first, optionally for one source."""
        ...


class Watermark(BaseModel):
    """How far a poller has read: rows up to ``value`` are done; ``boundary_ids`` are the ids
    already handled AT ``value`` (so an overlap window re-reads them without reprocessing)."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: datetime
    boundary_ids: tuple[str, ...] = ()
    etag: str | None = None


class WatermarkStore(Protocol):
    """Persisted poll positions with optimistic concurrency."""

    def get(self, name: str) -> Watermark | None:
        """The stored watermark, or None before the first save."""
        ...

    def save(self, watermark: Watermark) -> Watermark:
        """Store ``watermark``; its ``etag`` must match the stored one (None = must not exist).

        Raises ``ConcurrentUpdateError`` otherwise. Returns the watermark with its new etag.
        """
        ...


class IdempotencyRecord(BaseModel):
    """An operation guarded against running twice."""

    model_config = ConfigDict(frozen=True)

    key: str
    status: str  # INPROGRESS | COMPLETED
    expires_at: datetime
    result: dict[str, Any] | None = None
    owner: str = ""
    """A token naming the execution that holds an INPROGRESS record (from ``begin``): ``renew``,
    ``complete`` and ``release`` given it act only while that execution still holds the key."""


class IdempotencyStore(Protocol):
    """INPROGRESS -> COMPLETED records with expiry, written conditionally (Powertools style).

    ::

        begin(k)  --create-->  INPROGRESS(lease, owner)  --complete(k, r)-->  COMPLETED(r, ttl)
           |  exists & COMPLETED & fresh   -> AlreadyCompletedError(result)
           |  exists & INPROGRESS & leased -> AlreadyInProgressError
           |  exists & expired             -> taken over (conditional on its etag), new owner
        renew(k, owner) extends the lease while ``owner`` still holds it (LeaseLostError if not).
        release(k) deletes an INPROGRESS record after a failure so a retry may run.

    A long operation holds a short lease and renews it as it goes, so a host that dies with it
    frees the key within one lease, and an execution that lost its key (it stalled past the
    lease and another took over) finds out at its next ``renew`` before it changes anything.
    ``complete`` and ``release`` with ``owner`` act only while that owner holds the key.
    """

    def begin(self, key: str, *, now: datetime, lease_seconds: int) -> IdempotencyRecord: ...

    def renew(self, key: str, *, owner: str, now: datetime, lease_seconds: int) -> IdempotencyRecord: ...

    def complete(
        self, key: str, result: dict[str, Any], *, now: datetime, ttl_seconds: int, owner: str | None = None
    ) -> None: ...

    def release(self, key: str, *, owner: str | None = None) -> None: ...


def result_json(result: dict[str, Any]) -> str:
    """Serialise an operation result for storage (must be JSON; at most 32 KiB)."""
    text = json.dumps(result, sort_keys=True, default=str)
    if len(text.encode("utf-8")) > 32_768:
        raise StorageError(f"idempotency result is {len(text)} bytes; at most 32768 can be stored")
    return text
