"""Shared helpers for the approvals tests: principals, requests, an in-memory dependency bundle."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from shared.azure.durable import DurableOrchestrations
from shared.contracts.approval import ApprovalRequest
from shared.policy.schema import ApprovalPolicy
from shared.ports.stores import AuditStore
from shared.resource_ids import AccountId
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep
from shared.storage.memory import MemoryApprovalStore, MemoryAuditStore, MemoryIdempotencyStore
from shared.usecases.approvals import ApprovalsDeps, ApprovalService
from shared.usecases.approvals_http import ApiRequest, ApiResponse, dispatch
from tests.fakes import FakeChannel

SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNT = AccountId(SUB, "rg-ai", "contoso-openai")
DEPLOYMENT = ACCOUNT.deployment("gpt-4o")
LINK_KEY = b"test-link-signing-key-0123456789"
ROLE = "Warden.Approver"
XSS = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'


def principal_header(
    user: str = "alice@contoso.com",
    *,
    oid: str | None = None,
    name: str | None = None,
    roles: tuple[str, ...] = (ROLE,),
    groups: tuple[str, ...] = (),
) -> str:
    claims = [
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": oid or f"oid-{user}"},
        {"typ": "preferred_username", "val": user},
        {"typ": "name", "val": name or user.split("@", maxsplit=1)[0].title()},
    ]
    claims += [{"typ": "roles", "val": r} for r in roles]
    claims += [{"typ": "groups", "val": g} for g in groups]
    body = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return base64.b64encode(json.dumps(body).encode()).decode()


def headers_for(user: str = "alice@contoso.com", **kwargs: Any) -> dict[str, str]:
    return {"X-MS-CLIENT-PRINCIPAL": principal_header(user, **kwargs)}


def step(step_id: str = "s1-switch-rai-policy", reason: str = "playbook contain-prompt-attack step 1") -> ResponseStep:
    return ResponseStep(
        id=step_id,
        action=ActionKind.SWITCH_RAI_POLICY,
        target=DEPLOYMENT,
        parameters={"rai_policy": "warden-strict"},
        approval=ApprovalRequirement.ONE_APPROVER,
        reason=reason,
    )


def gate_request(
    incident_id: str = "inc-1",
    *,
    requirement: str = "one_approver",
    timeout_seconds: int = 4 * 3600,
    escalation: list[dict[str, Any]] | None = None,
    owners: list[str] | None = None,
    explanation: str = "rule `prompt-attacks` matched; a jailbreak was blocked",
    step_id: str = "s1-switch-rai-policy",
    **extra: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "incident_id": incident_id,
        "step": step(step_id).model_dump(mode="json"),
        "requirement": requirement,
        "timeout_seconds": timeout_seconds,
        "escalation": escalation if escalation is not None else [],
        "final_decision": "deny",
        "owners": owners or ["owner@contoso.com"],
        "explanation": explanation,
    }
    payload.update(extra)
    ApprovalRequest.model_validate(payload)
    return payload


def memory_deps(
    *,
    clock: Any = None,
    channels: list[Any] | None = None,
    policy: ApprovalPolicy | None = None,
    audit: AuditStore | None = None,
) -> ApprovalsDeps:
    now = clock or (lambda: datetime.now(UTC))
    service = ApprovalService(
        store=MemoryApprovalStore(),
        audit=audit if audit is not None else MemoryAuditStore(),
        approver_role=ROLE,
        policy=policy,
        clock=now,
    )
    return ApprovalsDeps(
        service=service,
        idempotency=MemoryIdempotencyStore(),
        channels=channels if channels is not None else [FakeChannel()],
        link_key=LINK_KEY,
        base_url="https://warden.example.net",
        approver_role=ROLE,
        notify_backoff=0.0,
        clock=now,
        csrf_key=LINK_KEY,
    )


async def decide_via_api(
    deps: ApprovalsDeps,
    client: Any,
    incident_id: str,
    step_id: str,
    *,
    user: str = "alice@contoso.com",
    decision: str = "approve",
    justification: str | None = None,
) -> ApiResponse:
    """``POST /api/approvals/{incident}/{step}/decision`` as ``user`` (an approver), through the
    approvals API with the real Durable client behind ``DurableOrchestrations`` (its events reach
    the gate as JSON text, SDK #295)."""
    body = json.dumps({"decision": decision, "justification": justification or f"{user} checked the evidence"})
    request = ApiRequest(
        "POST",
        f"http://127.0.0.1/api/approvals/{incident_id}/{step_id}/decision",
        {**headers_for(user), "Content-Type": "application/json"},
        body.encode(),
    )
    params = {"incident_id": incident_id, "step_id": step_id}
    return await dispatch(deps, "decide", request, params=params, orchestrations=DurableOrchestrations(client))
