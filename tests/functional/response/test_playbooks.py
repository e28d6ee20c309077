"""Each playbook of the shipped policy, end to end: devhost's Durable engine (real SDK replay)
-> the real activities -> the real SDK clients -> the emulator. Approvals use the policy's
auto-decision (``approvals.final_decision: approve`` in the test copy of the shipped policy)."""

from __future__ import annotations

from pathlib import Path

from shared.keys.slots import KeySlot
from tests.functional.keys.conftest import ACCOUNT
from tests.functional.response.conftest import GPT, JAILBREAK, ROGUE, Estate, finding
from tests.functional.response.support import run_incident


def test_jailbreak_switches_the_deployment_to_warden_strict_and_tags_the_account(
    estate: Estate, tmp_path: Path
) -> None:
    result = run_incident(finding(JAILBREAK, GPT, category="jailbreak"), tmp_path / "store.db")
    status = result.open_status
    assert status["stage"] == "open" and status["playbook"] == "contain-prompt-attack"
    assert status["pending_approvals"] == []
    assert result.step("s1-switch-rai-policy")["status"] == "succeeded"
    assert result.step("s1-switch-rai-policy")["verified"] is True
    assert result.step("s2-tag-resource")["status"] == "succeeded"
    assert result.step("s3-notify-owners")["status"] == "succeeded"
    deployment = estate.ports.cognitive.get_deployment(GPT)
    assert deployment.rai_policy_name == "warden-strict"
    assert estate.ports.cognitive.get_rai_policy(ACCOUNT, "warden-strict").content_filters  # created by Warden
    tags = estate.ports.cognitive.get_account(ACCOUNT).tags
    assert tags["warden-status"] == "under-investigation" and tags["warden-incident"] == result.instance_id
    actions = estate.actions(result.instance_id)
    for expected in ("incident.opened", "incident.triaged", "approval.granted", "step.succeeded", "incident.closed"):
        assert expected in actions
    assert actions.count("step.succeeded") == 2 and actions.count("notification.intent") == 2
    assert estate.audit.verify().ok
    snapshot = estate.ports.snapshots.get(result.instance_id, "s1-switch-rai-policy")
    assert snapshot is not None and snapshot.before["rai_policy_name"] == "Microsoft.DefaultV2"
    print(f"\njailbreak: {result.history_events} history events, {result.episodes} episodes")


def test_credential_theft_rotates_the_exposed_key_through_the_emergency_rotation(
    estate: Estate, tmp_path: Path
) -> None:
    secret_before = estate.emulator.account_keys(str(ACCOUNT))
    theft = finding("defender:AI.Azure_CredentialTheftAttempt", ACCOUNT, category="credential_theft")
    result = run_incident(theft, tmp_path / "store.db")
    assert result.open_status["playbook"] == "rotate-exposed-key"
    step = result.step("s1-rotate-key-emergency")
    assert step["status"] == "succeeded", step
    after = estate.emulator.account_keys(str(ACCOUNT))
    assert after["key1"] != secret_before["key1"]  # the key in Key Vault (key1) was regenerated
    assert "step.succeeded" in estate.actions(result.instance_id)
    assert not [v for v in (*secret_before.values(), *after.values()) if v in result.history_text]
    assert KeySlot.KEY2.value in result.history_text  # the new active slot is recorded (not its value)
    print(f"\ncredential theft: {result.history_events} history events, {result.episodes} episodes")


def test_suspicious_ip_denies_public_network_access_and_keeps_ip_rules(estate: Estate, tmp_path: Path) -> None:
    access = finding("defender:AI.Azure_AccessFromSuspiciousIP", ACCOUNT, category="suspicious_access")
    result = run_incident(access, tmp_path / "store.db")
    assert result.open_status["playbook"] == "close-public-network"
    assert result.step("s1-deny-public-network")["status"] == "succeeded"
    account = estate.ports.cognitive.get_account(ACCOUNT)
    assert account.network_default_action == "Deny" and account.ip_rules == ("203.0.113.10",)
    print(f"\nsuspicious ip: {result.history_events} history events, {result.episodes} episodes")


def test_unapproved_model_deletes_the_deployment_with_a_full_snapshot(estate: Estate, tmp_path: Path) -> None:
    result = run_incident(finding("model:unapproved_deployment", ROGUE), tmp_path / "store.db")
    assert result.open_status["playbook"] == "remove-unapproved-deployment"
    assert result.step("s1-delete-deployment")["status"] == "succeeded"
    assert result.step("s1-delete-deployment")["verified"] is True
    assert all(d.id.name != "rogue-1" for d in estate.ports.cognitive.list_deployments(ACCOUNT))
    snapshot = estate.ports.snapshots.get(result.instance_id, "s1-delete-deployment")
    assert snapshot is not None
    assert {k: snapshot.before[k] for k in ("model_name", "model_version", "sku_name", "sku_capacity")} == {
        "model_name": "Phi-3-mini",
        "model_version": "4",
        "sku_name": "Standard",
        "sku_capacity": 7,
    }
    print(f"\nunapproved model: {result.history_events} history events, {result.episodes} episodes")
