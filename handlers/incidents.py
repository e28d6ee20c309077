"""Incident orchestration glue: starting incidents, the incident and restore orchestrators,
their activities, and the restore HTTP route.

The orchestration bodies live in ``shared.response.orchestration`` (deterministic; see its
docstring for the flow and the custom status shape). An incident:

1. ``incident_opened`` — audit the first finding;
2. triage (``incident_triage``), notify (``incident_notify``), the approval gate
   (``approval_gate`` sub-orchestrator, or the policy's auto-decision while it is not
   deployed), the containment steps (``incident_execute_step``, ``keys_rotate_emergency``),
   verification (``incident_verify``) and a second notification;
3. stay open while findings keep arriving: every ``quiet`` period it counts the findings the
   intake recorded (``incident_findings_count``) and closes once a period passes with none new;
4. close in two phases: ``incident_mark_closing`` (new findings on the resource now open a new
   incident), a settle timer longer than any in-flight intake, then ``incident_close`` (final
   count, audit, release of the claim).

Findings that join an open incident are recorded by the intake in Table Storage, not raised as
events: a storm of 1,000 alerts costs the orchestration no history (and sidesteps the Durable
Python SDK's early-event bug #507 for repeated waits on one event name).

``APPROVAL_GATE_AVAILABLE`` is decided once, at import: ``True`` when ``handlers.approvals``
(which registers the ``approval_gate`` orchestrator) can be imported. Until then every step
needing approval is decided by the policy's ``approvals.final_decision`` (``deny`` in the
shipped policy), audited as an ``auto`` decision. ``restore_incident`` (started by
``POST /api/incidents/{id}/restore``) re-applies an incident's snapshots, gated the same way.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.audit.chain import AuditEvent
from shared.bootstrap import container
from shared.intake import IntakeDeps, JoinOutcome
from shared.models import Finding
from shared.notify.incident import incident_messages
from shared.observability import log_context
from shared.response.actions import LEASE_SECONDS, execute_step, record_result, verify_step
from shared.response.models import ApprovalOutcome, ExecuteRequest
from shared.response.orchestration import (
    ORCHESTRATOR,
    RESTORE_ORCHESTRATOR,
    incident_orchestration,
    restore_instance_id,
    restore_orchestration,
)
from shared.response.ports import audit_once
from shared.response.records import Notification, record_decision, record_notification
from shared.response.restore import plan_restore, restore_step
from shared.response.triage import triage
from shared.steps import ResponseStep, StepResult
from shared.usecases.notifications import send as send_notifications

bp = df.Blueprint()

_log = logging.getLogger("warden.incidents")

SETTLE = timedelta(minutes=10)  # > the intake's 5-minute lease: no finding is in flight after it
_FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}
# Step retries, 5 s apart (the Python SDK's RetryOptions has no backoff). A host killed mid-step
# leaves the step's claim for its lease (shared.response.actions.LEASE_SECONDS, 30 s): the retries
# in that time find the step "running elsewhere" and are spent, so the budget is the lease's worth
# of attempts PLUS TRANSIENT_ATTEMPTS for throttling, server errors and failed operations (the
# reliability suite lost a step when a crash landed after three failed LROs with 9 attempts).
RETRY_INTERVAL_S = 5
TRANSIENT_ATTEMPTS = 12
_RETRY = df.RetryOptions(
    first_retry_interval_in_milliseconds=RETRY_INTERVAL_S * 1000,
    max_number_of_attempts=LEASE_SECONDS // RETRY_INTERVAL_S + TRANSIENT_ATTEMPTS + 1,
)
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,100}$")


def _approvals_module_present() -> bool:
    try:
        return importlib.util.find_spec("handlers.approvals") is not None
    except (ImportError, ValueError):
        return False


APPROVAL_GATE_AVAILABLE: bool = _approvals_module_present()
"""Whether the ``approval_gate`` sub-orchestrator exists (``handlers.approvals`` is importable).
``False``: the policy's ``approvals.final_decision`` decides every gated step (see the docstring)."""


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
        seen=c.seen_findings,
        open_incidents=c.open_incidents,
        findings=c.incident_findings,
        starter=DurableIncidentStarter(client, quiet_minutes=c.settings.incident_quiet_minutes),
    )


@bp.orchestration_trigger(context_name="context")
def incident_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """One incident: open, triage, approve, contain, verify, notify, absorb findings, close.

    The body is ``shared.response.orchestration.incident_orchestration`` (its docstring has the
    flow and the custom status shape).
    """
    return (
        yield from incident_orchestration(context, gate_available=APPROVAL_GATE_AVAILABLE, settle=SETTLE, retry=_RETRY)
    )


