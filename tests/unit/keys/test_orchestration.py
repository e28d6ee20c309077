"""The rotation orchestrators, driven with a fake Durable context and the real activities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

import handlers.keys as keys_handlers
from shared.contracts.approval import GATE_ORCHESTRATOR, ApprovalRequest, approval_instance_id
from shared.contracts.rotation import (
    ACTIVITY_APPLY_STEP,
    ACTIVITY_EMERGENCY_POLICY,
    ACTIVITY_LOCATE_SECRET,
    ACTIVITY_READ_STATE,
    ACTIVITY_RECORD,
    GATE_STEP_ID,
    RotationRequest,
    rotation_instance_id,
)
from shared.keys.slots import KeySlot
from shared.orchestrations.rotation import emergency_rotation, scheduled_rotation
from shared.response.steps import ActionKind
from tests.unit.keys.conftest import ACCOUNT, SECRET, VAULT, World
from tests.unit.keys.durable_fake import FakeContext, drive, user_function

ACTIVITIES = {
    name: user_function(getattr(keys_handlers, name))
    for name in (
        ACTIVITY_READ_STATE,
        ACTIVITY_LOCATE_SECRET,
        ACTIVITY_APPLY_STEP,
        ACTIVITY_EMERGENCY_POLICY,
        ACTIVITY_RECORD,
    )
}


def scheduled_input(version: str, grace: int = 3600) -> dict[str, Any]:
    request = RotationRequest(
        account_id=ACCOUNT, vault_url=VAULT, secret_name=SECRET, secret_version=version, grace_seconds=grace
    )
    return request.model_dump(mode="json")


def context(payload: dict[str, Any], **kwargs: Any) -> FakeContext:
    return FakeContext(input=payload, activities=ACTIVITIES, **kwargs)


def all_key_values(world: World) -> set[str]:
    return {world.cognitive.current_key(ACCOUNT, s) for s in KeySlot} | {
        world.secrets.get_secret(VAULT, SECRET, v.version).value for v in world.secrets.versions(VAULT, SECRET)
    }


def assert_no_key_in_history(ctx: FakeContext, values: set[str], output: Any) -> None:
    import json

    text = json.dumps(ctx.history) + json.dumps(output) + json.dumps(ctx.input)
    leaked = [v for v in values if v in text]
    assert not leaked, "a key value reached orchestration history"


def test_scheduled_rotation_rotates_waits_the_grace_period_and_records(world: World) -> None:
    version = world.seed_secret(KeySlot.KEY1)
    ctx = context(scheduled_input(version), instance_id=rotation_instance_id(ACCOUNT, version))
    start = ctx.current_utc_datetime
    output = drive(scheduled_rotation, ctx)
    assert output["status"] == "rotated" and output["active_slot"] == "key2"
    assert output["previous_version"] == version and output["new_version"] == world.secret_version()
    assert [h[0] for h in ctx.history] == [ACTIVITY_READ_STATE, ACTIVITY_APPLY_STEP, ACTIVITY_RECORD]
    assert [t.fire_at - start for t in ctx.timers] == [timedelta(hours=1)]
    latest = world.secrets.get_secret(VAULT, SECRET)
    assert latest.value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)
    assert latest.meta.tags["WardenRotationId"] == ctx.instance_id
    assert_no_key_in_history(ctx, all_key_values(world), output)


def test_a_replayed_orchestration_does_not_rotate_twice(world: World) -> None:
    version = world.seed_secret(KeySlot.KEY1)
    iid = rotation_instance_id(ACCOUNT, version)
    drive(scheduled_rotation, context(scheduled_input(version), instance_id=iid))
    # A crash after the step but before history was saved: the same instance re-runs every activity.
    world.idempotency._items.clear()
    second = drive(scheduled_rotation, context(scheduled_input(version), instance_id=iid))
    assert second["status"] == "already_rotated"
    assert world.cognitive.calls["regenerate_key"] == 1
    assert len(world.secrets.versions(VAULT, SECRET)) == 2


def test_a_rotation_for_a_superseded_version_is_a_clean_no_op(world: World, caplog: pytest.LogCaptureFixture) -> None:
    old = world.seed_secret(KeySlot.KEY1)
    world.seed_secret(KeySlot.KEY2)
    ctx = context(scheduled_input(old), instance_id=rotation_instance_id(ACCOUNT, old))
    with caplog.at_level("INFO", logger="warden.audit.keys"):
        output = drive(scheduled_rotation, ctx)
    assert output["status"] == "already_rotated"
    assert [h[0] for h in ctx.history] == [ACTIVITY_READ_STATE, ACTIVITY_RECORD]
    assert world.cognitive.calls["regenerate_key"] == 0 and ctx.timers == []
    assert any("already_rotated" in r.getMessage() for r in caplog.records)


def test_no_grace_timer_when_the_grace_period_is_zero(world: World) -> None:
    version = world.seed_secret()
    ctx = context(scheduled_input(version, grace=0))
    drive(scheduled_rotation, ctx)
    assert ctx.timers == []


def emergency_input(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"account_id": str(ACCOUNT), "exposure": "active", "incident_id": "inc-1"}
    payload.update(changes)
    return payload


def test_emergency_rotation_of_the_active_key_keeps_a_working_key_in_the_vault(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    leaked = world.cognitive.current_key(ACCOUNT, KeySlot.KEY1)
    checks: list[bool] = []

    def vault_key_works(_name: str) -> None:
        value = world.secrets.get_secret(VAULT, SECRET).value
        checks.append(world.cognitive._endpoint_accepts("https://contoso-openai.openai.azure.com/", value))

    ctx = context(emergency_input(requires_approval=False), on_activity=vault_key_works)
    output = drive(emergency_rotation, ctx)
    vault_key_works("end")
    assert output["status"] == "rotated" and output["active_slot"] == "key2"
    assert all(checks)
    assert leaked not in {world.cognitive.current_key(ACCOUNT, s) for s in KeySlot}
    assert output["steps"][-1]["old_key_refused"] is True
    assert_no_key_in_history(ctx, all_key_values(world) | {leaked}, output)


def test_emergency_rotation_with_both_keys_exposed_regenerates_both(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    before = {s: world.cognitive.current_key(ACCOUNT, s) for s in KeySlot}
    output = drive(emergency_rotation, context(emergency_input(requires_approval=False, both_exposed=True)))
    assert output["status"] == "rotated"
    assert all(world.cognitive.current_key(ACCOUNT, s) != before[s] for s in KeySlot)
    assert world.secrets.get_secret(VAULT, SECRET).value == world.cognitive.current_key(ACCOUNT, KeySlot.KEY2)


def gate(approved: bool, reason: str) -> Any:
    """An approval gate that answers at once (the gate itself: ``tests/unit/approvals``)."""

    def answer(payload: Any, instance_id: str | None) -> dict[str, Any]:
        ApprovalRequest.model_validate(payload)  # the contract's request, nothing else
        decided = [{"approver_id": "oncall", "approver_name": "On Call", "justification": "leaked in a log"}]
        return {"approved": approved, "decided_by": decided if reason != "expired" else [], "reason": reason}

    return answer


def gated(approved: bool, reason: str, **request: Any) -> FakeContext:
    return context(
        emergency_input(**request), sub_orchestrators={GATE_ORCHESTRATOR: gate(approved, reason)}, instance_id="rot-1"
    )


def test_emergency_rotation_asks_the_approval_gate_and_rotates_when_approved(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    ctx = gated(True, "approved", requires_approval=True, incident_id="inc-9")
    output = drive(emergency_rotation, ctx)
    assert output["status"] == "rotated"
    (asked,) = ctx.sub_calls
    assert asked.instance_id == approval_instance_id("inc-9", GATE_STEP_ID)
    request = ApprovalRequest.model_validate(asked.payload)
    assert request.step.action is ActionKind.ROTATE_KEY_EMERGENCY and request.step.target == ACCOUNT
    assert request.requirement == "one_approver" and request.final_decision == "deny"


def test_emergency_rotation_rejected_rotates_nothing(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    output = drive(emergency_rotation, gated(False, "rejected", requires_approval=True))
    assert output["status"] == "rejected" and world.cognitive.calls["regenerate_key"] == 0
    assert "On Call" in output["detail"]


def test_emergency_rotation_without_a_decision_expires(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    ctx = gated(False, "expired", requires_approval=True, approval_timeout_seconds=600)
    output = drive(emergency_rotation, ctx)
    assert output["status"] == "expired" and world.cognitive.calls["regenerate_key"] == 0
    assert ApprovalRequest.model_validate(ctx.sub_calls[0].payload).timeout_seconds == 600


def test_emergency_rotation_asks_the_gate_by_default(world: World) -> None:
    world.seed_secret(KeySlot.KEY1)
    ctx = gated(False, "expired")  # policy default: approval required
    assert drive(emergency_rotation, ctx)["status"] == "expired"
    assert [c.name for c in ctx.sub_calls] == [GATE_ORCHESTRATOR]


def test_an_unreadable_gate_answer_rotates_nothing(world: World) -> None:
    """Anything but a clear approval must never rotate keys: a malformed outcome fails the
    orchestration before any key step."""
    world.seed_secret(KeySlot.KEY1)
    ctx = context(
        emergency_input(requires_approval=True),
        sub_orchestrators={GATE_ORCHESTRATOR: lambda payload, iid: {"approved": "yes"}},
    )
    with pytest.raises(ValidationError):
        drive(emergency_rotation, ctx)
    assert world.cognitive.calls["regenerate_key"] == 0


def test_emergency_rotation_of_a_key_outside_key_vault_regenerates_without_writing(world: World) -> None:
    before = {s: world.cognitive.current_key(ACCOUNT, s) for s in KeySlot}
    output = drive(emergency_rotation, context(emergency_input(requires_approval=False, exposure="key2")))
    assert output["status"] == "rotated"
    assert world.cognitive.current_key(ACCOUNT, KeySlot.KEY2) != before[KeySlot.KEY2]
    assert world.cognitive.current_key(ACCOUNT, KeySlot.KEY1) == before[KeySlot.KEY1]
    assert world.secrets.calls["set_secret"] == 0


def test_no_key_value_is_ever_logged_during_rotations(world: World, caplog: pytest.LogCaptureFixture) -> None:
    version = world.seed_secret(KeySlot.KEY1)
    seen = all_key_values(world)
    with caplog.at_level("DEBUG"):
        drive(scheduled_rotation, context(scheduled_input(version), instance_id=rotation_instance_id(ACCOUNT, version)))
        drive(emergency_rotation, context(emergency_input(requires_approval=False, both_exposed=True)))
    seen |= all_key_values(world)
    text = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert caplog.records, "expected audit log lines"
    assert not [v for v in seen if v in text]
