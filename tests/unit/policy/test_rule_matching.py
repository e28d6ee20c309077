"""Rules are tried in order; the first whose every condition holds picks the playbook."""

from __future__ import annotations

import pytest

from shared.finding import FindingSource, Severity
from shared.policy import plan_response
from shared.policy.matching import first_matching_rule

from .conftest import ACCOUNT, MINIMAL, NOW, OTHER_SUB, SUB, finding, policy_from

RULES = MINIMAL.replace(
    "default_playbook: notify",
    """\
  alerts:
    steps: [{action: notify_owners}]
  prod:
    steps: [{action: notify_owners}]
  jailbreak:
    steps: [{action: notify_owners}]
  spikes:
    steps: [{action: notify_owners}]
default_playbook: notify
rules:
  - name: prod-high
    match: {tags: {env: prod}, min_severity: High}
    playbook: prod
  - name: jailbreak-medium
    match:
      kind: 'defender:AI.Azure_*Jailbreak*'
      category: jailbreak
      min_severity: Medium
    playbook: jailbreak
  - name: spikes
    match: {kind: [anomaly:token_spike, anomaly:request_spike]}
    playbook: spikes
  - name: one-subscription
    match: {source: [key_hygiene], subscriptions: [OTHER_SUB]}
    playbook: alerts
  - name: any-defender
    match: {kind: 'defender:*'}
    playbook: alerts
""".replace("OTHER_SUB", OTHER_SUB),
)

JAILBREAK = "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


def rule_for(kind: str, tags: dict[str, str] | None = None, **kwargs: object) -> str | None:
    policy = policy_from(RULES)
    matched = first_matching_rule(policy, finding(kind, **kwargs), tags or {})  # type: ignore[arg-type]
    return matched.rule.name if matched else None


def test_glob_kind_matches_case_insensitively() -> None:
    assert rule_for(JAILBREAK.lower(), category="jailbreak") == "jailbreak-medium"
    assert rule_for("defender:AI.Azure_Agentic_Jailbreak", category="jailbreak") == "jailbreak-medium"


def test_category_must_match_when_the_rule_names_one() -> None:
    assert rule_for(JAILBREAK, category="wallet_abuse") == "any-defender"
    assert rule_for(JAILBREAK) == "any-defender"  # no category in the evidence


def test_severity_below_the_minimum_does_not_match() -> None:
    assert rule_for(JAILBREAK, category="jailbreak", severity=Severity.LOW) == "any-defender"
    assert rule_for(JAILBREAK, category="jailbreak", severity=Severity.HIGH) == "jailbreak-medium"


def test_first_match_wins() -> None:
    assert rule_for(JAILBREAK, {"env": "prod"}, category="jailbreak", severity=Severity.HIGH) == "prod-high"


def test_tags_match_case_insensitively_and_all_must_be_present() -> None:
    assert rule_for("anomaly:token_spike", {"ENV": "Prod"}, severity=Severity.HIGH) == "prod-high"
    assert rule_for("anomaly:token_spike", {"env": "dev"}, severity=Severity.HIGH) == "spikes"


def test_list_of_kinds_means_any_of_them() -> None:
    assert rule_for("anomaly:request_spike") == "spikes"
    assert rule_for("anomaly:new_caller_ip") is None


def test_subscription_and_source_conditions_both_hold() -> None:
    other_account = ACCOUNT.replace(SUB, OTHER_SUB)
    assert rule_for("key:age_exceeded", resource=other_account) == "one-subscription"
    assert rule_for("key:age_exceeded", resource=ACCOUNT) is None
    assert rule_for("key:age_exceeded", resource=None) is None
    assert rule_for("anomaly:token_spike", resource=other_account, source=FindingSource.ANOMALY) == "spikes"


def test_unmatched_finding_falls_back_to_the_default_playbook() -> None:
    plan = plan_response(policy_from(RULES), finding("posture:no_diagnostic_settings"), {}, now=NOW)
    assert (plan.rule, plan.playbook) == ("default_playbook", "notify")
    assert "no rule matched kind posture:no_diagnostic_settings" in plan.explanation


def test_explanation_says_which_rule_matched_and_why() -> None:
    plan = plan_response(
        policy_from(RULES), finding(JAILBREAK, category="jailbreak", severity=Severity.HIGH), {}, now=NOW
    )
    assert plan.explanation.startswith(
        f"rule `jailbreak-medium` matched kind {JAILBREAK} matches defender:AI.Azure_*Jailbreak* "
        "and category jailbreak and severity High ≥ Medium; playbook `jailbreak`"
    )


def test_a_rule_without_conditions_matches_everything() -> None:
    policy = policy_from(MINIMAL + "rules:\n  - name: all\n    playbook: notify\n")
    plan = plan_response(policy, finding("key:leaked"), {}, now=NOW)
    assert plan.rule == "all"
    assert "it matches every finding" in plan.explanation


@pytest.mark.parametrize("pattern", ["key:*", "*", "*:leaked", "k?y:leaked", "KEY:LEAKED"])
def test_kind_globs_and_exact_kinds_in_any_case_are_accepted(pattern: str) -> None:
    policy = policy_from(MINIMAL + f"rules:\n  - name: k\n    match: {{kind: '{pattern}'}}\n    playbook: notify\n")
    assert first_matching_rule(policy, finding("key:leaked"), {}) is not None