@bp.orchestration_trigger(context_name="context", orchestration=RESTORE_ORCHESTRATOR)
def restore_incident(context: df.DurableOrchestrationContext) -> Any:
    """Undo an incident's containment from its snapshots, after one approver agrees."""
    return (yield from restore_orchestration(context, gate_available=APPROVAL_GATE_AVAILABLE, retry=_RETRY))


def _correlation_key(finding: dict[str, Any]) -> str:
    return Finding.model_validate(finding).incident_key


def _now() -> datetime:
    return datetime.now(UTC)


@bp.activity_trigger(input_name="payload")
def incident_opened(payload: dict[str, Any]) -> str:
    """Audit that an incident opened, once (a re-run after a host crash adds nothing). Needs
    Table Storage (Storage Table Data Contributor)."""
    finding = Finding.model_validate(payload["finding"])
    with log_context(incident_id=payload["incident_id"], resource_id=str(finding.resource or "")):
        audit_once(
            container().audit,
            AuditEvent(
                at=_now(),
                actor="warden",
                action="incident.opened",
                incident_id=payload["incident_id"],
                target=str(finding.resource) if finding.resource else None,
                reason=f"{finding.kind} ({finding.severity.value}): {finding.title}",
                details={"dedupe_key": finding.dedupe_key, "source": finding.source.value},
            ),
            "incident.opened",
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


# --------------------------------------------------------------------------------------------
# Response activities (names are shared.response.orchestration.ACTIVITY_*)
# --------------------------------------------------------------------------------------------
@bp.activity_trigger(input_name="payload")
def incident_triage(payload: dict[str, Any]) -> dict[str, Any]:
    """The response plan for the incident's first finding (policy + resource tags + breaker).

    Requires ``Microsoft.CognitiveServices/accounts/read`` and Table Storage. Raises
    ``PolicyError`` when the policy file is invalid.
    """
    finding = Finding.model_validate(payload["finding"])
    now = datetime.fromisoformat(str(payload["now"]))
    with log_context(incident_id=payload["incident_id"], resource_id=str(finding.resource or "")):
        result = triage(container().response_ports, finding, incident_id=str(payload["incident_id"]), now=now)
        _log.info("triage: %s", result.plan.explanation)
    return result.model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def incident_notify(payload: dict[str, Any]) -> dict[str, Any]:
    """Notify the owners: audit the intent once per incident and stage, then send the messages on
    the configured channels (Event Grid topic, Teams; ``shared.notify``).

    Needs Table Storage (audit) and, per channel, EventGrid Data Sender on the notifications topic.
    A failed channel is retried, recorded in the result and never raises: notifications never
    block containment. A re-run of an already recorded stage sends nothing again.
    Payload: ``shared.response.records.Notification``.
    """
    notification = Notification.model_validate(payload)
    with log_context(incident_id=notification.incident_id):
        result = record_notification(container().response_ports, notification)
        if result.get("recorded") and not notification.dry_run:
            messages = incident_messages(
                incident_id=notification.incident_id,
                stage=notification.stage,
                owners=notification.owners,
                subject=notification.subject,
                summary=notification.summary,
                finding=notification.finding,
                steps=notification.steps,
            )
            c = container()
            result["channels"] = send_notifications(messages, c.channels, attempts=c.settings.notify_attempts)
        return result


@bp.activity_trigger(input_name="payload")
def incident_record_decision(payload: dict[str, Any]) -> bool:
    """Audit an approval decision (who, when, why) once per step. Needs Table Storage."""
    step = ResponseStep.model_validate(payload["step"])
    outcome = ApprovalOutcome.model_validate(payload["outcome"])
    with log_context(incident_id=payload["incident_id"], resource_id=str(step.target)):
        return record_decision(
            container().response_ports,
            str(payload["incident_id"]),
            step,
            outcome,
            source=str(payload.get("source", "")),
        )


@bp.activity_trigger(input_name="payload")
def incident_execute_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Execute one containment step, once (``shared.response.actions.execute_step``).

    Requires, per action: ``accounts/read``; ``accounts/deployments/read|write`` and
    ``accounts/raiPolicies/read|write`` (switch_rai_policy); ``accounts/deployments/delete``
    (delete_deployment); ``accounts/write`` (disable_local_auth, deny_public_network,
    tag_resource); Table Storage for snapshots, idempotency and audit. Azure failures are
    returned as a ``failed`` result; raises ``StepInProgressError`` when another run holds the step.
    """
    request = ExecuteRequest.model_validate(payload)
    with log_context(incident_id=request.incident_id, resource_id=str(request.step.target)):
        return execute_step(container().response_ports, request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def incident_record_result(payload: dict[str, Any]) -> dict[str, Any]:
    """Audit a step that ran as a sub-orchestration (emergency rotation). Needs Table Storage."""
    request = ExecuteRequest.model_validate(
        {"incident_id": payload["incident_id"], "step": payload["step"], "now": payload["now"]}
    )
    result = StepResult.model_validate(payload["result"])
    with log_context(incident_id=request.incident_id, resource_id=str(result.target)):
        return record_result(container().response_ports, request, result).model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def incident_verify(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Re-read every changed resource and say whether each step's desired state holds.

    Requires the read permissions of the actions (``accounts/read``, ``accounts/deployments/read``).
    """
    ports = container().response_ports
    incident_id = str(payload["incident_id"])
    outcomes = [
        verify_step(
            ports, incident_id, StepResult.model_validate(item["result"]), ResponseStep.model_validate(item["step"])
        ).model_dump(mode="json")
        for item in payload.get("items", [])
    ]
    verified = all(o["verified"] for o in outcomes)
    audit_once(
        ports.audit,
        AuditEvent(
            at=_now(),
            actor="warden",
            action="incident.verified" if verified else "incident.verify_failed",
            incident_id=incident_id,
            reason="every change re-read and found in place" if verified else "a change was not found in place",
            details={"outcomes": outcomes[:30]},
        ),
        "incident.verified",
    )
    return outcomes


@bp.activity_trigger(input_name="payload")
def incident_restore_plan(payload: dict[str, Any]) -> dict[str, Any]:
    """What a restore of the incident would re-apply; audits the request. Needs Table Storage."""
    ports = container().response_ports
    incident_id = str(payload["incident_id"])
    plan = plan_restore(ports, incident_id)
    audit_once(
        ports.audit,
        AuditEvent(
            at=_now(),
            actor=str(payload.get("requested_by") or "unknown")[:300],
            action="restore.requested",
            incident_id=incident_id,
            reason=(str(payload.get("reason") or "") or plan.explanation)[:2000],
            details={"steps": [i.step.id for i in plan.items]},
        ),
        f"restore.requested:{payload.get('run', '')}",
    )
    return plan.model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def incident_restore_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Re-apply one snapshot (``shared.response.restore.restore_step``), once, audited.

    Requires ``accounts/read``, ``accounts/write``, ``accounts/deployments/read|write``.
    """
    step = ResponseStep.model_validate(payload["step"])
    incident_id = str(payload["incident_id"])
    with log_context(incident_id=incident_id, resource_id=str(step.target)):
        result = restore_step(
            container().response_ports,
            incident_id,
            step,
            approved_by=tuple(str(a) for a in payload.get("approved_by", [])),
        )
    return result.model_dump(mode="json")


# --------------------------------------------------------------------------------------------
# HTTP: POST /api/incidents/{id}/restore
# --------------------------------------------------------------------------------------------
@bp.route(route="incidents/{id}/restore", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def incident_restore_http(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start ``restore_incident`` for the incident and answer with the check-status response.

    Body (optional JSON): ``{"requested_by": "...", "reason": "..."}``. 404 when no such
    incident exists; a restore already running answers with its own status URLs.
    """
    incident_id = req.route_params.get("id", "")
    if not _INCIDENT_ID.match(incident_id):
        return _json(400, {"error": f"{incident_id!r} is not an incident id (inc-… from the incident list)"})
    try:
        body = req.get_json() if req.get_body() else {}
    except ValueError:
        return _json(400, {"error": 'the body must be JSON: {"requested_by": ..., "reason": ...}'})
    body = body if isinstance(body, dict) else {}
    try:
        incident = await client.get_status(incident_id)
    except Exception:
        incident = None
    if _runtime_status(incident) is None:
        return _json(404, {"error": f"no incident {incident_id}"})
    instance = restore_instance_id(incident_id)
    try:
        current = await client.get_status(instance)
    except Exception:
        current = None
    if _runtime_status(current) not in {"Running", "Pending"}:
        principal = req.headers.get("x-ms-client-principal-name")
        payload = {
            "incident_id": incident_id,
            "requested_by": str(principal or body.get("requested_by") or "api")[:300],
            "reason": str(body.get("reason") or "")[:1000],
        }
        await client.start_new(RESTORE_ORCHESTRATOR, instance, payload)
        _log.info("restore of %s requested by %s", incident_id, payload["requested_by"])
    response: func.HttpResponse = client.create_check_status_response(req, instance)
    return response


def _json(status: int, body: dict[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
