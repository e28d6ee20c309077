"""Guards (protected tag, circuit breaker, last deployment, dry run), a failing action, and
restore — each through devhost's Durable engine against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from devhost.loader import load_app
from shared.bootstrap import container
from shared.contracts.incident import RESTORE_ORCHESTRATOR, ExecuteRequest, restore_instance_id
from shared.response.steps import ResponseStep
from shared.usecases.containment import execute_step
from tests.approvals_support import decide_via_api
from tests.functional.devhost_durable.support import durable_host, run
from tests.functional.keys.conftest import ACCOUNT
from tests.functional.response.conftest import (
    APP,
    GPT,
    JAILBREAK,
    LONE,
    PROTECTED,
    ROGUE,
    Estate,
    finding,
    policy_copy,
)
from tests.functional.response.support import run_incident


def _writes(estate: Estate) -> int:
    calls = estate.emulator.counts()["calls"]
    names = (
        "arm.accounts.update",
        "arm.deployments.createOrUpdate",
        "arm.deployments.delete",
        "arm.raiPolicies.createOrUpdate",
        "arm.accounts.regenerateKey",
    )
    return sum(int(calls.get(name, 0)) for name in names)


def test_a_protected_resource_is_never_changed_and_the_skip_is_audited(estate: Estate, tmp_path: Path) -> None:
    result = run_incident(finding(JAILBREAK, PROTECTED.deployment("gpt-4o"), category="jailbreak"), tmp_path / "s.db")
    assert result.step("s1-switch-rai-policy")["status"] == "skipped"
    assert "protected" in result.step("s1-switch-rai-policy")["detail"]
    assert result.step("s3-notify-owners")["status"] == "succeeded"  # owners are still told
    assert _writes(estate) == 0
    assert estate.actions(result.instance_id).count("step.skipped") == 2


def test_the_circuit_breaker_sends_every_change_to_approval_beyond_the_hourly_cap(
    estate: Estate, tmp_path: Path
) -> None:
    # The cap is 5 disruptive actions an hour; six were recorded in the past minutes.
    now = datetime.now(UTC)
    for i in range(6):
        estate.ports.breaker.record(f"earlier-{i}", at=now, incident_id="inc-x", action="switch_rai_policy", target="x")
    estate.set_policy(policy_copy(tmp_path, final_decision="deny"))
    result = run_incident(finding(JAILBREAK, GPT, category="jailbreak"), tmp_path / "s.db")
    assert "circuit breaker open" in result.open_status["explanation"]
    # The tag step, automatic in the playbook, now needs an approver too; nobody approved.
    assert result.step("s2-tag-resource")["approval"] == "one_approver"
    assert result.step("s2-tag-resource")["status"] == "expired"
    assert result.step("s1-switch-rai-policy")["status"] == "expired"
    assert _writes(estate) == 0
    assert estate.actions(result.instance_id).count("approval.denied") == 2


def test_the_last_deployment_of_a_model_is_not_deleted(estate: Estate, tmp_path: Path) -> None:
    result = run_incident(finding("model:unapproved_deployment", LONE), tmp_path / "s.db")
    step = result.step("s1-delete-deployment")
    assert step["status"] == "skipped" and "last deployment of model Phi-4" in step["detail"]
    assert estate.ports.cognitive.get_deployment(LONE).model_name == "Phi-4"
    assert "step.skipped" in estate.actions(result.instance_id)


def test_dry_run_records_every_step_and_changes_nothing(estate: Estate, tmp_path: Path) -> None:
    estate.set_policy(policy_copy(tmp_path, extra="dry_run: true"))
    result = run_incident(finding(JAILBREAK, GPT, category="jailbreak"), tmp_path / "s.db")
    assert result.open_status["dry_run"] is True
    assert [s["status"] for s in result.open_status["steps"]] == ["dry_run", "dry_run", "dry_run"]
    assert (
        "would switch RAI policy Microsoft.DefaultV2 -> warden-strict" in result.step("s1-switch-rai-policy")["detail"]
    )
    assert _writes(estate) == 0
    assert estate.ports.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    actions = estate.actions(result.instance_id)
    assert actions.count("step.dry_run") == 3 and "approval.granted" not in actions


def test_a_failed_deletion_is_reported_leaves_a_consistent_state_and_a_rerun_completes(
    estate: Estate, tmp_path: Path
) -> None:
    # A permanent failure (a resource lock); a transient one (InternalServerError) is retried
    # instead: tests/functional/response/test_lro_failures.py.
    estate.emulator.inject_fault("arm.deployments.delete", "lro_failure", status=409, code="ScopeLocked")
    result = run_incident(finding("model:unapproved_deployment", ROGUE), tmp_path / "s.db")
    step = result.step("s1-delete-deployment")
    assert step["status"] == "failed" and "ScopeLocked" in (step["error"] or "")
    # Consistent: the deployment is still there, unchanged, and its snapshot was taken first.
    assert estate.ports.cognitive.get_deployment(ROGUE).sku_capacity == 7
    snapshot = estate.ports.snapshots.get(result.instance_id, "s1-delete-deployment")
    assert snapshot is not None and snapshot.before["sku_capacity"] == 7
    assert "step.failed" in estate.actions(result.instance_id)
    # A re-run of the step (the fault has fired) completes, with the original snapshot kept.
    plan_step = ResponseStep.model_validate(
        {
            "id": "s1-delete-deployment",
            "action": "delete_deployment",
            "target": str(ROGUE),
            "parameters": {"snapshot": True, "allow_delete_last_deployment": False},
            "approval": "one_approver",
        }
    )
    request = ExecuteRequest(incident_id=result.instance_id, step=plan_step, now=datetime.now(UTC))
    assert execute_step(estate.ports, request).status.value == "succeeded"
    assert all(d.id.name != "rogue-1" for d in estate.ports.cognitive.list_deployments(ACCOUNT))
    assert execute_step(estate.ports, request).status.value == "succeeded"  # idempotent: recorded result
    assert estate.emulator.calls("arm.deployments.delete") == 2
    assert estate.ports.snapshots.get(result.instance_id, "s1-delete-deployment") == snapshot


def test_restore_recreates_a_deleted_deployment_identical_to_before(estate: Estate, tmp_path: Path) -> None:
    before = estate.ports.cognitive.get_deployment(ROGUE)
    result = run_incident(finding("model:unapproved_deployment", ROGUE), tmp_path / "s.db", restore=True)
    assert result.step("s1-delete-deployment")["status"] == "succeeded"
    assert result.restore is not None and result.restore["status"] == "restored", result.restore
    after = estate.ports.cognitive.get_deployment(ROGUE)
    assert (after.model_name, after.model_version, after.model_format) == (
        before.model_name,
        before.model_version,
        before.model_format,
    )
    assert (after.sku_name, after.sku_capacity, after.rai_policy_name, after.version_upgrade_option) == (
        before.sku_name,
        before.sku_capacity,
        before.rai_policy_name,
        before.version_upgrade_option,
    )
    actions = estate.actions(result.instance_id)
    assert "restore.requested" in actions and "restore.succeeded" in actions
    assert estate.audit.verify().ok
    print(f"\nrestore: {result.restore_events} history events")


def test_restore_switches_the_rai_policy_back_and_removes_warden_tags(estate: Estate, tmp_path: Path) -> None:
    tags_before = dict(estate.ports.cognitive.get_account(ACCOUNT).tags)
    result = run_incident(finding(JAILBREAK, GPT, category="jailbreak"), tmp_path / "s.db", restore=True)
    assert result.restore is not None and result.restore["status"] == "restored", result.restore
    assert estate.ports.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    assert dict(estate.ports.cognitive.get_account(ACCOUNT).tags) == tags_before


def test_restore_is_refused_when_the_approval_is_denied(estate: Estate, tmp_path: Path) -> None:
    result = run_incident(finding(JAILBREAK, GPT, category="jailbreak"), tmp_path / "s.db")
    estate.set_policy(policy_copy(tmp_path, final_decision="deny"))

    async def scenario() -> dict[str, object]:
        async with durable_host(load_app(APP), tmp_path / "r.db") as host:
            rid = restore_instance_id(result.instance_id)
            await host.client.start_new(RESTORE_ORCHESTRATOR, rid, {"incident_id": result.instance_id})
            await host.engine.wait_for_idle()
            for step_id in ("restore-s1-switch-rai-policy", "restore-s2-tag-resource"):
                answer = await decide_via_api(
                    container().approvals_deps, host.client, result.instance_id, step_id, decision="reject"
                )
                assert answer.status == 200, answer.body
            done = await host.engine.wait_for_completion(rid)
            return dict(done.output)

    output = run(scenario())
    assert output["status"] == "rejected"
    assert estate.ports.cognitive.get_deployment(GPT).rai_policy_name == "warden-strict"
