"""Principal parsing, signed links, separation-of-duties rules."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.approvals.links import LinkError, sign_link, verify_link
from shared.approvals.principal import PrincipalError, parse_principal
from shared.approvals.records import ApprovalRecord, ApprovalStatus, RecordedDecision
from shared.approvals.rules import DecisionRefusedError, check_decision, outcome, require_approver
from shared.contracts.approval import decision_event_name, parse_approval_instance_id
from tests.approvals_support import LINK_KEY, headers_for, step

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def record(**changes: object) -> ApprovalRecord:
    base = ApprovalRecord(
        instance_id="inc-1:approval:s1-switch-rai-policy",
        incident_id="inc-1",
        step=step(),
        requirement="one_approver",
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=4),
        owners=("olivia@contoso.com",),
        causer="mallory@contoso.com",
        ineligible=("breakglass@contoso.com",),
    )
    return base.model_copy(update=changes)


def decision(user: str, *, approved: bool = True, conflicted: bool = False, index: int = 1) -> RecordedDecision:
    return RecordedDecision(
        decision_id=f"d-{user}",
        index=index,
        approved=approved,
        approver_id=f"oid-{user}",
        decided_at=NOW,
        conflicted=conflicted,
    )


# -- principal ---------------------------------------------------------------------------------
def test_a_valid_principal_yields_id_name_roles_and_aliases() -> None:
    principal = parse_principal(headers_for("alice@contoso.com", groups=("g-1",)))
    assert principal.id == "oid-alice@contoso.com" and principal.name == "Alice"
    assert principal.has_role_or_group("Warden.Approver") and principal.has_role_or_group("G-1")
    assert principal.matches("ALICE@contoso.com") and not principal.matches("bob@contoso.com")


def test_the_header_name_is_case_insensitive() -> None:
    header = headers_for()["X-MS-CLIENT-PRINCIPAL"]
    assert parse_principal({"x-ms-client-principal": header}).name == "Alice"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "!!!",
        base64.b64encode(b"\xff\xfe").decode(),
        base64.b64encode(b'"just a string"').decode(),
        base64.b64encode(json.dumps({"auth_typ": "aad", "claims": {}}).encode()).decode(),
        base64.b64encode(json.dumps({"claims": [{"typ": "oid", "val": "x"}]}).encode()).decode(),
        "A" * 20_000,
    ],
)
def test_malformed_principals_raise_a_clear_error(raw: str) -> None:
    with pytest.raises(PrincipalError, match=r"X-MS-CLIENT-PRINCIPAL|not signed in"):
        parse_principal({"X-MS-CLIENT-PRINCIPAL": raw})


def test_require_approver_refuses_without_the_role() -> None:
    with pytest.raises(DecisionRefusedError) as refused:
        require_approver(parse_principal(headers_for("eve@contoso.com", roles=("Reader",))), "Warden.Approver")
    assert refused.value.status == 403 and "Warden.Approver" in refused.value.message


# -- links -------------------------------------------------------------------------------------
def token(**changes: object) -> str:
    args: dict[str, object] = {
        "incident_id": "inc-1",
        "step_id": "s1",
        "decision": "approve",
        "approver": "alice@contoso.com",
        "expires_at": NOW + timedelta(hours=1),
    }
    args.update(changes)
    return sign_link(LINK_KEY, **args)  # type: ignore[arg-type]


def test_a_signed_link_round_trips_its_claims() -> None:
    claims = verify_link(LINK_KEY, token(), now=NOW)
    assert (claims.incident_id, claims.step_id, claims.decision, claims.approver) == (
        "inc-1",
        "s1",
        "approve",
        "alice@contoso.com",
    )
    assert claims.use_key.startswith("approval-link:") and claims.nonce


def test_every_link_has_its_own_nonce() -> None:
    assert token() != token()


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda t: t.replace(t.split(".")[0], t.split(".")[0][:-2] + "xx"), 403),
        (lambda t: t.split(".")[0] + "." + "A" * 43, 403),
        (lambda t: t + "." + "x", 400),
        (lambda t: "", 400),
    ],
)
def test_tampered_links_are_refused(mutate: object, status: int) -> None:
    with pytest.raises(LinkError) as refused:
        verify_link(LINK_KEY, mutate(token()), now=NOW)  # type: ignore[operator]
    assert refused.value.status == status


def test_a_link_signed_with_another_key_is_refused() -> None:
    other = sign_link(
        b"another-key-another-key-0123",
        incident_id="inc-1",
        step_id="s1",
        decision="approve",
        approver="a",
        expires_at=NOW + timedelta(hours=1),
    )
    with pytest.raises(LinkError, match="signature is invalid"):
        verify_link(LINK_KEY, other, now=NOW)


def test_an_expired_link_is_refused_with_410() -> None:
    with pytest.raises(LinkError) as refused:
        verify_link(LINK_KEY, token(expires_at=NOW), now=NOW)
    assert refused.value.status == 410 and "expired" in refused.value.message


def test_short_signing_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign_link(b"short", incident_id="i", step_id="s", decision="approve", approver="a", expires_at=NOW)


# -- rules -------------------------------------------------------------------------------------
def test_a_decided_or_expired_step_takes_no_more_decisions() -> None:
    alice = parse_principal(headers_for("alice@contoso.com"))
    with pytest.raises(DecisionRefusedError) as decided:
        check_decision(record(status=ApprovalStatus.APPROVED), alice, approve=True, now=NOW)
    assert decided.value.status == 409 and "already approved" in decided.value.message
    with pytest.raises(DecisionRefusedError) as expired:
        check_decision(record(), alice, approve=True, now=NOW + timedelta(hours=5))
    assert expired.value.status == 409 and "expired" in expired.value.message


def test_the_same_approver_cannot_decide_twice() -> None:
    alice = parse_principal(headers_for("alice@contoso.com"))
    pending = record(requirement="two_approvers", decisions=(decision("alice@contoso.com"),))
    with pytest.raises(DecisionRefusedError, match="different approver"):
        check_decision(pending, alice, approve=True, now=NOW)


def test_listed_ineligible_principals_may_not_decide() -> None:
    with pytest.raises(DecisionRefusedError) as refused:
        check_decision(record(), parse_principal(headers_for("breakglass@contoso.com")), approve=True, now=NOW)
    assert refused.value.status == 403


def test_owners_and_causers_are_conflicted_and_may_not_reject() -> None:
    owner = parse_principal(headers_for("olivia@contoso.com"))
    causer = parse_principal(headers_for("mallory@contoso.com"))
    assert check_decision(record(), owner, approve=True, now=NOW) is True
    assert check_decision(record(), causer, approve=True, now=NOW) is True
    for who in (owner, causer):
        with pytest.raises(DecisionRefusedError):
            check_decision(record(), who, approve=False, now=NOW)
    assert check_decision(record(owners_conflicted=False), owner, approve=False, now=NOW) is False


def test_outcomes() -> None:
    one = record()
    two = record(requirement="two_approvers")
    assert outcome(one, (decision("a"),)) is ApprovalStatus.APPROVED
    assert outcome(one, (decision("o", conflicted=True),)) is ApprovalStatus.PENDING
    assert outcome(one, (decision("o", conflicted=True), decision("a", index=2))) is ApprovalStatus.APPROVED
    assert outcome(two, (decision("a"),)) is ApprovalStatus.PENDING
    assert outcome(two, (decision("a"), decision("b", index=2))) is ApprovalStatus.APPROVED
    assert outcome(two, (decision("o", conflicted=True), decision("c", conflicted=True))) is ApprovalStatus.PENDING
    assert outcome(two, (decision("a"), decision("b", approved=False))) is ApprovalStatus.REJECTED


def test_event_names_are_distinct_per_decision_and_instance_ids_parse() -> None:
    assert [decision_event_name(i) for i in (1, 2, 3)] == [
        "ApprovalDecision",
        "ApprovalDecision.2",
        "ApprovalDecision.3",
    ]
    assert parse_approval_instance_id("inc:1:approval:s1") == ("inc:1", "s1")
    assert parse_approval_instance_id("inc-1") is None


def test_link_tokens_never_reach_the_logs() -> None:
    from shared.approvals.links import link_url
    from shared.observability import redact

    url = link_url("https://warden.example.net", token())
    assert token().split(".")[1] not in redact(f"notified approver with {url}")
