"""plan_response turns a matched playbook into concrete steps after every guard."""

from __future__ import annotations

import pytest

from shared.policy import Policy, is_protected, plan_response
from shared.resource_ids import AccountId
from shared.response.steps import ActionKind, ApprovalRequirement

from .conftest import ACCOUNT, DEPLOYMENT, MINIMAL, NOW, VAULT, finding, policy_from

CONTAIN = MINIMAL.replace(
    "default_playbook: notify",
    """\
  contain:
    steps:
      - action: switch_rai_policy
        rai_policy: warden-strict
      - action: tag_resource
        tags: {warden-status: contained}
      - action: rotate_key_emergency
      - action: delete_deployment
        high_risk: true
      - action: notify_owners
default_playbook: contain
""",
)


@pytest.fixture
def contain() -> Policy:
    return policy_from(CONTAIN)


def test_step_ids_are_derived_from_position_and_action(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {}, now=NOW)
    assert [s.id for s in plan.steps] == [
        "s1-switch-rai-policy",
        "s2-tag-resource",
        "s3-rotate-key-emergency",
        "s4-delete-deployment",
        "s5-notify-owners",
    ]
    again = plan_response(contain, finding("key:leaked"), {}, now=NOW)
    assert again == plan


def test_approvals_default_from_disruptiveness_and_risk(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {}, now=NOW)
    assert [s.approval for s in plan.steps] == [
        ApprovalRequirement.ONE_APPROVER,
        ApprovalRequirement.AUTOMATIC,
        ApprovalRequirement.ONE_APPROVER,
        ApprovalRequirement.TWO_APPROVERS,
        ApprovalRequirement.AUTOMATIC,
    ]
    assert plan.needs_approval


