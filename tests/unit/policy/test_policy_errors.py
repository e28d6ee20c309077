"""Bad policies are refused with one line per problem: file, line, path and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from shared.policy import MAX_POLICY_BYTES, Policy, PolicyError, load_policy, parse_policy
from shared.policy.cli import validate_command

from .conftest import MINIMAL

# Each case: (id, policy text, one expected error line, exactly as printed).
CASES = [
    (
        "unknown top-level key with a suggestion",
        MINIMAL + "dry_runn: true\n",
        "policy.yaml:10: dry_runn: unknown field 'dry_runn'; did you mean 'dry_run'? (allowed: version,",
    ),
    (
        "unknown nested key",
        MINIMAL + "approvals:\n  timeout: 4h\n  reminder: 30m\n",
        "policy.yaml:12: approvals.reminder: unknown field 'reminder'; did you mean 'reminder_interval'?",
    ),
    (
        "wrong type",
        MINIMAL + "keys:\n  max_age_days: ninety\n",
        "policy.yaml:11: keys.max_age_days: Input should be a valid integer, unable to parse string as an "
        "integer; got 'ninety'",
    ),
    (
        "wrong version",
        MINIMAL.replace("version: 1", "version: 2"),
        "policy.yaml:1: version: Input should be 1; got 2",
    ),
    (
        "unknown playbook",
        MINIMAL + "rules:\n  - name: jailbreak\n    match: {category: jailbreak}\n    playbook: quarantine\n",
        "policy.yaml:13: rules[0].playbook: 'quarantine' is not a defined playbook (defined: notify)",
    ),
    (
        "unknown default playbook",
        MINIMAL.replace("default_playbook: notify", "default_playbook: notfy"),
        "policy.yaml:9: default_playbook: 'notfy' is not a defined playbook (defined: notify)",
    ),
    (
        "bad duration",
        MINIMAL + "approvals:\n  timeout: 4 hours\n",
        "policy.yaml:11: approvals.timeout: expected a duration like 30m, 4h, 1h30m, 14d or ISO-8601 PT30M, "
        "P14D; got '4 hours'",
    ),
    (
        "bare number duration",
        MINIMAL + "approvals:\n  timeout: 240\n",
        "policy.yaml:11: approvals.timeout: expected a duration like 30m, 4h, 1h30m, 14d or ISO-8601 PT30M, "
        "P14D; a bare number has no unit",
    ),
    (
        "zero duration",
        MINIMAL + "keys:\n  grace_period: 0h\n",
        "policy.yaml:11: keys.grace_period: a duration must be positive",
    ),
    (
        "duplicate key",
        MINIMAL + "dry_run: false\ndry_run: true\n",
        "policy.yaml:11: dry_run: duplicate key 'dry_run' (first defined on line 10); YAML would silently "
        "keep only the last one",
    ),
    (
        "duplicate playbook name",
        MINIMAL.replace("default_playbook", "  notify:\n    steps: [{action: notify_owners}]\ndefault_playbook"),
        "policy.yaml:9: playbooks.notify: duplicate key 'notify' (first defined on line 6)",
    ),
    (
        "YAML syntax error",
        MINIMAL + "rules: [\n  {name: a, playbook: notify\n",
        "policy.yaml:12: YAML syntax error: while parsing a flow mapping expected ',' or '}'",
    ),
    (
        "missing default owner fallback",
        MINIMAL.replace("    default: [secops@contoso.com]\n", "    by_subscription: {}\n"),
        "policy.yaml:3: owners.fallback.default: required field is missing",
    ),
    (
        "empty default owner fallback",
        MINIMAL.replace("[secops@contoso.com]", "[]"),
        "policy.yaml:4: owners.fallback.default: List should have at least 1 item after validation, not 0",
    ),
    (
        "approve on timeout with a high-risk step",
        MINIMAL.replace("      - action: notify_owners\n", "      - action: notify_owners\n        high_risk: true\n")
        + "approvals:\n  final_decision: approve\n",
        "policy.yaml:12: approvals.final_decision: 'approve' on timeout is not allowed while a step is "
        "high_risk (playbooks.notify.steps[0]); use 'deny'",
    ),
    (
        "step parameter that does not fit the action",
        MINIMAL.replace("      - action: notify_owners\n", "      - action: notify_owners\n        keys: both\n"),
        "policy.yaml:9: playbooks.notify.steps[0].keys: is not a parameter of notify_owners (it takes no parameters)",
    ),
    (
        "required step parameter missing",
        MINIMAL.replace("action: notify_owners", "action: switch_rai_policy"),
        "policy.yaml:8: playbooks.notify.steps[0].rai_policy: switch_rai_policy needs 'rai_policy'",
    ),
    (
        "step target that the action cannot act on",
        MINIMAL.replace(
            "      - action: notify_owners\n",
            "      - action: deny_public_network\n        target: deployment\n",
        ),
        "policy.yaml:9: playbooks.notify.steps[0].target: deny_public_network acts on the account, not the deployment",
    ),
    (
        "unknown action",
        MINIMAL.replace("action: notify_owners", "action: nuke_it"),
        "policy.yaml:8: playbooks.notify.steps[0].action: Input should be 'notify_owners', 'tag_resource',",
    ),
    (
        "high-risk step with a single approver",
        MINIMAL.replace(
            "      - action: notify_owners\n",
            "      - action: delete_deployment\n        high_risk: true\n        approval: one_approver\n",
        ),
        "policy.yaml:10: playbooks.notify.steps[0].approval: a high_risk step needs two_approvers "
        "(separation of duties), not one_approver",
    ),
    (
        "automatic emergency rotation while approval is required",
        MINIMAL.replace(
            "      - action: notify_owners\n",
            "      - action: rotate_key_emergency\n        approval: automatic\n",
        ),
        "policy.yaml:9: playbooks.notify.steps[0].approval: 'automatic' conflicts with "
        "keys.emergency_rotation_requires_approval: true",
    ),
    (
        "misspelt finding kind",
        MINIMAL + "rules:\n  - name: spikes\n    match: {kind: 'anomaly:token_spiek'}\n    playbook: notify\n",
        "policy.yaml:12: rules[0].match.kind: unknown finding kind 'anomaly:token_spiek'; known anomaly kinds:",
    ),
    (
        "misspelt category",
        MINIMAL + "rules:\n  - name: jb\n    match:\n      category: jailbrake\n    playbook: notify\n",
        "policy.yaml:13: rules[0].match.category: Input should be 'jailbreak',",
    ),
    (
        "duplicate rule name",
        MINIMAL
        + "rules:\n  - name: a\n    match: {source: posture}\n    playbook: notify\n"
        + "  - name: a\n    match: {source: anomaly}\n    playbook: notify\n",
        "policy.yaml:14: rules[1].name: duplicate rule name 'a' (also rules[0])",
    ),
    (
        "rule after a catch-all",
        MINIMAL
        + "rules:\n  - name: everything\n    playbook: notify\n"
        + "  - name: never\n    match: {source: anomaly}\n    playbook: notify\n",
        "policy.yaml:13: rules[1]: rule 'never' can never match: rule 'everything' before it matches everything",
    ),
    (
        "escalation longer than the timeout",
        MINIMAL
        + "approvals:\n  timeout: 1h\n  escalation:\n"
        + "    - {approvers: [a], wait: 1h}\n    - {approvers: [b], wait: 1h}\n",
        "policy.yaml:12: approvals.escalation: the levels before the last wait 1h in total, not less than "
        "approvals.timeout (1h); the last level would never be asked",
    ),
    (
        "every notification channel off",
        MINIMAL + "notifications: {event_grid: false, teams: false}\n",
        "policy.yaml:10: notifications: every channel is off",
    ),
    (
        "bad protected resource id",
        MINIMAL + "protected:\n  resource_ids: [/subscriptions/not-a-guid]\n",
        "policy.yaml:11: protected.resource_ids[0]: invalid Azure resource id '/subscriptions/not-a-guid'",
    ),
    (
        "bad subscription id in a rule",
        MINIMAL + "rules:\n  - name: a\n    match: {subscriptions: [abc]}\n    playbook: notify\n",
        "policy.yaml:12: rules[0].match.subscriptions[0]: 'abc' is not a subscription GUID",
    ),
    (
        "document that is not a mapping",
        "- version: 1\n",
        "policy.yaml:1: expected a mapping with 'version: 1', got a list",
    ),
    (
        "empty document",
        "# nothing here\n",
        "policy.yaml:1: the document is empty; expected a mapping with 'version: 1'",
    ),
    (
        "python object tag",
        MINIMAL + "description: !!python/object/apply:os.system [echo hi]\n",
        "policy.yaml:10: description: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "supported in a policy",
    ),
    (
        "two documents",
        MINIMAL + "---\nversion: 1\n",
        "policy.yaml:10: YAML syntax error: expected a single document in the stream but found another document",
    ),
    (
        "merge key",
        MINIMAL + "guards:\n  <<: {allow_delete_last_deployment: true}\n",
        "policy.yaml:11: guards: YAML merge keys ('<<') are not supported; repeat the fields",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_policy_reports_a_line_numbered_problem(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    lines = str(info.value).splitlines()
    assert any(line.startswith(expected) for line in lines), "\n".join(lines)


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = MINIMAL + "dry_runn: true\nkeys:\n  max_age_days: -1\napprovals:\n  timeout: soon\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert [p.line for p in info.value.problems] == [10, 12, 14]
    assert [p.path for p in info.value.problems] == ["dry_runn", "keys.max_age_days", "approvals.timeout"]


def test_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(MINIMAL + "#" * MAX_POLICY_BYTES, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"policy.yaml: the file is larger than {MAX_POLICY_BYTES} bytes; refusing to read a policy that big"
    )


def test_oversized_text_is_refused() -> None:
    with pytest.raises(PolicyError, match="larger than"):
        parse_policy(MINIMAL + "#" * MAX_POLICY_BYTES)


def test_missing_file_is_one_problem_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert str(info.value) == "nope.yaml: cannot read the file: No such file or directory"


def test_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(MINIMAL.encode() + b"description: caf\xe9\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == "policy.yaml:10: the file is not valid UTF-8 text"


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(bomb)
    assert "expands to more than 50000 nodes" in str(info.value)


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(PolicyError, match="nesting deeper than"):
        parse_policy("a: &a [*a]\n")


def test_deep_nesting_is_refused_with_its_line() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy("version: 1\ndescription: " + "[" * 200 + "]" * 200 + "\n")
    assert str(info.value).startswith("policy.yaml:2: YAML syntax error: nesting deeper than 40 levels")


def test_aliases_within_bounds_are_expanded() -> None:
    text = (
        MINIMAL.replace("    default: [secops@contoso.com]", "    default: &oncall [secops@contoso.com]")
        + "approvals:\n  escalation:\n    - {approvers: *oncall, wait: 1h}\n"
    )
    policy = parse_policy(text)
    assert policy.approvals.escalation[0].approvers == ("secops@contoso.com",)


def test_validate_command_prints_each_problem_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(MINIMAL + "dry_runn: true\nguards: {allow_delete_last: true}\n", encoding="utf-8")
    assert validate_command(path) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert [line.split(": ")[0] for line in captured.err.splitlines()] == ["policy.yaml:10", "policy.yaml:11"]


def test_policy_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        PolicyError([])


@pytest.mark.parametrize("version", ["true", "1.0", "'1'", "2"])
def test_version_must_be_the_number_one(version: str) -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml:1: version: "):
        parse_policy(MINIMAL.replace("version: 1", f"version: {version}"))


def test_policy_built_in_python_runs_the_cross_field_checks_too() -> None:
    data = yaml.safe_load(MINIMAL.replace("default_playbook: notify", "default_playbook: missing"))
    with pytest.raises(ValidationError, match=r"default_playbook: 'missing' is not a defined playbook"):
        Policy.model_validate(data)
