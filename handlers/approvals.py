"""Approvals glue: the ``approval_gate`` sub-orchestrator, its activities, the HTTP API and page.

- ``approval_gate`` (orchestrator; body ``shared.approvals.gate.approval_gate``): called by the
  incident orchestrator as ``context.call_sub_orchestrator("approval_gate", request,
  instance_id=f"{incident_id}:approval:{step_id}")``; returns ``GateResult``.
- ``approval_*`` activities: record, check, escalate, expire and close the pending approval
  (Table Storage ``WardenApprovals`` + the audit trail; "Storage Table Data Contributor"), and
  notify (Event Grid "EventGrid Data Sender" and the Teams webhook). ``approval_notify`` never
  raises: it retries, records the outcome on the approval, and returns it.
- HTTP routes (auth level anonymous: App Service Authentication fronts ``/api/*``, and every
  route validates ``X-MS-CLIENT-PRINCIPAL`` itself — see ``shared.approvals.api``):

  ======  ==============================================  =========================================
  GET     /api/approvals                                  pending approvals (JSON)
  GET     /api/approvals/{incident_id}/{step_id}          one approval with its evidence (JSON)
  POST    /api/approvals/{incident_id}/{step_id}/decision approve / reject with a justification
  GET     /api/incidents/{incident_id}                    evidence, proposed steps, blast radius,
                                                          the orchestration's custom status
  GET     /api/approvals/page                             the approval page (HTML)
  POST    /api/approvals/page/decide                      the page's form post
  GET     /api/approvals/link?token=                      one-click link: confirmation page only
  POST    /api/approvals/link                             one-click link: the decision
  ======  ==============================================  =========================================
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.approvals.api import ApiRequest, ApiResponse, dispatch
from shared.approvals.gate import (
    ACTIVITY_CHECK,
    ACTIVITY_CLOSE,
    ACTIVITY_ESCALATE,
    ACTIVITY_EXPIRE,
    ACTIVITY_NOTIFY,
    ACTIVITY_OPEN,
)
from shared.approvals.gate import (
    approval_gate as gate_body,
)
from shared.approvals.models import GATE_ORCHESTRATOR, GateRequest
from shared.approvals.notices import approval_notice
from shared.bootstrap import container
from shared.observability import log_context
from shared.usecases.notifications import deliver

bp = df.Blueprint()

_log = logging.getLogger("warden.approvals")


# --------------------------------------------------------------------------------------------
# Orchestrator and activities
# --------------------------------------------------------------------------------------------
@bp.orchestration_trigger(context_name="context", orchestration=GATE_ORCHESTRATOR)
def approval_gate(context: df.DurableOrchestrationContext) -> Any:
    """Wait for a human decision on one step (``shared.approvals.gate``)."""
    return (yield from gate_body(context))


def _state(record: Any) -> dict[str, Any]:
    return {"status": record.status.value, "decisions": len(record.decisions)}


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_OPEN)
def approval_open(payload: dict[str, Any]) -> dict[str, Any]:
    """Record the pending approval (idempotent). Needs Table Storage (audit, WardenApprovals)."""
    deps = container().approvals_deps
    request = GateRequest.model_validate(payload["request"])
    with log_context(incident_id=request.incident_id):
        record = deps.service.open(
            request,
            instance_id=str(payload["instance_id"]),
            requested_at=datetime.fromisoformat(str(payload["requested_at"])),
        )
    return {
        **_state(record),
        "requested_at": record.requested_at.isoformat(),
        "expires_at": record.expires_at.isoformat(),
        "reminder_seconds": deps.service.reminder_seconds(request),
        "escalation": [level.model_dump(mode="json") for level in record.escalation],
        "escalation_level": record.escalation_level,
    }


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_NOTIFY)
def approval_notify(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Tell the approvers (Event Grid CloudEvent + Teams card); retried, recorded, never raises."""
    deps = container().approvals_deps
    instance_id = str(payload["instance_id"])
    try:
        record = deps.service.get_record(instance_id)
        notice = approval_notice(
            record,
            kind=str(payload.get("kind", "requested")),
            level=int(payload.get("level", 0)),
            default_role=deps.approver_role,
            base_url=deps.base_url,
            link_key=deps.link_key,
            now=deps.clock(),
        )
        statuses = [
            s.as_dict()
            for s in deliver(deps.channels, notice, attempts=deps.notify_attempts, backoff=deps.notify_backoff)
        ]
    except Exception as exc:  # never block the gate (or containment) on a notification
        _log.exception("approval notification for %s failed", instance_id)
        statuses = [{"channel": "all", "ok": False, "attempts": 0, "error": type(exc).__name__}]
    entry = {
        "kind": payload.get("kind"),
        "level": payload.get("level"),
        "at": deps.clock().isoformat(),
        "results": statuses,
    }
    deps.service.record_notification(instance_id, entry)
    return statuses


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_CHECK)
def approval_check(payload: dict[str, Any]) -> dict[str, Any]:
    """The approval's status and decision count, read from the store (the truth)."""
    return _state(container().approvals_deps.service.get_record(str(payload["instance_id"])))


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_ESCALATE)
def approval_escalate(payload: dict[str, Any]) -> bool:
    """Mark the approval as escalated to ``level``."""
    container().approvals_deps.service.escalated(str(payload["instance_id"]), int(payload["level"]))
    return True


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_EXPIRE)
def approval_expire(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply the final decision (default deny) if nobody decided in time; audited."""
    record = container().approvals_deps.service.expire(
        str(payload["instance_id"]), now=datetime.fromisoformat(str(payload["now"]))
    )
    return _state(record)


@bp.activity_trigger(input_name="payload", activity=ACTIVITY_CLOSE)
def approval_close(payload: dict[str, Any]) -> dict[str, Any]:
    """The gate's ``GateResult``, with the outcome audited once."""
    return container().approvals_deps.service.close(str(payload["instance_id"]))


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------
def _request(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(
        method=req.method,
        url=req.url,
        headers=dict(req.headers.items()),
        body=req.get_body() or b"",
        query=dict(req.params.items()),
    )


def _response(result: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(
        body=result.body,
        status_code=result.status,
        headers=result.all_headers(),
        mimetype=result.content_type.split(";")[0],
        charset="utf-8",
    )


def _signal(client: Any) -> Any:
    async def signal(instance_id: str, name: str, payload: dict[str, Any]) -> None:
        await client.raise_event(instance_id, name, payload)

    return signal


def _status(client: Any) -> Any:
    async def status(instance_id: str) -> dict[str, Any] | None:
        found = await client.get_status(instance_id)
        if not found or not getattr(found, "runtime_status", None):
            return None
        runtime = found.runtime_status
        return {"runtime_status": str(getattr(runtime, "value", runtime)), "custom_status": found.custom_status}

    return status


async def _run(route: str, req: func.HttpRequest, client: Any = None) -> func.HttpResponse:
    result = await dispatch(
        container().approvals_deps,
        route,
        _request(req),
        params=dict(req.route_params.items()),
        signal=_signal(client) if client is not None else None,
        status=_status(client) if client is not None else None,
    )
    return _response(result)


@bp.route(route="approvals", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def approvals_list(req: func.HttpRequest) -> func.HttpResponse:
    """Pending approvals (approver role)."""
    return await _run("list", req)


@bp.route(route="approvals/page", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def approvals_page(req: func.HttpRequest) -> func.HttpResponse:
    """The approval page."""
    return await _run("page", req)


@bp.route(route="approvals/page/decide", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approvals_page_decide(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The approval page's form post (CSRF token + Origin check)."""
    return await _run("page_decide", req, client)


@bp.route(route="approvals/link", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approvals_link(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One-click links: GET confirms, POST decides."""
    return await _run("link", req, client)


@bp.route(route="approvals/{incident_id}/{step_id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def approvals_show(req: func.HttpRequest) -> func.HttpResponse:
    """One approval with its evidence."""
    return await _run("show", req)


@bp.route(route="approvals/{incident_id}/{step_id}/decision", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approvals_decide(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Approve or reject a step (JSON)."""
    return await _run("decide", req, client)


@bp.route(route="incidents/{incident_id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def approvals_incident(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """An incident: evidence, proposed steps, blast radius, approvals and orchestration status."""
    return await _run("incident", req, client)


__all__ = ["bp"]
