"""Approvals glue: the ``approval_gate`` sub-orchestrator, its activities, the HTTP API and page.

Glue only. The gate's body is ``shared.orchestrations.approval_gate`` and its contract
``shared.contracts.approval`` (every gated step, key rotations included, asks through it); the
activities are ``shared.usecases.approvals``; every HTTP route calls
``shared.usecases.approvals_http.dispatch``. Routes are anonymous at the Functions level: App
Service Authentication fronts ``/api/*``, and every route validates ``X-MS-CLIENT-PRINCIPAL``
itself.

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

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.bootstrap import container
from shared.contracts import approval as contract
from shared.orchestrations.approval_gate import approval_gate as gate_body
from shared.usecases.approvals import (
    check_approval,
    close_approval,
    escalate_approval,
    expire_approval,
    notify_approvers,
    open_approval,
)
from shared.usecases.approvals_http import ApiRequest, ApiResponse, dispatch

bp = df.Blueprint()


# --------------------------------------------------------------------------------------------
# Orchestrator and activities
# --------------------------------------------------------------------------------------------
@bp.orchestration_trigger(context_name="context", orchestration=contract.GATE_ORCHESTRATOR)
def approval_gate(context: df.DurableOrchestrationContext) -> Any:
    """Wait for a human decision on one step."""
    return (yield from gate_body(context))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_OPEN)
def approval_open(payload: dict[str, Any]) -> dict[str, Any]:
    """Record the pending approval (idempotent). Needs Table Storage (audit, WardenApprovals)."""
    opened = open_approval(container().approvals_deps, contract.OpenApprovalRequest.model_validate(payload))
    return opened.model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_NOTIFY)
def approval_notify(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Tell the approvers (Event Grid CloudEvent + Teams card); retried, recorded, never raises."""
    return notify_approvers(container().approvals_deps, contract.NotifyApproversRequest.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_CHECK)
def approval_check(payload: dict[str, Any]) -> dict[str, Any]:
    """The approval's status and decision count, read from the store (the truth)."""
    return check_approval(container().approvals_deps, contract.ApprovalRef.model_validate(payload)).model_dump(
        mode="json"
    )


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_ESCALATE)
def approval_escalate(payload: dict[str, Any]) -> bool:
    """Mark the approval as escalated to the next level."""
    return escalate_approval(container().approvals_deps, contract.EscalateApprovalRequest.model_validate(payload))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_EXPIRE)
def approval_expire(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply the final decision (default deny) if nobody decided in time; audited."""
    return expire_approval(
        container().approvals_deps, contract.ExpireApprovalRequest.model_validate(payload)
    ).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_CLOSE)
def approval_close(payload: dict[str, Any]) -> dict[str, Any]:
    """The gate's ``ApprovalOutcome``, with the outcome audited once."""
    return close_approval(container().approvals_deps, contract.ApprovalRef.model_validate(payload)).model_dump(
        mode="json"
    )


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


async def _run(route: str, req: func.HttpRequest, client: Any = None) -> func.HttpResponse:
    c = container()
    result = await dispatch(
        c.approvals_deps,
        route,
        _request(req),
        params=dict(req.route_params.items()),
        orchestrations=c.orchestrations(client) if client is not None else None,
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
