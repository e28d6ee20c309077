"""The incident and restore orchestration bodies, driven by a fake context over fake ports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.contracts.approval import GATE_ORCHESTRATOR, ApprovalRequest
from shared.orchestrations.incident import incident_orchestration, restore_orchestration
from shared.response.steps import StepStatus
from tests.unit.response.conftest import (
    ACCOUNT,
    GPT,
    Fakes,
    activities,
    make_finding,
    shipped_policy,
    timing_out_gate,
)
from tests.unit.response.fake_context import FakeContext, drive

STATUS_KEYS = {
    "stage",
    "incident_id",
    "kind",
    "findings",
    "playbook",
    "rule",
    "dry_run",
    "explanation",
    "pending_approvals",
    "steps",
    "error",
}
STEP_KEYS = {"step_id", "action", "target", "approval", "status", "detail", "error", "verified", "decided_by"}


def _context(**kw: Any) -> FakeContext:
    """An incident whose approval gates nobody answers (``timing_out_gate``) unless a test says."""
    finding = make_finding(**kw)
    context = FakeContext(
        input={"finding": finding.model_dump(mode="json"), "quiet_minutes": 5},
        activities=activities(),
        instance_id=finding.instance_id,
    )
    context.subs[GATE_ORCHESTRATOR] = timing_out_gate
    return context


def _run(context: FakeContext) -> dict[str, Any]:
    output: dict[str, Any] = drive(incident_orchestration, context, settle=timedelta(minutes=10))
    return output


def _approved_by_bob(request: Any, instance_id: str | None) -> dict[str, Any]:
    return {"approved": True, "decided_by": [{"approver_id": "bob", "approver_name": "Bob"}], "reason": "approved"}


def _restore_context(incident_id: str) -> FakeContext:
    """A restore of ``incident_id`` requested by bob, whose gates an approver approves."""
    restore = FakeContext(
        input={"incident_id": incident_id, "requested_by": "bob"},
        activities=activities(),
        instance_id=f"{incident_id}:restore",
    )
    restore.subs[GATE_ORCHESTRATOR] = _approved_by_bob
    return restore


def test_every_published_custom_status_has_the_documented_shape(fakes: Fakes) -> None:
    context = _context()
    _run(context)
    assert context.statuses, "no custom status was published"
    for status in context.statuses:
        assert set(status) == STATUS_KEYS
        for step in status["steps"]:
            assert set(step) == STEP_KEYS
    stages = [s["stage"] for s in context.statuses]
    assert stages[0] == "triage" and stages[-1] == "closed"
    for stage in ("notifying", "awaiting_approval", "executing", "verifying", "open", "closing"):
        assert stage in stages


def test_the_approval_gate_sub_orchestrator_gets_the_contract_request(fakes: Fakes) -> None:
    context = _context()
    seen: list[tuple[Any, str | None]] = []

    def gate(request: Any, instance_id: str | None) -> dict[str, Any]:
        seen.append((request, instance_id))
        return {
            "approved": True,
            "decided_by": [
                {
                    "approver_id": "u1",
                    "approver_name": "Alice",
                    "decided_at": "2026-11-25T12:01:00Z",
                    "justification": "confirmed abuse",
                    "channel": "teams",
                }
            ],
            "reason": "approved",
        }

    context.subs[GATE_ORCHESTRATOR] = gate
    output = _run(context)
    assert len(seen) == 1
    payload, instance_id = seen[0]
    assert instance_id == f"{context.instance_id}:approval:s1-switch-rai-policy"
    request = ApprovalRequest.model_validate(payload)
    assert set(payload) == set(ApprovalRequest.model_fields)  # the contract's request, whole
    assert request.requirement == "one_approver" and request.final_decision == "approve"
    assert request.step.action.value == "switch_rai_policy" and request.owners == ("ai-team@contoso.com",)
    assert request.timeout_seconds == 4 * 3600 and request.incident_id == context.instance_id
    pending = next(s for s in context.statuses if s["stage"] == "awaiting_approval")["pending_approvals"]
    assert [p["step_id"] for p in pending] == ["s1-switch-rai-policy"]
    step = next(s for s in output["steps"] if s["step_id"] == "s1-switch-rai-policy")
    assert step["status"] == "succeeded" and step["decided_by"] == ["Alice"]
    assert "approval.granted" in fakes.actions(context.instance_id)


def test_a_rejected_step_is_never_executed(fakes: Fakes) -> None:
    context = _context()
    context.subs[GATE_ORCHESTRATOR] = lambda request, iid: {"approved": False, "decided_by": [], "reason": "rejected"}
    output = _run(context)
    step = next(s for s in output["steps"] if s["step_id"] == "s1-switch-rai-policy")
    assert step["status"] == "rejected"
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    executed = [c.payload["step"]["id"] for c in context.calls if c.name == "incident_execute_step"]
    assert executed == ["s2-tag-resource"]  # the automatic step still runs
    assert "approval.denied" in fakes.actions(context.instance_id)


def test_a_step_nobody_approved_in_time_is_expired_and_never_executed(fakes: Fakes) -> None:
    fakes.ports.policy = shipped_policy(final_decision="deny")
    context = _context()
    output = _run(context)
    step = next(s for s in output["steps"] if s["step_id"] == "s1-switch-rai-policy")
    assert step["status"] == "expired" and step["decided_by"] == []
    assert [c.name for c in context.calls if c.kind == "sub"] == [GATE_ORCHESTRATOR]
    executed = [c.payload["step"]["id"] for c in context.calls if c.name == "incident_execute_step"]
    assert "s1-switch-rai-policy" not in executed
    assert "approval.denied" in fakes.actions(context.instance_id)


def test_steps_on_different_resources_run_in_one_parallel_wave(fakes: Fakes) -> None:
    context = _context()
    _run(context)
    waves = [w for w in context.parallel if "incident_execute_step" in w]
    assert waves == [["incident_execute_step", "incident_execute_step"]]  # deployment + account together


def test_a_step_that_keeps_failing_does_not_mark_its_parallel_sibling_failed(fakes: Fakes) -> None:
    context = _context()
    execute = context.activities["incident_execute_step"]

    def flaky(payload: Any) -> Any:
        if payload["step"]["target"].lower().endswith("/deployments/gpt-4o"):
            raise RuntimeError("the worker crashed")
        return execute(payload)

    context.activities["incident_execute_step"] = flaky
    _run(context)
    steps = {s["step_id"]: s for s in context.statuses[-1]["steps"]}
    assert steps["s1-switch-rai-policy"]["status"] == "failed"
    assert "the worker crashed" in steps["s1-switch-rai-policy"]["error"]
    assert steps["s2-tag-resource"]["status"] == "succeeded"  # ran in the same parallel wave
    executed = [c for c in context.calls if c.name == "incident_execute_step"]
    assert len(executed) == 2  # each step ran once; waiting on the sibling did not re-run it


def test_a_failed_triage_is_reported_and_the_incident_still_closes(fakes: Fakes) -> None:
    def broken(payload: Any) -> Any:
        raise RuntimeError("policy.yaml:3: version: expected the number 1")

    context = _context()
    context.activities["incident_triage"] = broken
    output = _run(context)
    assert output["status"] == "closed"
    open_status = next(s for s in context.statuses if s["stage"] == "open")
    assert open_status["error"].startswith("triage failed: policy.yaml:3")
    assert not [c for c in context.calls if c.name == "incident_execute_step"]


def test_dry_run_skips_the_gate_and_records_every_step_as_dry_run(fakes: Fakes) -> None:
    fakes.ports.policy = shipped_policy(dry_run=True)
    context = _context()
    output = _run(context)  # a gate exists, but a dry run asks nobody
    assert [s["status"] for s in output["steps"]] == [StepStatus.DRY_RUN.value] * 3
    assert not [c for c in context.calls if c.kind == "sub"]
    assert fakes.cognitive.calls["create_or_update_deployment"] == 0
    assert fakes.cognitive.calls["update_account"] == 0


def test_emergency_rotation_runs_as_the_keys_sub_orchestration_without_a_second_approval(fakes: Fakes) -> None:
    context = _context(kind="defender:AI.Azure_CredentialTheftAttempt", resource=ACCOUNT, category="credential_theft")
    rotations: list[tuple[Any, str | None]] = []

    def rotate(request: Any, iid: str | None) -> dict[str, Any]:
        rotations.append((request, iid))
        return {
            "status": "rotated",
            "detail": "key1 regenerated",
            "previous_version": "v1",
            "new_version": "v2",
            "active_slot": "key2",
            "rotation_id": iid,
            "account_id": str(ACCOUNT),
            "steps": [],
        }

    context.subs["keys_rotate_emergency"] = rotate
    output = _run(context)
    assert len(rotations) == 1
    request, iid = rotations[0]
    assert request["requires_approval"] is False and request["exposure"] == "active"
    assert iid is not None and iid.startswith("keyemg-")
    step = next(s for s in output["steps"] if s["step_id"] == "s1-rotate-key-emergency")
    assert step["status"] == "succeeded"
    assert "step.succeeded" in fakes.actions(context.instance_id)
    assert fakes.ports.breaker.count_since(fakes.ports.clock() - timedelta(hours=1)) == 1


def test_restore_reapplies_snapshots_after_approval(fakes: Fakes) -> None:
    context = _context()
    _run(context)
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "warden-strict"
    restore = _restore_context(context.instance_id)
    output = drive(restore_orchestration, restore)
    assert output["status"] == "restored"
    assert [s["status"] for s in output["steps"]] == ["succeeded", "succeeded"]
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "Microsoft.DefaultV2"
    assert "warden-incident" not in fakes.cognitive.get_account(ACCOUNT).tags
    # Restoring again changes nothing (each restore step is idempotent).
    again = drive(restore_orchestration, restore)
    assert [s["status"] for s in again["steps"]] == ["succeeded", "succeeded"]
    assert fakes.actions(context.instance_id).count("restore.succeeded") == 2


def test_a_restore_step_that_keeps_failing_is_reported_and_its_sibling_still_restored(fakes: Fakes) -> None:
    context = _context()
    _run(context)
    restore = _restore_context(context.instance_id)
    real = restore.activities["incident_restore_step"]

    def flaky(payload: Any) -> Any:
        if payload["step"]["target"].lower().endswith("/deployments/gpt-4o"):
            raise RuntimeError("the worker crashed")
        return real(payload)

    restore.activities["incident_restore_step"] = flaky
    output = drive(restore_orchestration, restore, retry=object())
    assert output["status"] == "partial"
    steps = {s["step_id"]: s for s in output["steps"]}
    assert steps["restore-s1-switch-rai-policy"]["status"] == "failed"
    assert "the worker crashed" in steps["restore-s1-switch-rai-policy"]["error"]
    assert steps["restore-s2-tag-resource"]["status"] == "succeeded"
    assert "warden-incident" not in fakes.cognitive.get_account(ACCOUNT).tags
    retried = [c for c in restore.calls if c.name == "incident_restore_step"]
    assert retried and all(c.retry is not None for c in retried)  # the retry policy reaches each step


@pytest.mark.parametrize("outcome", ["rejected", "expired"])
def test_restore_changes_nothing_without_approval(fakes: Fakes, outcome: str) -> None:
    context = _context()
    _run(context)
    restore = _restore_context(context.instance_id)
    restore.subs[GATE_ORCHESTRATOR] = lambda request, iid: {"approved": False, "decided_by": [], "reason": outcome}
    output = drive(restore_orchestration, restore)
    assert output["status"] == "rejected"
    assert {s["status"] for s in output["steps"]} == {outcome}
    assert fakes.cognitive.get_deployment(GPT).rai_policy_name == "warden-strict"


def test_the_warden_dry_run_setting_alone_turns_dry_run_on(fakes: Fakes) -> None:
    fakes.ports.dry_run = True  # WARDEN_DRY_RUN=true; the policy says dry_run: false
    context = _context()
    output = _run(context)
    assert [s["status"] for s in output["steps"]] == [StepStatus.DRY_RUN.value] * 3
    assert fakes.cognitive.calls["create_or_update_deployment"] == 0
    assert fakes.actions(context.instance_id).count("step.dry_run") == 3
