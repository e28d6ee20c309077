"""The state-store ports: every store Warden keeps its own state in, with their records and errors.

One module for all of them, so the contracts read side by side. Implementations by technology:
``shared.storage.tables`` (Azure Table Storage; Azurite locally) and ``shared.storage.memory``
(in process: unit tests, and the CLI's read-only scan). The same contract tests run against both
(``tests/functional/storage``), so the in-memory ones cannot drift from the real behaviour.

- ``QuarantineStore``: malformed, unparseable or oversized input, kept for inspection;
- ``WatermarkStore``: how far a poller has read, with optimistic concurrency;
- ``IdempotencyStore``: INPROGRESS -> COMPLETED records with leases ("do this once");
- ``OpenIncidentStore`` / ``IncidentFindingsStore``: which incident is open for a resource, and
  the findings each incident holds (correlation; see below);
- ``ApprovalStore``: pending approvals, one per approval gate, ETag-conditional updates;
- ``SnapshotStore``: the state before each containment step (what a restore re-applies);
- ``DisruptiveActionLog``: disruptive actions taken, for the circuit breaker;
- ``AuditStore``: the append-only, hash-chained audit trail.

Correlation needs two facts that must survive restarts and concurrent intake: at most one open
incident per correlation key (claimed with a conditional insert; closing is two-phase: the
incident marks its claim ``closing``, waits longer than any in-flight intake, reads its final
findings, and only then releases the claim, so a finding never lands in an incident that has
taken its last look), and every finding that joined an incident, once per dedupe key, so a
storm of 1,000 alerts is recorded in full without growing the orchestration's history.

Errors: every store raises ``StorageError`` (naming the table and operation) when the storage
call fails; the idempotency store's outcomes are ``AlreadyCompletedError``,
``AlreadyInProgressError`` and ``LeaseLostError``; optimistic concurrency fails with
``ConcurrentUpdateError``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.approvals.records import ApprovalRecord, ApprovalStatus
from shared.audit.chain import AuditEvent, AuditRecord, ChainReport
from shared.finding import Finding

__all__ = [
    "MAX_QUARANTINE_RAW_BYTES",
    "AlreadyCompletedError",
    "AlreadyInProgressError",
    "ApprovalStore",
    "AuditStore",
    "ConcurrentUpdateError",
    "DisruptiveActionLog",
    "IdempotencyRecord",
    "IdempotencyStore",
    "IncidentFindingsStore",
    "LeaseLostError",
    "OpenIncidentStore",
    "QuarantineRecord",
    "QuarantineStore",
    "Snapshot",
    "SnapshotStore",
    "StorageError",
    "Watermark",
    "WatermarkStore",
    "result_json",
    "select_approvals",
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


_SECRET_FIELDS = frozenset({"key1", "key2", "key", "keys", "value", "primarykey", "secondarykey", "secret"})
_MAX_SNAPSHOT_CHARS = 30_000


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
        if len(json.dumps(value, default=str)) > _MAX_SNAPSHOT_CHARS:
            raise ValueError(f"snapshot larger than {_MAX_SNAPSHOT_CHARS} characters")
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


class DisruptiveActionLog(Protocol):
    """Disruptive actions taken, for the circuit breaker."""

    def record(self, key: str, *, at: datetime, incident_id: str, action: str, target: str) -> bool:
        """Record one disruptive action; False if ``key`` was already recorded."""
        ...

    def count_since(self, since: datetime) -> int:
        """How many disruptive actions were recorded at or after ``since``."""
        ...


class OpenIncidentStore(Protocol):
    def claim(self, correlation_key: str, instance_id: str, *, now: datetime) -> str | None:
        """Record ``instance_id`` as the open incident for the key.

        Returns None when the claim succeeded, or the instance id that already holds the key.
        """
        ...

    def mark_closing(self, correlation_key: str, instance_id: str) -> bool:
        """Stop routing new findings to ``instance_id`` (a later claim takes the key over)."""
        ...

    def release(self, correlation_key: str, instance_id: str) -> bool:
        """Forget the claim if (and only if) it is still ``instance_id``'s."""
        ...

    def get(self, correlation_key: str) -> str | None:
        """The instance id holding the key open (a ``closing`` claim counts as not open)."""
        ...


class IncidentFindingsStore(Protocol):
    def add(self, incident_id: str, finding: Finding, *, now: datetime) -> bool:
        """Record that ``finding`` joined the incident; False if that dedupe key was already recorded."""
        ...

    def list(self, incident_id: str) -> list[Finding]:
        """Every finding of the incident, in the order they joined."""
        ...

    def count(self, incident_id: str) -> int: ...


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


def select_approvals(
    records: list[ApprovalRecord], status: ApprovalStatus | None, incident_id: str | None
) -> list[ApprovalRecord]:
    """What ``ApprovalStore.list`` answers: oldest request first, optionally filtered."""
    out = [
        r
        for r in records
        if (status is None or r.status is status) and (incident_id is None or r.incident_id == incident_id)
    ]
    out.sort(key=lambda r: (r.requested_at, r.instance_id))
    return out


class AuditStore(Protocol):
    """Append-only audit trail."""

    def append(self, event: AuditEvent) -> AuditRecord:
        """Seal ``event`` into the chain and store it; returns the stored record."""
        ...

    def append_once(self, event: AuditEvent, key: str) -> AuditRecord | None:
        """Like ``append``, unless a record was already appended with ``key`` (then ``None``).
        Atomic: concurrent calls with one key append exactly one record."""
        ...

    def records(self, *, incident_id: str | None = None) -> list[AuditRecord]:
        """Every record in sequence order (optionally of one incident)."""
        ...

    def verify(self) -> ChainReport:
        """Check the whole chain (see ``verify_chain``)."""
        ...