def test_targets_resolve_to_the_deployment_or_its_account(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked", resource=DEPLOYMENT), {}, now=NOW)
    assert [str(s.target) for s in plan.steps] == [DEPLOYMENT, ACCOUNT, ACCOUNT, DEPLOYMENT, ACCOUNT]


def test_deployment_steps_are_dropped_with_a_reason_when_the_finding_names_only_an_account(
    contain: Policy,
) -> None:
    plan = plan_response(contain, finding("key:leaked", resource=ACCOUNT), {}, now=NOW)
    assert [s.id for s in plan.steps] == ["s2-tag-resource", "s3-rotate-key-emergency", "s5-notify-owners"]
    assert [(s.id, s.reason) for s in plan.skipped] == [
        ("s1-switch-rai-policy", "the step acts on a deployment but the finding names only the account"),
        ("s4-delete-deployment", "the step acts on a deployment but the finding names only the account"),
    ]
    assert "s1-switch-rai-policy skipped" in plan.explanation


def test_finding_without_a_resource_gets_a_notify_only_plan(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked", resource=None), {}, now=NOW)
    assert plan.notify_only
    assert plan.steps == ()
    assert len(plan.skipped) == 5
    assert plan.owners == ("secops@contoso.com",)
    assert "only notifies the fallback owners" in plan.explanation


def test_vault_finding_notifies_the_vault_owners_and_changes_nothing(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:near_expiry", resource=VAULT), {}, now=NOW)
    assert [(s.action, str(s.target)) for s in plan.steps] == [(ActionKind.NOTIFY_OWNERS, VAULT)]
    assert {s.id for s in plan.skipped} == {
        "s1-switch-rai-policy",
        "s2-tag-resource",
        "s3-rotate-key-emergency",
        "s4-delete-deployment",
    }


def test_protected_tag_skips_every_changing_step_but_still_notifies(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {"Warden-Protected": "TRUE"}, now=NOW)
    assert plan.protected
    assert [s.action for s in plan.steps] == [ActionKind.NOTIFY_OWNERS]
    assert all("never changes it" in s.reason for s in plan.skipped)
    assert len(plan.skipped) == 4
    assert "the resource is protected (it carries the protected tag warden-protected=true)" in plan.explanation


def test_protected_account_id_protects_its_deployments() -> None:
    policy = policy_from(
        CONTAIN + f"protected:\n  resource_ids: ['{ACCOUNT.upper().replace('/SUBSCRIPTIONS', '/subscriptions')}']\n"
    )
    plan = plan_response(policy, finding("key:leaked", resource=DEPLOYMENT), {}, now=NOW)
    assert plan.protected
    assert [s.action for s in plan.steps] == [ActionKind.NOTIFY_OWNERS]


def test_protection_by_id_does_not_spread_to_other_accounts() -> None:
    other = AccountId.parse(ACCOUNT.replace("contoso-oai", "other-oai"))
    policy = policy_from(CONTAIN + f"protected:\n  resource_ids: ['{ACCOUNT}']\n")
    assert is_protected(policy, other, {}) is None
    assert is_protected(policy, AccountId.parse(ACCOUNT), {}) is not None


def test_policy_dry_run_and_setting_dry_run_are_or_ed() -> None:
    wet = policy_from(MINIMAL)
    dry = policy_from(MINIMAL + "dry_run: true\n")
    assert not plan_response(wet, finding("key:leaked"), {}, now=NOW).dry_run
    assert plan_response(wet, finding("key:leaked"), {}, now=NOW, dry_run=True).dry_run
    plan = plan_response(dry, finding("key:leaked"), {}, now=NOW, dry_run=False)
    assert plan.dry_run
    assert "dry run: every step is recorded, nothing is changed" in plan.explanation


def test_circuit_breaker_makes_every_change_need_approval(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {}, now=NOW, recent_disruptive_actions=5)
    by_id = {s.id: s.approval for s in plan.steps}
    assert by_id["s2-tag-resource"] is ApprovalRequirement.ONE_APPROVER
    assert by_id["s4-delete-deployment"] is ApprovalRequirement.TWO_APPROVERS
    assert by_id["s5-notify-owners"] is ApprovalRequirement.AUTOMATIC
    assert "circuit breaker open" in plan.explanation
    below = plan_response(contain, finding("key:leaked"), {}, now=NOW, recent_disruptive_actions=4)
    assert {s.id: s.approval for s in below.steps}["s2-tag-resource"] is ApprovalRequirement.AUTOMATIC


def test_parameters_carry_defaults_and_guards(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {}, now=NOW)
    params = {s.id: s.parameters for s in plan.steps}
    assert params["s1-switch-rai-policy"] == {"rai_policy": "warden-strict"}
    assert params["s2-tag-resource"] == {"tags": {"warden-status": "contained"}}
    assert params["s3-rotate-key-emergency"] == {"keys": "exposed"}
    assert params["s4-delete-deployment"] == {"snapshot": True, "allow_delete_last_deployment": False}
    assert params["s5-notify-owners"] == {}


def test_credential_theft_can_widen_emergency_rotation_to_both_keys() -> None:
    policy = policy_from(CONTAIN + "keys: {credential_theft_rotates_both: true}\n")
    theft = finding("defender:AI.Azure_CredentialTheftAttempt", category="credential_theft")
    plan = plan_response(policy, theft, {}, now=NOW)
    assert {s.id: s.parameters for s in plan.steps}["s3-rotate-key-emergency"] == {"keys": "both"}
    other = plan_response(policy, finding("key:leaked"), {}, now=NOW)
    assert {s.id: s.parameters for s in other.steps}["s3-rotate-key-emergency"] == {"keys": "exposed"}


def test_unapproved_model_uses_the_models_playbook_before_the_rules() -> None:
    policy = policy_from(
        CONTAIN.replace("default_playbook: contain", "default_playbook: notify")
        + "models: {on_unapproved: contain}\nrules:\n  - name: all\n    playbook: notify\n"
    )
    plan = plan_response(policy, finding("model:unapproved_deployment"), {}, now=NOW)
    assert (plan.rule, plan.playbook) == ("models.on_unapproved", "contain")


def test_deleting_an_unapproved_deployment_names_the_model_it_removes() -> None:
    policy = policy_from(CONTAIN + "models: {on_unapproved: contain}\n")
    model = {"name": "llama-3-70b", "version": "1", "format": "Meta"}
    unapproved = finding("model:unapproved_deployment").model_copy(update={"evidence": {"model": model}})
    params = {s.id: s.parameters for s in plan_response(policy, unapproved, {}, now=NOW).steps}
    assert params["s4-delete-deployment"] == {
        "snapshot": True,
        "allow_delete_last_deployment": False,
        "unapproved_model": model,
    }
    # Any other finding, or a finding that names no model, keeps the plain guard.
    bare = plan_response(policy, finding("model:unapproved_deployment"), {}, now=NOW)
    assert "unapproved_model" not in {s.id: s.parameters for s in bare.steps}["s4-delete-deployment"]


def test_plan_names_owners_and_time(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {"owner": "alice@contoso.com"}, now=NOW)
    assert plan.owners == ("alice@contoso.com",)
    assert plan.planned_at == NOW
    assert plan.finding_kind == "key:leaked"


def test_step_reason_says_where_the_step_and_its_approval_came_from(contain: Policy) -> None:
    plan = plan_response(contain, finding("key:leaked"), {}, now=NOW)
    assert plan.steps[0].reason == "playbook contain step 1: switch_rai_policy; one_approver (disruptive action)"
    assert plan.steps[3].reason.endswith("two_approvers (high-risk step)")
