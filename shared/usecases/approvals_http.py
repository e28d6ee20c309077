"""The approvals HTTP API and page, independent of ``azure.functions`` (``handlers/approvals.py``
adapts requests and responses; ``dispatch`` is its one entry point). Documented in
``docs/openapi.yaml``.

Every route validates the App Service Authentication principal itself (401 when missing or
malformed), requires the approver role (403), and answers with the page's security headers.
Decisions are POST-only: JSON for the API (``Content-Type: application/json`` — a cross-site form
cannot send it without a CORS preflight, which the app never grants), forms with a CSRF token
bound to the principal for the page and the one-click links, plus an ``Origin`` /
``Sec-Fetch-Site`` check. Identity never comes from a body: approver fields there are refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.approvals import page
from shared.approvals.links import LinkError, verify_link
from shared.approvals.principal import Principal, PrincipalError, parse_principal
from shared.approvals.records import ApprovalRecord, RecordedDecision
from shared.approvals.rules import DecisionRefusedError, require_approver
from shared.contracts.approval import decision_event_name
from shared.ports.durable import Orchestrations
from shared.ports.stores import AlreadyCompletedError, AlreadyInProgressError
from shared.usecases.approvals import ApprovalsDeps, NotFoundError

__all__ = ["ApiRequest", "ApiResponse", "dispatch"]

_log = logging.getLogger("warden.approvals.api")
MAX_BODY = 16_384
PAGE_PATH = "/api/approvals/page"
PAGE_DECIDE_PATH = "/api/approvals/page/decide"
LINK_PATH = "/api/approvals/link"
_DECISION_FIELDS = {"decision", "justification"}
_LINK_TTL_AFTER_USE = 30 * 86_400


@dataclass(frozen=True)
class ApiRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class ApiResponse:
    status: int
    body: str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        return page.headers(self.headers)


def _json(status: int, body: Any) -> ApiResponse:
    return ApiResponse(status, json.dumps(body, default=str))


def _error(status: int, code: str, message: str) -> ApiResponse:
    extra = {"WWW-Authenticate": 'EasyAuth realm="warden"'} if status == 401 else {}
    return ApiResponse(status, json.dumps({"error": {"code": code, "message": message}}), headers=extra)


def _html(status: int, text: str) -> ApiResponse:
    return ApiResponse(status, text, content_type="text/html; charset=utf-8")


# -- authentication --------------------------------------------------------------------------
def _principal(request: ApiRequest) -> Principal | ApiResponse:
    try:
        return parse_principal(request.headers)
    except PrincipalError as exc:
        return _error(401, "unauthenticated", str(exc))


def _approver(deps: ApprovalsDeps, request: ApiRequest) -> Principal | ApiResponse:
    principal = _principal(request)
    if isinstance(principal, ApiResponse):
        return principal
    try:
        require_approver(principal, deps.approver_role)
    except DecisionRefusedError as exc:
        return _error(exc.status, "forbidden", exc.message)
    return principal


def _same_origin(deps: ApprovalsDeps, request: ApiRequest) -> str | None:
    """Why a state-changing browser request is cross-site, or ``None`` if it is not."""
    site = request.header("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = request.header("Origin")
    if origin is None:
        return None
    parts = urlsplit(request.url)
    allowed = {f"{parts.scheme}://{parts.netloc}".lower()}
    host = request.header("Host")
    if host:
        allowed |= {f"https://{host}".lower(), f"http://{host}".lower()}
    if deps.base_url:
        allowed.add(deps.base_url.rstrip("/").lower())
    if origin.lower() not in allowed:
        return "cross-origin request refused (the Origin header names another site)"
    return None


# -- JSON API ----------------------------------------------------------------------------------
async def list_pending(deps: ApprovalsDeps, request: ApiRequest) -> ApiResponse:
    principal = _approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    records = deps.service.pending(principal)
    return _json(200, {"approvals": [r.summary() for r in records]})


async def show_step(deps: ApprovalsDeps, request: ApiRequest, incident_id: str, step_id: str) -> ApiResponse:
    principal = _approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    try:
        record = deps.service.show(principal, incident_id, step_id)
    except NotFoundError as exc:
        return _error(404, "not_found", str(exc))
    return _json(200, record.public())


async def show_incident(
    deps: ApprovalsDeps, request: ApiRequest, incident_id: str, orchestrations: Orchestrations | None
) -> ApiResponse:
    principal = _approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    records = deps.service.for_incident(principal, incident_id)
    runtime: dict[str, Any] | None = None
    if orchestrations is not None:
        try:
            found = await orchestrations.status(incident_id)
        except Exception as exc:  # the orchestration may be gone; the records still answer
            _log.warning("no orchestration status for incident %s: %s", incident_id, type(exc).__name__)
            found = None
        if found is not None:
            runtime = {"runtime_status": found.runtime_status, "custom_status": found.custom_status}
    if not records and runtime is None:
        return _error(404, "not_found", f"no incident {incident_id!r} (no approvals and no orchestration)")
    evidence = next((r.evidence for r in records if r.evidence), {})
    return _json(
        200,
        {
            "incident_id": incident_id,
            "runtime_status": (runtime or {}).get("runtime_status"),
            "custom_status": (runtime or {}).get("custom_status"),
            "evidence": evidence,
            "explanation": next((r.explanation for r in records if r.explanation), ""),
            "proposed_steps": [r.step.model_dump(mode="json") for r in records],
            "blast_radius": sorted({str(r.step.target) for r in records}),
            "approvals": [r.public() for r in records],
        },
    )


def _read_decision(body: bytes) -> tuple[bool, str] | ApiResponse:
    if len(body) > MAX_BODY:
        return _error(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return _error(400, "bad_json", 'the body is not JSON; send {"decision": "approve", "justification": "..."}')
    if not isinstance(payload, dict):
        return _error(400, "bad_body", "the body must be a JSON object with decision and justification")
    unknown = sorted(set(payload) - _DECISION_FIELDS)
    if unknown:
        identity = [k for k in unknown if "approver" in k.lower() or k.lower() in {"user", "principal", "by"}]
        if identity:
            return _error(
                400,
                "identity_in_body",
                f"field(s) {', '.join(identity)} refused: the approver is always the signed-in user",
            )
        return _error(400, "unknown_field", f"unknown field(s) {', '.join(unknown)}; expected decision, justification")
    decision = payload.get("decision")
    if decision not in ("approve", "reject"):
        return _error(400, "bad_decision", f"decision must be 'approve' or 'reject', got {decision!r}"[:300])
    justification = payload.get("justification")
    if not isinstance(justification, str) or not justification.strip():
        return _error(400, "justification_required", "justification is required: say why you approve or reject")
    if len(justification) > 2000:
        return _error(400, "justification_too_long", "justification is longer than 2000 characters")
    return decision == "approve", justification


async def _decide(
    deps: ApprovalsDeps,
    principal: Principal,
    *,
    incident_id: str,
    step_id: str,
    approve: bool,
    justification: str,
    channel: str,
    orchestrations: Orchestrations | None,
) -> tuple[ApprovalRecord, RecordedDecision]:
    record, decision = deps.service.decide(
        principal,
        incident_id=incident_id,
        step_id=step_id,
        approve=approve,
        justification=justification,
        channel=channel,
    )
    if orchestrations is not None:
        try:
            await orchestrations.raise_event(
                record.instance_id,
                decision_event_name(decision.index),
                {"decision_id": decision.decision_id, "index": decision.index},
            )
        except Exception as exc:  # recorded anyway; the gate reads the record at its next timer
            _log.warning("could not signal %s: %s", record.instance_id, type(exc).__name__)
    return record, decision


def _decision_body(record: ApprovalRecord, decision: RecordedDecision) -> dict[str, Any]:
    return {
        "status": record.status.value,
        "decision": {
            "decision_id": decision.decision_id,
            "approved": decision.approved,
            "approver_id": decision.approver_id,
            "approver_name": decision.approver_name,
            "decided_at": decision.decided_at.isoformat(),
            "justification": decision.justification,
            "channel": decision.channel,
        },
        "approvals": sum(1 for d in record.decisions if d.approved),
        "approvals_needed": record.approvals_needed,
    }


async def decide_json(
    deps: ApprovalsDeps,
    request: ApiRequest,
    incident_id: str,
    step_id: str,
    orchestrations: Orchestrations | None,
    *,
    channel: str = "api",
) -> ApiResponse:
    principal = _approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _error(415, "unsupported_media_type", "send the decision as application/json")
    cross = _same_origin(deps, request)
    if cross:
        return _error(403, "cross_origin", cross)
    parsed = _read_decision(request.body)
    if isinstance(parsed, ApiResponse):
        return parsed
    approve, justification = parsed
    via = request.header("X-Warden-Channel") or channel
    try:
        record, decision = await _decide(
            deps,
            principal,
            incident_id=incident_id,
            step_id=step_id,
            approve=approve,
            justification=justification,
            channel="cli" if via == "cli" else "api",
            orchestrations=orchestrations,
        )
    except NotFoundError as exc:
        return _error(404, "not_found", str(exc))
    except DecisionRefusedError as exc:
        return _error(exc.status, "already_decided" if exc.status == 409 else "forbidden", exc.message)
    except ValueError as exc:
        return _error(400, "bad_decision", str(exc))
    return _json(200, _decision_body(record, decision))


# -- the page ----------------------------------------------------------------------------------
def _page_principal(request: ApiRequest) -> Principal | ApiResponse:
    principal = _principal(request)
    if isinstance(principal, ApiResponse):
        message = json.loads(principal.body)["error"]["message"]
        return _html(401, page.render_message("Warden: sign in", message))
    return principal


def _page_approver(deps: ApprovalsDeps, request: ApiRequest) -> Principal | ApiResponse:
    """The signed-in approver, or the page that says why not (401 sign in, 403 not an approver)."""
    principal = _page_principal(request)
    if isinstance(principal, ApiResponse):
        return principal
    try:
        require_approver(principal, deps.approver_role)
    except DecisionRefusedError as exc:
        return _html(403, page.render_forbidden(principal, exc.message))
    return principal


async def page_get(deps: ApprovalsDeps, request: ApiRequest, message: str = "", status: int = 200) -> ApiResponse:
    principal = _page_approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    csrf = page.csrf_token(deps.csrf_key, principal, now=deps.clock())
    records = deps.service.pending(principal)
    return _html(status, page.render_list(principal, records, csrf=csrf, action=PAGE_DECIDE_PATH, message=message))


def _form(request: ApiRequest) -> dict[str, str] | None:
    if len(request.body) > MAX_BODY:
        return None
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in parsed.items() if v}


def _form_guard(deps: ApprovalsDeps, request: ApiRequest, principal: Principal) -> tuple[dict[str, str] | None, str]:
    form = _form(request)
    if form is None:
        return None, "send the form as application/x-www-form-urlencoded (at most 16 KB)"
    cross = _same_origin(deps, request)
    if cross:
        return None, cross
    if not page.check_csrf(deps.csrf_key, principal, form.get("csrf", ""), now=deps.clock()):
        return None, "the form's security token is missing or stale; reload the page and try again"
    return form, ""


async def page_post(deps: ApprovalsDeps, request: ApiRequest, orchestrations: Orchestrations | None) -> ApiResponse:
    principal = _page_approver(deps, request)
    if isinstance(principal, ApiResponse):
        return principal
    form, problem = _form_guard(deps, request, principal)
    if form is None:
        return _html(403, page.render_forbidden(principal, problem))
    decision = form.get("decision")
    if decision not in ("approve", "reject"):
        return await page_get(deps, request, "choose Approve or Reject", 400)
    try:
        record, recorded = await _decide(
            deps,
            principal,
            incident_id=form.get("incident_id", ""),
            step_id=form.get("step_id", ""),
            approve=decision == "approve",
            justification=form.get("justification", ""),
            channel="page",
            orchestrations=orchestrations,
        )
    except NotFoundError as exc:
        return await page_get(deps, request, str(exc), 404)
    except DecisionRefusedError as exc:
        return await page_get(deps, request, exc.message, exc.status)
    except ValueError as exc:
        return await page_get(deps, request, str(exc), 400)
    verb = "approved" if recorded.approved else "rejected"
    message = f"You {verb} step {record.step_id} of incident {record.incident_id}; it is now {record.status.value}."
    return await page_get(deps, request, message, 200)


# -- one-click links ---------------------------------------------------------------------------
def _link_claims(deps: ApprovalsDeps, token: str) -> Any:
    if deps.link_key is None:
        raise LinkError(404, "one-click links are not enabled (WARDEN_LINK_SIGNING_KEY is not set)")
    return verify_link(deps.link_key, token, now=deps.clock())


async def link_get(deps: ApprovalsDeps, request: ApiRequest) -> ApiResponse:
    """Show what the link would do; never decides (link scanners follow GETs)."""
    principal = _page_principal(request)
    if isinstance(principal, ApiResponse):
        return principal
    token = request.query.get("token", "")
    try:
        claims = _link_claims(deps, token)
        require_approver(principal, deps.approver_role)
        if not principal.matches(claims.approver):
            raise DecisionRefusedError(403, f"this link was issued to {claims.approver}, not to you ({principal.id})")
        record = deps.service.show(principal, claims.incident_id, claims.step_id)
    except LinkError as exc:
        return _html(exc.status, page.render_forbidden(principal, exc.message))
    except DecisionRefusedError as exc:
        return _html(exc.status, page.render_forbidden(principal, exc.message))
    except NotFoundError as exc:
        return _html(404, page.render_forbidden(principal, str(exc)))
    csrf = page.csrf_token(deps.csrf_key, principal, now=deps.clock())
    return _html(200, page.render_confirm(principal, record, claims, csrf=csrf, token=token, action=LINK_PATH))


async def link_post(deps: ApprovalsDeps, request: ApiRequest, orchestrations: Orchestrations | None) -> ApiResponse:
    principal = _page_principal(request)
    if isinstance(principal, ApiResponse):
        return principal
    form, problem = _form_guard(deps, request, principal)
    if form is None:
        return _html(403, page.render_forbidden(principal, problem))
    try:
        claims = _link_claims(deps, form.get("token", ""))
        require_approver(principal, deps.approver_role)
        if not principal.matches(claims.approver):
            raise DecisionRefusedError(403, f"this link was issued to {claims.approver}, not to you ({principal.id})")
        now = deps.clock()
        try:
            deps.idempotency.begin(claims.use_key, now=now, lease_seconds=_LINK_TTL_AFTER_USE)
        except (AlreadyCompletedError, AlreadyInProgressError):
            raise DecisionRefusedError(
                409, "this link was already used; open the approval page to see the step"
            ) from None
        try:
            record, recorded = await _decide(
                deps,
                principal,
                incident_id=claims.incident_id,
                step_id=claims.step_id,
                approve=claims.approve,
                justification=form.get("justification", ""),
                channel="link",
                orchestrations=orchestrations,
            )
        except Exception:
            deps.idempotency.release(claims.use_key)  # a refused or failed decision must not burn the link
            raise
        deps.idempotency.complete(
            claims.use_key, {"decision_id": recorded.decision_id}, now=now, ttl_seconds=_LINK_TTL_AFTER_USE
        )
    except LinkError as exc:
        return _html(exc.status, page.render_forbidden(principal, exc.message))
    except DecisionRefusedError as exc:
        return _html(exc.status, page.render_forbidden(principal, exc.message))
    except NotFoundError as exc:
        return _html(404, page.render_forbidden(principal, str(exc)))
    except ValueError as exc:
        return _html(400, page.render_forbidden(principal, str(exc)))
    verb = "approved" if recorded.approved else "rejected"
    text = f"You {verb} step {record.step_id} of incident {record.incident_id}; it is now {record.status.value}."
    return _html(200, page.render_message("Warden: decision recorded", text, principal=principal, back=PAGE_PATH))


async def dispatch(
    deps: ApprovalsDeps,
    route: str,
    request: ApiRequest,
    *,
    params: Mapping[str, str] | None = None,
    orchestrations: Orchestrations | None = None,
) -> ApiResponse:
    """Run one route by name (the handlers' single entry point); unexpected errors become 500.

    ``orchestrations`` (the Durable client) wakes the gate after a decision and reads an
    incident's status; routes that only read records need none."""
    p = dict(params or {})
    try:
        if route == "list":
            return await list_pending(deps, request)
        if route == "show":
            return await show_step(deps, request, p["incident_id"], p["step_id"])
        if route == "incident":
            return await show_incident(deps, request, p["incident_id"], orchestrations)
        if route == "decide":
            return await decide_json(deps, request, p["incident_id"], p["step_id"], orchestrations)
        if route == "page":
            return await page_get(deps, request)
        if route == "page_decide":
            return await page_post(deps, request, orchestrations)
        if route == "link":
            return (
                await link_get(deps, request)
                if request.method.upper() == "GET"
                else await link_post(deps, request, orchestrations)
            )
    except Exception:
        _log.exception("approvals route %s failed", route)
        return _error(500, "internal", "Warden could not complete the request; it was logged")
    return _error(404, "not_found", f"no route {route!r}")
