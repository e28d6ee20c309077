"""Audit records and the hash chain that makes removal or alteration detectable.

Each record holds who, what, when, why, before and after, its sequence number, the hash of the
previous record and its own hash::

    hash(n) = SHA-256( canonical_json(record n without "hash") )    with record n holding hash(n-1)

Sequence numbers start at 1 and are contiguous. ``verify_chain`` walks the records in order and
reports the first break: a gap (a removed record), a wrong ``prev_hash`` (a removed or inserted
record), a wrong ``hash`` (an altered record), or a chain shorter than the recorded head (the
newest records removed).

Limitation: a plain hash chain shows tampering by anyone who cannot rewrite the WHOLE chain
after the altered record. Someone with write access to the table could recompute every later
hash; against that, anchor the head hash elsewhere (e.g. export it to Log Analytics) — the
``head`` is reported by ``warden audit verify`` for that purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["GENESIS", "AuditEvent", "AuditRecord", "ChainReport", "seal", "verify_chain"]

GENESIS = "0" * 64
MAX_SNAPSHOT_CHARS = 30_000


def _bounded(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, default=str)) > MAX_SNAPSHOT_CHARS:
        raise ValueError(f"snapshot larger than {MAX_SNAPSHOT_CHARS} characters; store a summary")
    return value


class AuditEvent(BaseModel):
    """What happened, before it is placed in the chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    actor: str = Field(min_length=1, max_length=300, description="who: 'warden' or an approver's id/name")
    action: str = Field(min_length=1, max_length=100, description="what, e.g. step.succeeded")
    incident_id: str | None = Field(default=None, max_length=100)
    target: str | None = Field(default=None, max_length=1024, description="resource id acted on")
    reason: str = Field(default="", max_length=2000, description="why")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("expected a timezone-aware datetime (UTC)")
        return value.astimezone(UTC)

    @field_validator("before", "after")
    @classmethod
    def _snapshot_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _bounded(value)

    @field_validator("details")
    @classmethod
    def _details_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        _bounded(value)
        return value


class AuditRecord(AuditEvent):
    """An event placed in the chain."""

    seq: int = Field(ge=1)
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hash_input(record: AuditEvent, seq: int, prev_hash: str) -> dict[str, Any]:
    fields = AuditEvent.model_dump(record, mode="json")
    fields = {k: fields[k] for k in AuditEvent.model_fields}
    fields["seq"] = seq
    fields["prev_hash"] = prev_hash
    return fields


def seal(event: AuditEvent, *, seq: int, prev_hash: str) -> AuditRecord:
    """Place ``event`` after the record with ``prev_hash`` at position ``seq``."""
    digest = _digest(_hash_input(event, seq, prev_hash))
    return AuditRecord(**event.model_dump(), seq=seq, prev_hash=prev_hash, hash=digest)


class ChainReport(BaseModel):
    """The outcome of verifying a chain."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...] = ()


def verify_chain(records: Iterable[AuditRecord], *, expected_head_seq: int | None = None) -> ChainReport:
    """Check contiguity, links and hashes; ``expected_head_seq`` catches removal of the newest records."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected = 1
    count = 0
    last_seq = 0
    for record in sorted(records, key=lambda r: r.seq):
        count += 1
        if record.seq != expected:
            problems.append(f"record {expected} is missing (next present is {record.seq})")
        if record.prev_hash != prev_hash:
            problems.append(f"record {record.seq}: prev_hash does not match the hash of the record before it")
        recomputed = _digest(_hash_input(record, record.seq, record.prev_hash))
        if recomputed != record.hash:
            problems.append(f"record {record.seq}: content does not match its hash (altered)")
        prev_hash = record.hash
        expected = record.seq + 1
        last_seq = record.seq
    if expected_head_seq is not None and expected_head_seq > last_seq:
        problems.append(f"the chain ends at {last_seq} but its head says {expected_head_seq} (newest records removed)")
    return ChainReport(ok=not problems, records=count, head_seq=last_seq, head_hash=prev_hash, problems=tuple(problems))
