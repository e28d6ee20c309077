"""Incident orchestration glue: the incident and restore orchestrators, their activities, and the
restore HTTP route.

Glue only: every function binds, validates the contract's model (``shared.contracts.incident``)
and calls one use case. The orchestration bodies are ``shared.orchestrations.incident`` (its
docstring has the flow; ``shared.orchestrations.status`` the custom status shape); the activities
are ``shared.usecases.incidents`` (bookkeeping: opened, notified, decided, closed),
``shared.usecases.triage``, ``shared.usecases.containment`` and ``shared.usecases.restore``.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from handlers.bindings import retry_options
from shared.bootstrap import container
from shared.contracts import incident as contract
from shared.observability import log_context
from shared.orchestrations.incident import incident_orchestration, restore_orchestration
from shared.usecases.containment import execute_step, record_result, verify_changes
from shared.usecases.incidents import (
    close_incident,
    count_findings,
    mark_closing,
    notify,
    record_decision,
    record_opened,
)
from shared.usecases.restore import plan_restore, request_restore, restore_step
from shared.usecases.triage import triage

bp = df.Blueprint()

_RETRY = retry_options(contract.STEP_RETRY)


# --------------------------------------------------------------------------------------------
# Orchestrators
# --------------------------------------------------------------------------------------------
@bp.orchestration_trigger(context_name="context", orchestration=contract.INCIDENT_ORCHESTRATOR)
def incident_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """One incident: open, triage, approve, contain, verify, notify, absorb findings, close."""
    return (yield from incident_orchestration(context, settle=contract.SETTLE, retry=_RETRY))


@bp.orchestration_trigger(context_name="context", orchestration=contract.RESTORE_ORCHESTRATOR)
def restore_incident(context: df.DurableOrchestrationContext) -> Any:
    """Undo an incident's containment from its snapshots, after one approver agrees."""
    return (yield from restore_orchestration(context, retry=_RETRY))


# --------------------------------------------------------------------------------------------
# The incident's bookkeeping (shared.usecases.incidents; Table Storage)
# --------------------------------------------------------------------------------------------
@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_OPENED)
def incident_opened(payload: dict[str, Any]) -> str:
    """Audit that an incident opened, once."""
    return record_opened(container().incident_deps, contract.OpenedRequest.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_COUNT)
def incident_findings_count(payload: dict[str, Any]) -> int:
    """How many findings the intake has recorded for the incident."""
    return count_findings(container().incident_deps, contract.IncidentRef.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_MARK_CLOSING)
def incident_mark_closing(payload: dict[str, Any]) -> bool:
    """Phase 1 of closing: new findings on the resource open a new incident from now on."""
    return mark_closing(container().incident_deps, contract.IncidentRef.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_CLOSE)
def incident_close(payload: dict[str, Any]) -> int:
    """Phase 2 of closing: final count, audit, release of the resource's claim. Idempotent."""
    return close_incident(container().incident_deps, contract.IncidentRef.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_NOTIFY)
def incident_notify(payload: dict[str, Any]) -> dict[str, Any]:
    """Notify the owners (audited once per stage; never raises)."""
    return notify(container().incident_deps, contract.NotifyRequest.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_DECISION)
def incident_record_decision(payload: dict[str, Any]) -> bool:
    """Audit the approval gate's decision on a step, once."""
    return record_decision(container().incident_deps, contract.DecisionRequest.model_validate(payload))


# --------------------------------------------------------------------------------------------
# Triage, containment, verification, restore (Cognitive Services + Table Storage)
# --------------------------------------------------------------------------------------------
@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_TRIAGE)
def incident_triage(payload: dict[str, Any]) -> dict[str, Any]:
    """The response plan for the incident's first finding. Requires ``accounts/read``."""
    request = contract.TriageRequest.model_validate(payload)
    with log_context(incident_id=request.incident_id, resource_id=str(request.finding.resource or "")):
        return triage(container().response_ports, request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_EXECUTE)
def incident_execute_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Execute one containment step, once (permissions per action: ``shared.usecases.containment``)."""
    request = contract.ExecuteRequest.model_validate(payload)
    with log_context(incident_id=request.incident_id, resource_id=str(request.step.target)):
        return execute_step(container().response_ports, request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_RECORD_RESULT)
def incident_record_result(payload: dict[str, Any]) -> dict[str, Any]:
    """Audit a step that ran as a sub-orchestration (emergency rotation)."""
    request = contract.RecordResultRequest.model_validate(payload)
    with log_context(incident_id=request.incident_id, resource_id=str(request.result.target)):
        return record_result(container().response_ports, request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_VERIFY)
def incident_verify(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Re-read every changed resource and say whether each step's desired state holds."""
    outcomes = verify_changes(container().response_ports, contract.VerifyRequest.model_validate(payload))
    return [o.model_dump(mode="json") for o in outcomes]


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_RESTORE_PLAN)
def incident_restore_plan(payload: dict[str, Any]) -> dict[str, Any]:
    """What a restore of the incident would re-apply; audits the request."""
    return plan_restore(container().response_ports, contract.RestorePlanRequest.model_validate(payload)).model_dump(
        mode="json"
    )


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_RESTORE_STEP)
def incident_restore_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Re-apply one snapshot, once, audited."""
    request = contract.RestoreStepRequest.model_validate(payload)
    with log_context(incident_id=request.incident_id, resource_id=str(request.step.target)):
        return restore_step(container().response_ports, request).model_dump(mode="json")


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
    try:
        body: Any = req.get_json() if req.get_body() else {}
    except ValueError:
        body = None
    asked = await request_restore(
        container().orchestrations(client),
        req.route_params.get("id", ""),
        body,
        principal_name=req.headers.get("x-ms-client-principal-name"),
    )
    if asked.error:
        return func.HttpResponse(
            json.dumps({"error": asked.error}), status_code=asked.status, mimetype="application/json"
        )
    response: func.HttpResponse = client.create_check_status_response(req, asked.instance_id)
    return response


__all__ = ["bp"]
