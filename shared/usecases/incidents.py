"""An incident's life as the audit trail and its owners see it: opened, decisions, notifications,
findings counted, closed.

These are the incident orchestration's bookkeeping activities (``shared.contracts.incident``):

- ``record_opened`` (``incident_opened``): audit the first finding, once;
- ``notify`` (``incident_notify``): audit the intent once per incident and stage, then send the
  stage's messages on the configured channels (never raises: notifications never block
  containment; a re-run of a recorded stage sends nothing again; dry run sends nothing);
- ``record_decision`` (``incident_record_decision``): audit the approval gate's decision on a
  step (who, when, why), once;
- ``count_findings`` / ``mark_closing`` / ``close_incident``: the quiet period and the two-phase
  close (phase 1: new findings on the resource open a new incident from now on; phase 2, after a
  settle timer: final count, audit, release of the resource's claim).

Every record is appended through ``audit_once`` (``shared.usecases.audit_trail``): a re-run adds
nothing. Needs Table Storage (Storage Table Data Contributor) and, per channel, EventGrid Data
Sender on the notifications topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.audit.chain import AuditEvent
from shared.contracts.incident import DecisionRequest, IncidentRef, NotifyRequest, OpenedRequest
from shared.notify.incident import incident_messages
from shared.observability import log_context
from shared.ports.channels import Channel
from shared.ports.stores import AuditStore, IncidentFindingsStore, OpenIncidentStore
from shared.usecases.audit_trail import audit_once
from shared.usecases.notifications import send

__all__ = [
    "IncidentDeps",
    "close_incident",
    "count_findings",
    "mark_closing",
    "notify",
    "record_decision",
    "record_opened",
]

_log = logging.getLogger("warden.incidents")


@dataclass
class IncidentDeps:
    """What the incident's bookkeeping needs (``shared.bootstrap.Container.incident_deps``)."""

    audit: AuditStore
    open_incidents: OpenIncidentStore
    findings: IncidentFindingsStore
    channels: Sequence[Channel] = ()
    notify_attempts: int = 3
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def record_opened(deps: IncidentDeps, request: OpenedRequest) -> str:
    """Audit that an incident opened, once (a re-run after a host crash adds nothing)."""
    finding = request.finding
    with log_context(incident_id=request.incident_id, resource_id=str(finding.resource or "")):
        audit_once(
            deps.audit,
            AuditEvent(
                at=deps.clock(),
                actor="warden",
                action="incident.opened",
                incident_id=request.incident_id,
                target=str(finding.resource) if finding.resource else None,
                reason=f"{finding.kind} ({finding.severity.value}): {finding.title}",
                details={"dedupe_key": finding.dedupe_key, "source": finding.source.value},
            ),
            "incident.opened",
        )
        _log.info("incident opened for %s", finding.kind)
    return "opened"


def count_findings(deps: IncidentDeps, ref: IncidentRef) -> int:
    """How many findings the intake has recorded for the incident."""
    return deps.findings.count(ref.incident_id)


def mark_closing(deps: IncidentDeps, ref: IncidentRef) -> bool:
    """Phase 1 of closing: new findings on the resource open a new incident from now on."""
    return deps.open_incidents.mark_closing(ref.correlation_key, ref.incident_id)


def close_incident(deps: IncidentDeps, ref: IncidentRef) -> int:
    """Phase 2 of closing: final count, release of the resource's claim, audit (once)."""
    count = deps.findings.count(ref.incident_id)
    released = deps.open_incidents.release(ref.correlation_key, ref.incident_id)
    audit_once(
        deps.audit,
        AuditEvent(
            at=deps.clock(),
            actor="warden",
            action="incident.closed",
            incident_id=ref.incident_id,
            reason=f"no new finding for the quiet period; {count} finding(s) recorded",
            details={"findings": count, "claim_released": released},
        ),
        "incident.closed",
    )
    with log_context(incident_id=ref.incident_id):
        _log.info("incident closed with %d finding(s)", count)
    return count


def notify(deps: IncidentDeps, request: NotifyRequest) -> dict[str, Any]:
    """Record the intent to notify (once per incident and stage), then send the stage's messages.

    Returns ``{"recorded": bool, "channels": [one status per message and channel]}``.
    """
    with log_context(incident_id=request.incident_id):
        record = audit_once(
            deps.audit,
            AuditEvent(
                at=deps.clock(),
                actor="warden",
                action="notification.intent",
                incident_id=request.incident_id,
                reason=request.subject,
                details={
                    "stage": request.stage,
                    "owners": list(request.owners),
                    "summary": request.summary[:1500],
                    "steps": [{k: s.get(k) for k in ("step_id", "action", "status")} for s in request.steps[:30]],
                },
            ),
            f"notification.intent:{request.stage}",
        )
        _log.info("notify %s about %s (%s)", ", ".join(request.owners), request.incident_id, request.stage)
        result: dict[str, Any] = {"recorded": record is not None, "channels": []}
        if record is not None and not request.dry_run:
            messages = incident_messages(
                incident_id=request.incident_id,
                stage=request.stage,
                owners=request.owners,
                subject=request.subject,
                summary=request.summary,
                finding=request.finding,
                steps=request.steps,
            )
            result["channels"] = send(messages, deps.channels, attempts=deps.notify_attempts)
        return result


def record_decision(deps: IncidentDeps, request: DecisionRequest) -> bool:
    """Audit the approval gate's decision on a step (who, when, why), once. ``True`` when newly
    recorded."""
    step, outcome = request.step, request.outcome
    who = ", ".join(outcome.approver_names) or "nobody"
    action = "approval.granted" if outcome.approved else "approval.denied"
    with log_context(incident_id=request.incident_id, resource_id=str(step.target)):
        record = audit_once(
            deps.audit,
            AuditEvent(
                at=deps.clock(),
                actor=who[:300],
                action=action,
                incident_id=request.incident_id,
                target=str(step.target),
                reason=f"{step.id} ({step.action.value}): {outcome.reason} by {who}"
                + "".join(f"; {d.justification}" for d in outcome.decided_by if d.justification)[:1500],
                details={
                    "step_id": step.id,
                    "requirement": step.approval.value,
                    "reason": outcome.reason,
                    "source": request.source,
                    "decided_by": [d.model_dump() for d in outcome.decided_by],
                },
            ),
            f"{action}:{step.id}",
        )
    return record is not None
