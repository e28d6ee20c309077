"""The approvals HTTP API over devhost: principal validation, roles, separation of duties,
double decisions, forged identities in bodies, cross-origin posts."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from devhost.server import DevHostThread
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import XSS, headers_for
from tests.functional.approvals.conftest import seed

STEP = "s1-switch-rai-policy"


def url(host: DevHostThread, path: str) -> str:
    return f"{host.url}/api/{path}"


def decide(host: DevHostThread, user: str, decision: str = "approve", incident: str = "inc-1", **extra: Any) -> Any:
    body = {"decision": decision, "justification": "evidence reviewed", **extra}
    return requests.post(
        url(host, f"approvals/{incident}/{STEP}/decision"), json=body, headers=headers_for(user), timeout=30
    )


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        (None, "missing"),
        ("%%%not-base64%%%", "not valid base64"),
        (_b64("{not json"), "does not decode to JSON"),
        (_b64("[1, 2]"), "JSON object"),
        (_b64(json.dumps({"auth_typ": "aad", "claims": []})), "no claims"),
        (_b64(json.dumps({"auth_typ": "aad", "claims": [{"typ": "name", "val": "x"}]})), "names no user"),
        (_b64(json.dumps({"auth_typ": "aad", "claims": [{"typ": 1}]})), "claims[0]"),
    ],
)
def test_missing_or_malformed_principals_get_401_with_a_clear_error(
    warden: DevHostThread, deps: ApprovalsDeps, header: str | None, phrase: str
) -> None:
    headers = {"X-MS-CLIENT-PRINCIPAL": header} if header is not None else {}
    response = requests.get(url(warden, "approvals"), headers=headers, timeout=30)
    assert response.status_code == 401
    assert phrase in response.json()["error"]["message"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_user_without_the_approver_role_gets_403(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    response = requests.get(url(warden, "approvals"), headers=headers_for("eve@contoso.com", roles=()), timeout=30)
    assert response.status_code == 403 and "Warden.Approver" in response.json()["error"]["message"]
    refused = requests.post(
        url(warden, f"approvals/inc-1/{STEP}/decision"),
        json={"decision": "approve", "justification": "x"},
        headers=headers_for("eve@contoso.com", roles=("Reader",)),
        timeout=30,
    )
    assert refused.status_code == 403
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()


def test_group_membership_configured_as_the_approver_role_is_accepted(
    warden: DevHostThread, deps: ApprovalsDeps
) -> None:
    seed(deps)
    deps.approver_role = deps.service.approver_role = "7f1c0000-0000-0000-0000-00000000abcd"
    headers = headers_for("gina@contoso.com", roles=(), groups=("7f1c0000-0000-0000-0000-00000000ABCD",))
    assert requests.get(url(warden, "approvals"), headers=headers, timeout=30).status_code == 200


def test_approvers_list_pending_steps_and_see_an_incident(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps, evidence={"alert": XSS, "prompts_blocked": 12})
    listed = requests.get(url(warden, "approvals"), headers=headers_for(), timeout=30).json()["approvals"]
    assert [(a["incident_id"], a["step_id"], a["status"]) for a in listed] == [("inc-1", STEP, "pending")]
    incident = requests.get(url(warden, "incidents/inc-1"), headers=headers_for(), timeout=30)
    assert incident.status_code == 200
    body = incident.json()
    assert body["evidence"]["prompts_blocked"] == 12
    assert body["proposed_steps"][0]["action"] == "switch_rai_policy"
    assert body["blast_radius"] == [body["proposed_steps"][0]["target"]]
    assert requests.get(url(warden, "incidents/nope"), headers=headers_for(), timeout=30).status_code == 404
    one = requests.get(url(warden, f"approvals/inc-1/{STEP}"), headers=headers_for(), timeout=30)
    assert one.status_code == 200 and one.json()["requirement"] == "one_approver"


def test_a_decision_is_recorded_with_the_principal_and_a_second_one_gets_409(
    warden: DevHostThread, deps: ApprovalsDeps
) -> None:
    seed(deps)
    first = decide(warden, "alice@contoso.com")
    assert first.status_code == 200
    assert first.json()["decision"]["approver_id"] == "oid-alice@contoso.com"
    second = decide(warden, "bob@contoso.com", "reject")
    assert second.status_code == 409
    assert "already approved" in second.json()["error"]["message"]
    audit = deps.service.audit.records(incident_id="inc-1")
    decision = next(r for r in audit if r.action == "approval.approve")
    assert decision.details["approver_id"] == "oid-alice@contoso.com" and decision.reason == "evidence reviewed"


def test_approver_fields_in_the_body_are_refused_never_trusted(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    response = decide(warden, "alice@contoso.com", approver_id="ceo@contoso.com")
    assert response.status_code == 400 and response.json()["error"]["code"] == "identity_in_body"
    assert deps.service.get_record(f"inc-1:approval:{STEP}").decisions == ()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"decision": "maybe", "justification": "x"}, "bad_decision"),
        ({"decision": "approve", "justification": "  "}, "justification_required"),
        ({"decision": "approve"}, "justification_required"),
        ({"decision": "approve", "justification": "x", "extra": 1}, "unknown_field"),
    ],
)
def test_bad_decision_bodies_get_400(
    warden: DevHostThread, deps: ApprovalsDeps, body: dict[str, Any], code: str
) -> None:
    seed(deps)
    response = requests.post(
        url(warden, f"approvals/inc-1/{STEP}/decision"), json=body, headers=headers_for(), timeout=30
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_decisions_must_be_json_and_same_origin(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps)
    form = requests.post(
        url(warden, f"approvals/inc-1/{STEP}/decision"),
        data={"decision": "approve", "justification": "x"},
        headers=headers_for(),
        timeout=30,
    )
    assert form.status_code == 415
    cross = requests.post(
        url(warden, f"approvals/inc-1/{STEP}/decision"),
        json={"decision": "approve", "justification": "x"},
        headers={**headers_for(), "Origin": "https://evil.example"},
        timeout=30,
    )
    assert cross.status_code == 403 and "Origin" in cross.json()["error"]["message"]


def test_the_resource_owner_cannot_be_the_only_approver(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps, owners=["olivia@contoso.com"])
    owner = decide(warden, "olivia@contoso.com")
    assert owner.status_code == 200 and owner.json()["status"] == "pending"  # counted, but not alone
    assert decide(warden, "olivia@contoso.com").status_code == 409
    other = decide(warden, "alice@contoso.com")
    assert other.status_code == 200 and other.json()["status"] == "approved"


def test_the_owner_or_the_causer_may_not_reject(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    seed(deps, owners=["olivia@contoso.com"], causer="mallory@contoso.com")
    owner = decide(warden, "olivia@contoso.com", "reject")
    causer = decide(warden, "mallory@contoso.com", "reject")
    assert owner.status_code == 403 and "own the resource" in owner.json()["error"]["message"]
    assert causer.status_code == 403 and "caused the finding" in causer.json()["error"]["message"]


def test_unknown_steps_get_404(warden: DevHostThread, deps: ApprovalsDeps) -> None:
    assert decide(warden, "alice@contoso.com", incident="inc-404").status_code == 404
