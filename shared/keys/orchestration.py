"""The rotation orchestrator bodies: deterministic generators over a Durable context.

Only ``context`` APIs are used (``get_input``, ``call_activity[_with_retry]``, ``create_timer``,
``wait_for_external_event``, ``task_any``, ``current_utc_datetime``, ``instance_id``,
``set_custom_status``); no I/O, clock, randomness or settings. ``handlers/keys.py`` registers
them with the Durable decorators; unit tests drive them with a fake context.

Payloads in and out of activities are the pydantic models of ``shared.keys.rotation`` dumped to
JSON: they never contain a key value (Durable history is stored and replayed in plain text).
Policy values are fetched by an activity, so a settings change cannot make a replay diverge.

Approval seam (emergency rotation): when ``requires_approval`` the orchestration waits for the
external event ``ApprovalDecision`` with payload ``{"approved": true|false, "approver_id": "...",
"justification": "..."}`` (raise it with ``client.raise_event(instance_id, "ApprovalDecision",
payload)``), racing a durable timer of ``approval_timeout_seconds``. No decision in time, or
anything but ``approved: true``, rotates nothing. When the ``keys_emergency_policy`` activity
says ``approval_gate`` (``WARDEN_EMERGENCY_APPROVAL``: ``gate``, or ``auto`` with a link signing
key configured), the rotation instead calls the ``approval_gate`` sub-orchestration as
``{incident_id}:approval:rotate-key-emergency`` (decided through the approvals API, page and
links). The incident orchestrator, which gates its own steps, calls this one with
``requires_approval: false``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from shared.approvals.models import GATE_ORCHESTRATOR, gate_instance_id
from shared.keys.rotation import (
    EmergencyRotationRequest,
    Exposure,
    RotationRequest,
    RotationResult,
    RotationState,
    RotationStatus,
    StepOutcome,
    StepRequest,
    StepStatus,
    parse_approval,
    plan_emergency_rotation,
    plan_scheduled_rotation,
)
from shared.steps import ActionKind, ApprovalRequirement, ResponseStep

__all__ = [
    "ACTIVITY_APPLY_STEP",
    "ACTIVITY_EMERGENCY_POLICY",
    "ACTIVITY_LOCATE_SECRET",
    "ACTIVITY_READ_STATE",
    "ACTIVITY_RECORD",
    "APPROVAL_EVENT",
    "ORCHESTRATOR_EMERGENCY",
    "ORCHESTRATOR_SCHEDULED",
    "emergency_rotation",
    "scheduled_rotation",
]

ORCHESTRATOR_SCHEDULED = "keys_rotate_scheduled"
ORCHESTRATOR_EMERGENCY = "keys_rotate_emergency"
ACTIVITY_READ_STATE = "keys_read_rotation_state"
ACTIVITY_LOCATE_SECRET = "keys_locate_secret"  # noqa: S105  # nosec B105 # an identifier, not a secret
ACTIVITY_APPLY_STEP = "keys_apply_step"
ACTIVITY_EMERGENCY_POLICY = "keys_emergency_policy"
ACTIVITY_RECORD = "keys_record_rotation"
APPROVAL_EVENT = "ApprovalDecision"
MAX_REPLANS = 3
GATE_STEP_ID = "rotate-key-emergency"

Orchestration = Generator[Any, Any, dict[str, Any]]


def _call(context: Any, name: str, payload: dict[str, Any], retry: Any) -> Any:
    if retry is not None:
        return context.call_activity_with_retry(name, retry, payload)
    return context.call_activity(name, payload)


def _input(context: Any) -> Any:
    value = context.get_input()
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value


def _finish(context: Any, result: RotationResult) -> Orchestration:
    payload = result.model_dump(mode="json")
    yield context.call_activity(ACTIVITY_RECORD, payload)
    return payload


def scheduled_rotation(context: Any, retry: Any = None) -> Orchestration:
    """Rotate an account key with zero downtime (see ``shared.keys.rotation``).

    Input: ``RotationRequest``. Output: ``RotationResult``. Steps: read the secret's state ->
    plan -> one idempotent activity regenerates the other key, proves it and writes the new
    version -> durable timer for the grace period -> record.
    """
    request = RotationRequest.model_validate(_input(context))
    rotation_id = str(context.instance_id)
    state = RotationState.model_validate(
        (
            yield _call(
                context,
                ACTIVITY_READ_STATE,
                {
                    "vault_url": request.vault_url,
                    "secret_name": request.secret_name,
                    "validity_days": request.validity_days,
                },
                retry,
            )
        )
    )
    plan = plan_scheduled_rotation(request, state)
    if isinstance(plan, RotationResult):
        return (yield from _finish(context, plan.model_copy(update={"rotation_id": rotation_id})))
    context.set_custom_status({"stage": "rotating", "slot": plan.slot.value})
    step_request = StepRequest(
        rotation_id=rotation_id,
        account_id=request.account_id,
        vault_url=request.vault_url,
        secret_name=request.secret_name,
        expected_version=request.secret_version,
        step=plan,
        validity_days=state.validity_days or request.validity_days,
        now=context.current_utc_datetime,
    )
    outcome = StepOutcome.model_validate(
        (yield _call(context, ACTIVITY_APPLY_STEP, step_request.model_dump(mode="json"), retry))
    )
    if outcome.status is StepStatus.SUPERSEDED:
        result = RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.ALREADY_ROTATED,
            detail=outcome.detail or "the secret moved to another version: already rotated",
            previous_version=request.secret_version,
            new_version=outcome.vault_version,
            steps=(outcome,),
        )
        return (yield from _finish(context, result))
    if request.grace_seconds > 0:
        context.set_custom_status({"stage": "grace_period", "slot": plan.slot.value})
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=request.grace_seconds))
    result = RotationResult(
        rotation_id=rotation_id,
        account_id=request.account_id,
        status=RotationStatus.ROTATED,
        detail=f"{plan.slot.value} regenerated, proven and stored; "
        f"{plan.slot.other.value} stays valid until the next rotation",
        previous_version=request.secret_version,
        new_version=outcome.vault_version,
        active_slot=plan.slot,
        steps=(outcome,),
    )
    return (yield from _finish(context, result))


def _gate_request(request: EmergencyRotationRequest, policy: dict[str, Any]) -> dict[str, Any]:
    """The approval gate's input for this rotation (``shared.approvals.models.GateRequest``)."""
    step = ResponseStep(
        id=GATE_STEP_ID,
        action=ActionKind.ROTATE_KEY_EMERGENCY,
        target=request.account_id,
        parameters={"exposure": request.exposure.value, "both_exposed": bool(policy["both_exposed"])},
        approval=ApprovalRequirement.ONE_APPROVER,
        reason=request.reason or "emergency rotation of an exposed API key",
    )
    return {
        "incident_id": request.incident_id or "standalone",
        "step": step.model_dump(mode="json"),
        "requirement": "one_approver",
        "timeout_seconds": int(policy["approval_timeout_seconds"]),
        "final_decision": "deny",
        "owners": list(policy.get("owners") or []),
        "explanation": f"Regenerate the {request.exposure.value} key of {request.account_id}: {request.reason}"[:4000],
        "title": f"Emergency key rotation of {request.account_id.name}",
    }


