"""Properties of every plan the shipped policy can make, over generated findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.finding import Finding, FindingSource, Severity
from shared.policy import Policy, load_policy, plan_response
from shared.policy.schema import ALERT_CATEGORIES, KNOWN_FINDING_KINDS
from shared.response.steps import ActionKind, ApprovalRequirement

from .conftest import ACCOUNT, DEPLOYMENT, NOW, SHIPPED_POLICY, VAULT

SHIPPED: Policy = load_policy(SHIPPED_POLICY)
DEFENDER_TYPES = [
    "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
    "AI.Azure_CredentialTheftAttempt",
    "AI.Azure_MaliciousUrl.UserPrompt",
    "AI.Azure_DOWVolumeAnomaly",
    "AI.Azure_Something.New",
]

findings = st.builds(
    lambda kind, source, severity, resource, category: Finding(
        source=source,
        kind=kind,
        severity=severity,
        title="generated",
        resource=resource,
        evidence={"category": category} if category else {},
        dedupe_key=f"gen:{kind}",
        first_seen=NOW,
        last_seen=NOW,
    ),
    kind=st.one_of(
        st.sampled_from(sorted(KNOWN_FINDING_KINDS)), st.sampled_from(DEFENDER_TYPES).map("defender:{}".format)
    ),
    source=st.sampled_from(list(FindingSource)),
    severity=st.sampled_from(list(Severity)),
    resource=st.sampled_from([DEPLOYMENT, ACCOUNT, VAULT, None]),
    category=st.one_of(st.none(), st.sampled_from(ALERT_CATEGORIES)),
)
tags = st.dictionaries(
    st.sampled_from(["owner", "env", "warden-protected", "Warden-Protected"]),
    st.sampled_from(["true", "TRUE", "false", "prod", "alice@contoso.com"]),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(findings, tags, st.booleans(), st.integers(min_value=0, max_value=10))
def test_shipped_policy_never_plans_an_unapproved_disruptive_change(
    finding: Finding, resource_tags: dict[str, str], dry_run: bool, recent: int
) -> None:
    plan = plan_response(SHIPPED, finding, resource_tags, now=NOW, dry_run=dry_run, recent_disruptive_actions=recent)
    playbook_steps = len(SHIPPED.playbook(plan.playbook).steps)
    ids = [s.id for s in plan.steps] + [s.id for s in plan.skipped]
    assert len(ids) == len(set(ids)) == playbook_steps
    assert plan.dry_run is dry_run
    assert plan.owners
    for step in plan.steps:
        if step.disruptive:
            assert step.approval is not ApprovalRequirement.AUTOMATIC
    if plan.protected:
        assert all(s.action is ActionKind.NOTIFY_OWNERS for s in plan.steps)
    if finding.resource is None:
        assert plan.notify_only and plan.steps == ()
    if str(finding.resource) != DEPLOYMENT:
        assert all(s.action not in {ActionKind.SWITCH_RAI_POLICY, ActionKind.DELETE_DEPLOYMENT} for s in plan.steps)
    assert plan.explanation
