"""Intake: one finding in, exactly one incident affected.

Every incident-opening finding source (Event Grid, Event Hub, the SecurityAlert poller, the
anomaly detectors, resource events) calls ``ingest``. Key hygiene does not yet: the key scan and
Key Vault events start rotations directly (``shared.usecases.key_hygiene``), each rotation
deduplicated by its instance id and audited, and the scan's findings are logged (docs/policy.md,
"Key hygiene findings"). It guarantees:

- **once per finding**: an idempotency record keyed by the finding's dedupe key (for a
  Defender alert, its SystemAlertId) makes a redelivered or cross-path duplicate a no-op;
- **one open incident per resource**: the first finding on a resource claims the resource
  (conditional insert) and starts an incident whose instance id derives from that finding;
  later findings on the same resource join it: they are recorded in the incident's findings
  table, which the incident counts — a storm of alerts yields one incident that records them all;
- **a stale claim is healed**: if the claimed incident has already finished, the claim is
  released and a new incident opens.

The Durable client is behind the ``Orchestrations`` port (``shared.ports.durable``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.incident import INCIDENT_ORCHESTRATOR, IncidentInput
from shared.finding import Finding
from shared.observability import log_context
from shared.ports.durable import FINISHED, Orchestrations
from shared.ports.stores import (
    AlreadyCompletedError,
    AlreadyInProgressError,
    IdempotencyStore,
    IncidentFindingsStore,
    OpenIncidentStore,
)

__all__ = [
    "IngestResult",
    "IngestStatus",
    "IntakeDeps",
    "IntakeError",
    "JoinOutcome",
    "ingest",
]

_log = logging.getLogger("warden.intake")

SEEN_TTL_SECONDS = 30 * 24 * 3600
"""How long a finding's dedupe key is remembered (Event Grid retries for at most 24 h)."""
LEASE_SECONDS = 300
_MAX_ROUTE_ATTEMPTS = 3
_NOT_STARTED_RETRIES = 8
_NOT_STARTED_BACKOFF_S = 0.05  # doubles per attempt, capped at 1 s: about 4.5 s in all


class IntakeError(RuntimeError):
    """A finding could not be routed (the caller should fail so the source retries)."""


class JoinOutcome(StrEnum):
    """Whether the incident holding a resource can take a new finding."""

    DELIVERED = "delivered"
    FINISHED = "finished"  # the incident completed, failed or was terminated (HTTP 410)
    NOT_STARTED = "not_started"  # claimed but not created yet (HTTP 404): another intake is starting it


class IngestStatus(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: IngestStatus
    incident_id: str | None
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class IntakeDeps:
    """What routing a finding needs (``shared.bootstrap.Container.intake_deps``)."""

    seen: IdempotencyStore
    open_incidents: OpenIncidentStore
    findings: IncidentFindingsStore
    orchestrations: Orchestrations
    quiet_minutes: int = 30
    """The quiet period each new incident waits for more findings before it closes."""


async def ingest(finding: Finding, deps: IntakeDeps, *, now: datetime) -> IngestResult:
    """Route ``finding`` to a new or open incident, exactly once.

    Raises ``IntakeError`` (or the store's or the Durable client's error) when routing failed; the
    idempotency record is released first so a retry of the delivery can succeed.
    """
    seen_key = "finding:" + finding.dedupe_key
    with log_context(resource_id=str(finding.resource) if finding.resource else None):
        try:
            deps.seen.begin(seen_key, now=now, lease_seconds=LEASE_SECONDS)
        except AlreadyCompletedError as done:
            _log.info("duplicate finding %s ignored (already in %s)", finding.dedupe_key, done.result.get("incident"))
            return IngestResult(IngestStatus.DUPLICATE, done.result.get("incident"), finding.dedupe_key)
        except AlreadyInProgressError:
            # Another delivery of the same finding is being routed right now; it will finish
            # (or fail, and its own source will retry it).
            _log.info("duplicate finding %s ignored (being routed elsewhere)", finding.dedupe_key)
            return IngestResult(IngestStatus.DUPLICATE, None, finding.dedupe_key)
        try:
            result = await _route(finding, deps, now=now)
        except BaseException:
            deps.seen.release(seen_key)
            raise
        deps.seen.complete(
            seen_key,
            {"incident": result.incident_id, "status": result.status.value},
            now=now,
            ttl_seconds=SEEN_TTL_SECONDS,
        )
        with log_context(incident_id=result.incident_id):
            _log.info("finding %s %s incident", finding.dedupe_key, result.status.value)
        return result


async def _route(finding: Finding, deps: IntakeDeps, *, now: datetime) -> IngestResult:
    correlation = finding.incident_key
    candidate = finding.instance_id
    for _ in range(_MAX_ROUTE_ATTEMPTS):
        holder = deps.open_incidents.claim(correlation, candidate, now=now)
        if holder is None:
            deps.findings.add(candidate, finding, now=now)
            started = IncidentInput(finding=finding, quiet_minutes=deps.quiet_minutes)
            try:
                await deps.orchestrations.start(
                    INCIDENT_ORCHESTRATOR, candidate, started.model_dump(mode="json", exclude_none=True)
                )
            except BaseException:
                deps.open_incidents.release(correlation, candidate)
                raise
            return IngestResult(IngestStatus.OPENED, candidate, finding.dedupe_key)
        outcome = await _join(deps.orchestrations, holder)
        if outcome is JoinOutcome.DELIVERED:
            deps.findings.add(holder, finding, now=now)
            return IngestResult(IngestStatus.JOINED, holder, finding.dedupe_key)
        _log.info("incident %s for %s has finished; releasing its claim", holder, correlation)
        deps.open_incidents.release(correlation, holder)
    raise IntakeError(f"could not route finding {finding.dedupe_key!r} after {_MAX_ROUTE_ATTEMPTS} attempts")


async def _join(orchestrations: Orchestrations, holder: str) -> JoinOutcome:
    """Whether ``holder`` can take the finding, waiting briefly while a concurrent intake is still
    starting it (the durable API answers 404 until the instance exists)."""
    for attempt in range(_NOT_STARTED_RETRIES):
        status = await orchestrations.status(holder)
        if status is not None:
            return JoinOutcome.FINISHED if status.runtime_status in FINISHED else JoinOutcome.DELIVERED
        await asyncio.sleep(min(1.0, _NOT_STARTED_BACKOFF_S * 2**attempt))
    raise IntakeError(f"incident {holder!r} was claimed but never started; the source should retry")
