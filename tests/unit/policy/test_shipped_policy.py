"""The shipped policy.yaml is valid and safe: nothing disruptive happens without a person."""

from __future__ import annotations

import pytest

from shared.finding import Severity
from shared.policy import Policy, plan_response
from shared.policy.cli import validate_command
from shared.response.steps import ActionKind, ApprovalRequirement

from .conftest import ACCOUNT, DEPLOYMENT, NOW, SHIPPED_POLICY, finding


def test_shipped_policy_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(SHIPPED_POLICY) == 0
    assert capsys.readouterr().out.strip() == "policy.yaml: OK (8 rules, 7 playbooks)"


def test_every_disruptive_step_of_the_shipped_policy_needs_approval(shipped: Policy) -> None:
    for name, playbook in shipped.playbooks.items():
        for step in playbook.steps:
            if step.action.disruptive:
                assert step.effective_approval is not ApprovalRequirement.AUTOMATIC, (name, step.action)


def test_shipped_policy_denies_on_timeout_and_guards_emergency_rotation(shipped: Policy) -> None:
    assert shipped.approvals.final_decision == "deny"
    assert shipped.keys.emergency_rotation_requires_approval is True
    assert shipped.keys.credential_theft_rotates_both is False
    assert shipped.guards.allow_delete_last_deployment is False
    assert shipped.dry_run is False


def test_shipped_policy_honours_the_protected_tag(shipped: Policy) -> None:
    assert shipped.protected.tags == {"warden-protected": "true"}
    plan = plan_response(
        shipped,
        finding("defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt", category="jailbreak"),
        {"warden-protected": "true"},
        now=NOW,
    )
    assert [s.action for s in plan.steps] == [ActionKind.NOTIFY_OWNERS]
    assert plan.protected


def test_shipped_policy_points_editors_at_the_committed_schema() -> None:
    first_line = SHIPPED_POLICY.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./shared/policy/policy.schema.json"
    assert (SHIPPED_POLICY.parent / "shared/policy/policy.schema.json").is_file()


@pytest.mark.parametrize(
    ("kind", "category", "rule", "actions"),
    [
        (
            "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
            "jailbreak",
            "prompt-attacks",
            ["switch_rai_policy", "tag_resource", "notify_owners"],
        ),
        ("defender:AI.Azure_ASCIISmuggling", "prompt_injection", "prompt-attacks", None),
        ("defender:AI.Azure_CredentialTheftAttempt", "credential_theft", "credential-theft", None),
        ("key:leaked", None, "leaked-key", ["rotate_key_emergency", "notify_owners"]),
        ("defender:AI.Azure_AccessFromAnonymizedIP", "suspicious_access", "hostile-network-access", None),
        ("defender:AI.Azure_MaliciousUrl.UserPrompt", "malicious_url", "hostile-network-access", None),
        ("defender:AI.Azure_DOWVolumeAnomaly", "wallet_abuse", "wallet-abuse", None),
        ("anomaly:token_spike", None, "usage-spikes", ["notify_owners", "switch_rai_policy"]),
        ("anomaly:request_spike", None, "usage-spikes", None),
        ("key:age_exceeded", None, "key-age", ["rotate_key_scheduled", "notify_owners"]),
        ("key:near_expiry", None, "key-age", None),
        ("posture:public_network_open", None, "posture", ["notify_owners"]),
        ("model:unapproved_deployment", None, "models.on_unapproved", ["delete_deployment", "notify_owners"]),
        ("defender:AI.Azure_LLMReconnaissance", "reconnaissance", "default_playbook", ["notify_owners"]),
        ("anomaly:new_caller_ip", None, "default_playbook", ["notify_owners"]),
    ],
)
def test_shipped_policy_routes_each_kind_of_finding(
    shipped: Policy, kind: str, category: str | None, rule: str, actions: list[str] | None
) -> None:
    plan = plan_response(shipped, finding(kind, category=category, severity=Severity.HIGH), {}, now=NOW)
    assert plan.rule == rule
    if actions is not None:
        assert [s.action.value for s in plan.steps] == actions


def test_scheduled_rotation_in_the_shipped_policy_runs_without_approval(shipped: Policy) -> None:
    plan = plan_response(shipped, finding("key:age_exceeded", resource=ACCOUNT), {}, now=NOW)
    assert not plan.needs_approval
    assert str(plan.steps[0].target) == ACCOUNT


def test_jailbreak_plan_in_the_shipped_policy_waits_for_an_approver(shipped: Policy) -> None:
    plan = plan_response(
        shipped,
        finding("defender:AI.Azure_Jailbreak.ContentFiltering.DetectedAttempt", category="jailbreak"),
        {},
        now=NOW,
    )
    switch = plan.steps[0]
    assert switch.id == "s1-switch-rai-policy"
    assert str(switch.target) == DEPLOYMENT
    assert switch.parameters == {"rai_policy": "warden-strict"}
    assert switch.approval is ApprovalRequirement.ONE_APPROVER