def emergency_rotation(context: Any, retry: Any = None) -> Orchestration:
    """Regenerate leaked key(s) now, keeping a working key in Key Vault after every step.

    Input: ``EmergencyRotationRequest``; output: ``RotationResult``. Callable as a
    sub-orchestration (``context.call_sub_orchestrator("keys_rotate_emergency", input, id)``).
    """
    request = EmergencyRotationRequest.model_validate(_input(context))
    rotation_id = str(context.instance_id)
    policy = yield context.call_activity(ACTIVITY_EMERGENCY_POLICY, request.model_dump(mode="json"))
    requires_approval = bool(policy["requires_approval"])
    both_exposed = bool(policy["both_exposed"])
    if requires_approval and policy.get("approval_gate"):
        gate_id = gate_instance_id(request.incident_id or rotation_id, GATE_STEP_ID)
        context.set_custom_status({"stage": "awaiting_approval", "gate": gate_id})
        gate = yield context.call_sub_orchestrator(GATE_ORCHESTRATOR, _gate_request(request, policy), gate_id)
        if not gate.get("approved"):
            who = ", ".join(d.get("approver_name") or d.get("approver_id", "") for d in gate.get("decided_by", []))
            expired = gate.get("reason") == "expired"
            result = RotationResult(
                rotation_id=rotation_id,
                account_id=request.account_id,
                status=RotationStatus.EXPIRED if expired else RotationStatus.REJECTED,
                detail=(
                    f"no approval before the deadline ({gate_id}); nothing was rotated"
                    if expired
                    else f"rejected by {who or 'an approver'} ({gate_id}); nothing was rotated"
                )[:2000],
            )
            return (yield from _finish(context, result))
    elif requires_approval:
        context.set_custom_status({"stage": "awaiting_approval", "event": APPROVAL_EVENT})
        deadline = context.current_utc_datetime + timedelta(seconds=int(policy["approval_timeout_seconds"]))
        approval = context.wait_for_external_event(APPROVAL_EVENT)
        timeout = context.create_timer(deadline)
        winner = yield context.task_any([approval, timeout])
        if winner is not approval:
            result = RotationResult(
                rotation_id=rotation_id,
                account_id=request.account_id,
                status=RotationStatus.EXPIRED,
                detail=f"no {APPROVAL_EVENT} before {deadline.isoformat()}; nothing was rotated",
            )
            return (yield from _finish(context, result))
        timeout.cancel()
        decision = parse_approval(approval.result)
        if not decision.approved:
            result = RotationResult(
                rotation_id=rotation_id,
                account_id=request.account_id,
                status=RotationStatus.REJECTED,
                detail=f"rejected by {decision.approver_id or 'an approver'}: {decision.justification}"[:2000],
            )
            return (yield from _finish(context, result))

    context.set_custom_status({"stage": "rotating"})
    outcomes: list[StepOutcome] = []
    state: RotationState | None = None
    for attempt in range(MAX_REPLANS):
        located = yield _call(context, ACTIVITY_LOCATE_SECRET, request.model_dump(mode="json"), retry)
        state = RotationState.model_validate(located) if located else None
        active = state.active_slot if state is not None and state.problem is None else None
        steps = plan_emergency_rotation(active, request.exposure, both_exposed=both_exposed)
        outcomes = []
        superseded = False
        for step in steps:
            step_request = StepRequest(
                rotation_id=f"{rotation_id}:{attempt}",
                account_id=request.account_id,
                vault_url=state.vault_url if state is not None else "https://unused.invalid",
                secret_name=state.secret_name if state is not None else "unused",
                expected_version=state.current_version if state is not None else "",
                step=step.model_copy(update={"write_vault": step.write_vault and active is not None}),
                validity_days=(state.validity_days if state is not None else None) or request.validity_days,
                now=context.current_utc_datetime,
            )
            outcome = StepOutcome.model_validate(
                (yield _call(context, ACTIVITY_APPLY_STEP, step_request.model_dump(mode="json"), retry))
            )
            if outcome.status is StepStatus.SUPERSEDED:
                superseded = True
                break
            outcomes.append(outcome)
        if not superseded:
            break
    else:
        result = RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.NOT_ROTATABLE,
            detail=f"the secret kept changing during {MAX_REPLANS} attempts; rotated what was done",
            steps=tuple(outcomes),
        )
        return (yield from _finish(context, result))

    written = [o.vault_version for o in outcomes if o.vault_version]
    vault_slots = [o.slot for o in outcomes if o.vault_version]
    exposure = "both keys" if both_exposed or request.exposure is Exposure.BOTH else f"{request.exposure.value} key"
    result = RotationResult(
        rotation_id=rotation_id,
        account_id=request.account_id,
        status=RotationStatus.ROTATED,
        detail=f"emergency rotation of the {exposure}: " + "; ".join(o.detail for o in outcomes),
        previous_version=state.current_version if state is not None else None,
        new_version=written[-1] if written else (state.current_version if state is not None else None),
        active_slot=vault_slots[-1] if vault_slots else (state.active_slot if state is not None else None),
        steps=tuple(outcomes),
    )
    return (yield from _finish(context, result))
