"""Incident orchestration glue: starting incidents, the incident orchestrator, its activities.

The orchestrator is deterministic (only ``context`` APIs); every side effect is an activity.
Its life today (the [Containment] work adds triage, approvals and response steps in the middle):

1. ``incident_opened`` — audit the first finding;
2. stay open while findings keep arriving: every ``quiet`` period it counts the findings the
   intake recorded (``incident_findings_count``) and closes once a period passes with none new;
3. close in two phases: ``incident_mark_closing`` (new findings on the resource now open a new
   incident), a settle timer longer than any in-flight intake, then ``incident_close`` (final
   count, audit, release of the claim).

Findings that join an open incident are recorded by the intake in Table Storage, not raised as
events: a storm of 1,000 alerts costs the orchestration no history (and sidesteps the Durable
Python SDK's early-event bug #507 for repeated waits on one event name).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from shared.audit.chain import AuditEvent
from shared.bootstrap import container
from shared.intake import IntakeDeps, JoinOutcome
from shared.models import Finding
from shared.observability import log_context

bp = df.Blueprint()

_log = logging.getLogger("warden.incidents")

ORCHESTRATOR = "incident_orchestrator"
SETTLE = timedelta(minutes=10)  # > the intake's 5-minute lease: no finding is in flight after it
_FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}


def _runtime_status(status: Any) -> str | None:
    if not status:
        return None
    value = getattr(status, "runtime_status", None)
    return str(getattr(value, "value", value)) if value is not None else None


class DurableIncidentStarter:
    """``shared.intake.IncidentStarter`` over the real ``DurableOrchestrationClient``."""

    def __init__(self, client: df.DurableOrchestrationClient, *, quiet_minutes: int) -> None:
        self._client = client
        self._quiet_minutes = quiet_minutes

    async def start(self, instance_id: str, finding: Finding) -> None:
        payload = {"finding": finding.model_dump(mode="json"), "quiet_minutes": self._quiet_minutes}
        await self._client.start_new(ORCHESTRATOR, instance_id, payload)

    async def notify_joined(self, instance_id: str, finding: Finding) -> JoinOutcome:
        try:
            status = await self._client.get_status(instance_id)
        except Exception:  # the 1.x SDK raises on some 404 bodies
            status = None
        runtime = _runtime_status(status)
        if runtime is None:
            return JoinOutcome.NOT_STARTED
        if runtime in _FINISHED:
            return JoinOutcome.FINISHED
        return JoinOutcome.DELIVERED


def intake_deps(client: df.DurableOrchestrationClient) -> IntakeDeps:
    """Everything ``shared.intake.ingest`` needs, for a handler holding a durable client."""
    c = container()
    return IntakeDeps(
        seen=c.idempotency,
        open_incidents=c.open_incidents,
        findings=c.incident_findings,
        starter=DurableIncidentStarter(client, quiet_minutes=c.settings.incident_quiet_minutes),
    )


@bp.orchestration_trigger(context_name="context")
def incident_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """One incident: open, absorb related findings, close (see the module docstring)."""
    data = context.get_input() or {}
    finding = data["finding"]
    quiet = timedelta(minutes=int(data.get("quiet_minutes", 30)))
    incident_id = context.instance_id
    correlation = data.get("correlation_key") or _correlation_key(finding)
    base = {"incident_id": incident_id, "correlation_key": correlation}
    yield context.call_activity("incident_opened", {**base, "finding": finding})
    count = 1
    context.set_custom_status({"stage": "open", "findings": count, "kind": finding.get("kind")})
    while True:
        yield context.create_timer(context.current_utc_datetime + quiet)
        latest = yield context.call_activity("incident_findings_count", base)
        if latest <= count:
            break
        count = latest
        context.set_custom_status({"stage": "open", "findings": count, "kind": finding.get("kind")})
    context.set_custom_status({"stage": "closing", "findings": count})
    yield context.call_activity("incident_mark_closing", base)
    yield context.create_timer(context.current_utc_datetime + SETTLE)
    final = yield context.call_activity("incident_close", base)
    context.set_custom_status({"stage": "closed", "findings": final})
    return {"incident_id": incident_id, "findings": final, "status": "closed"}


def _correlation_key(finding: dict[str, Any]) -> str:
    return Finding.model_validate(finding).incident_key


def _now() -> datetime:
    return datetime.now(UTC)


@bp.activity_trigger(input_name="payload")
def incident_opened(payload: dict[str, Any]) -> str:
    """Audit that an incident opened. Needs Table Storage (Storage Table Data Contributor)."""
    finding = Finding.model_validate(payload["finding"])
    with log_context(incident_id=payload["incident_id"], resource_id=str(finding.resource or "")):
        container().audit.append(
            AuditEvent(
                at=_now(),
                actor="warden",
                action="incident.opened",
                incident_id=payload["incident_id"],
                target=str(finding.resource) if finding.resource else None,
                reason=f"{finding.kind} ({finding.severity.value}): {finding.title}",
                details={"dedupe_key": finding.dedupe_key, "source": finding.source.value},
            )
        )
        _log.info("incident opened for %s", finding.kind)
    return "opened"


@bp.activity_trigger(input_name="payload")
def incident_findings_count(payload: dict[str, Any]) -> int:
    """How many findings the intake has recorded for the incident."""
    return container().incident_findings.count(payload["incident_id"])


@bp.activity_trigger(input_name="payload")
def incident_mark_closing(payload: dict[str, Any]) -> bool:
    """Phase 1 of closing: new findings on the resource open a new incident from now on."""
    return container().open_incidents.mark_closing(payload["correlation_key"], payload["incident_id"])


@bp.activity_trigger(input_name="payload")
def incident_close(payload: dict[str, Any]) -> int:
    """Phase 2 of closing: final count, audit, release the resource's claim. Idempotent."""
    c = container()
    incident_id = payload["incident_id"]
    count = c.incident_findings.count(incident_id)
    released = c.open_incidents.release(payload["correlation_key"], incident_id)
    already = any(r.action == "incident.closed" for r in c.audit.records(incident_id=incident_id))
    if not already:
        c.audit.append(
            AuditEvent(
                at=_now(),
                actor="warden",
                action="incident.closed",
                incident_id=incident_id,
                reason=f"no new finding for the quiet period; {count} finding(s) recorded",
                details={"findings": count, "claim_released": released},
            )
        )
    with log_context(incident_id=incident_id):
        _log.info("incident closed with %d finding(s)", count)
    return count
