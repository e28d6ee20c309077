"""The key rotation orchestration bodies (contract: ``shared.contracts.rotation``).

Payloads in and out of activities are the contract's models dumped to JSON: they never contain a
key value. Policy values are fetched by an activity (``keys_emergency_policy``), so a settings
change cannot make a replay diverge.

Scheduled rotation (``scheduled_rotation``): read the secret's state -> ``plan_scheduled_rotation``
-> one idempotent activity regenerates the other key, proves it and writes the new version ->
durable timer for the grace period -> record.

Emergency rotation (``emergency_rotation``): when the policy (or the request) requires approval,
the rotation asks the approval gate, as every gated step does (``shared.contracts.approval``;
instance ``approval_instance_id(incident or rotation, GATE_STEP_ID)``), decided through the
approvals API, page and links. Anything but an approval rotates nothing. The incident
orchestrator, which gates its own steps, calls this one with ``requires_approval: false``. Then
the steps of ``shared.keys.rotation.plan_emergency_rotation`` run, re-planned when the secret
moved underneath (at most ``MAX_REPLANS`` times).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from shared.contracts.approval import GATE_ORCHESTRATOR, ApprovalOutcome, ApprovalRequest, approval_instance_id
from shared.contracts.rotation import (
    ACTIVITY_APPLY_STEP,
    ACTIVITY_EMERGENCY_POLICY,
    ACTIVITY_LOCATE_SECRET,
    ACTIVITY_READ_STATE,
    ACTIVITY_RECORD,
    GATE_STEP_ID,
    MAX_REPLANS,
    EmergencyPolicy,
    EmergencyRotationRequest,
    KeyStepOutcome,
    KeyStepRequest,
    KeyStepStatus,
    ReadStateRequest,
    RotationRequest,
    RotationResult,
    RotationState,
    RotationStatus,
)
from shared.keys.rotation import Exposure, KeyStep, plan_emergency_rotation
from shared.orchestrations.calls import call, loads
from shared.response.steps import ActionKind, ApprovalRequirement, ResponseStep

__all__ = ["emergency_rotation", "plan_scheduled_rotation", "scheduled_rotation"]

Orchestration = Generator[Any, Any, dict[str, Any]]


def _finish(context: Any, result: RotationResult) -> Orchestration:
    yield call(context, ACTIVITY_RECORD, result)
    return result.model_dump(mode="json")


def plan_scheduled_rotation(request: RotationRequest, state: RotationState) -> KeyStep | RotationResult:
    """The one step of a scheduled rotation, or a ``RotationResult`` saying why there is none.

    - the secret's current version is not the requested one -> ``ALREADY_ROTATED`` (no-op);
    - the secret is disabled, has bad tags, or names another account -> ``NOT_ROTATABLE``.
    """
    rotation_id = request.instance_id
    if state.current_version.lower() != request.secret_version.lower():
        return RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.ALREADY_ROTATED,
            detail=(
                f"secret {request.secret_name!r} is at version {state.current_version}, not "
                f"{request.secret_version}: already rotated"
            ),
            previous_version=request.secret_version,
            new_version=state.current_version,
            active_slot=state.active_slot,
        )
    problem = state.problem
    if problem is None and not state.enabled:
        problem = "the secret's current version is disabled"
    if problem is None and (state.active_slot is None or state.provider_address is None):
        problem = "the secret does not carry the dual-credential tags (CredentialId, ProviderAddress)"
    if problem is None and state.provider_address != request.account_id:
        problem = f"ProviderAddress names {state.provider_address}, not {request.account_id}"
    if problem is not None:
        return RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.NOT_ROTATABLE,
            detail=problem,
            previous_version=request.secret_version,
        )
    active = state.active_slot
    if active is None:  # pragma: no cover - excluded above
        raise ValueError("no active slot")
    return KeyStep(index=0, slot=active.other, regenerate=True, write_vault=True)


def scheduled_rotation(context: Any, retry: Any = None) -> Orchestration:
    """Rotate an account key with zero downtime (see ``shared.keys.rotation``).

    Input: ``RotationRequest``. Output: ``RotationResult``. Steps: read the secret's state ->
    plan -> one idempotent activity regenerates the other key, proves it and writes the new
    version -> durable timer for the grace period -> record.
    """
    request = RotationRequest.model_validate(loads(context.get_input()))
    rotation_id = str(context.instance_id)
    read = ReadStateRequest(
        vault_url=request.vault_url, secret_name=request.secret_name, validity_days=request.validity_days
    )
    state = RotationState.model_validate(loads((yield call(context, ACTIVITY_READ_STATE, read, retry))))
    plan = plan_scheduled_rotation(request, state)
    if isinstance(plan, RotationResult):
        return (yield from _finish(context, plan.model_copy(update={"rotation_id": rotation_id})))
    context.set_custom_status({"stage": "rotating", "slot": plan.slot.value})
    step_request = KeyStepRequest(
        rotation_id=rotation_id,
        account_id=request.account_id,
        vault_url=request.vault_url,
        secret_name=request.secret_name,
        expected_version=request.secret_version,
        step=plan,
        validity_days=state.validity_days or request.validity_days,
        now=context.current_utc_datetime,
    )
    outcome = KeyStepOutcome.model_validate(loads((yield call(context, ACTIVITY_APPLY_STEP, step_request, retry))))
    if outcome.status is KeyStepStatus.SUPERSEDED:
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


def _approval_request(request: EmergencyRotationRequest, policy: EmergencyPolicy) -> ApprovalRequest:
    """What the approval gate is asked for this rotation."""
    step = ResponseStep(
        id=GATE_STEP_ID,
        action=ActionKind.ROTATE_KEY_EMERGENCY,
        target=request.account_id,
        parameters={"exposure": request.exposure.value, "both_exposed": policy.both_exposed},
        approval=ApprovalRequirement.ONE_APPROVER,
        reason=request.reason or "emergency rotation of an exposed API key",
    )
    return ApprovalRequest(
        incident_id=request.incident_id or "standalone",
        step=step,
        requirement="one_approver",
        timeout_seconds=policy.approval_timeout_seconds,
        final_decision="deny",
        owners=policy.owners,
        explanation=f"Regenerate the {request.exposure.value} key of {request.account_id}: {request.reason}"[:4000],
        title=f"Emergency key rotation of {request.account_id.name}",
    )


def _not_approved(
    rotation_id: str, request: EmergencyRotationRequest, outcome: ApprovalOutcome, gate: str
) -> RotationResult:
    who = ", ".join(outcome.approver_names)
    expired = outcome.reason == "expired"
    return RotationResult(
        rotation_id=rotation_id,
        account_id=request.account_id,
        status=RotationStatus.EXPIRED if expired else RotationStatus.REJECTED,
        detail=(
            f"no approval before the deadline ({gate}); nothing was rotated"
            if expired
            else f"rejected by {who or 'an approver'} ({gate}); nothing was rotated"
        )[:2000],
    )


def emergency_rotation(context: Any, retry: Any = None) -> Orchestration:
    """Regenerate leaked key(s) now, keeping a working key in Key Vault after every step.

    Input: ``EmergencyRotationRequest``; output: ``RotationResult``. Callable as a
    sub-orchestration (``context.call_sub_orchestrator("keys_rotate_emergency", input, id)``).
    """
    request = EmergencyRotationRequest.model_validate(loads(context.get_input()))
    rotation_id = str(context.instance_id)
    policy = EmergencyPolicy.model_validate(loads((yield call(context, ACTIVITY_EMERGENCY_POLICY, request))))
    both_exposed = policy.both_exposed
    if policy.requires_approval:
        gate_id = approval_instance_id(request.incident_id or rotation_id, GATE_STEP_ID)
        context.set_custom_status({"stage": "awaiting_approval", "gate": gate_id})
        asked = _approval_request(request, policy).model_dump(mode="json")
        decision = ApprovalOutcome.model_validate(
            loads((yield context.call_sub_orchestrator(GATE_ORCHESTRATOR, asked, gate_id)))
        )
        if not decision.approved:
            return (yield from _finish(context, _not_approved(rotation_id, request, decision, gate_id)))

    context.set_custom_status({"stage": "rotating"})
    outcomes: list[KeyStepOutcome] = []
    state: RotationState | None = None
    for attempt in range(MAX_REPLANS):
        located = loads((yield call(context, ACTIVITY_LOCATE_SECRET, request, retry)))
        state = RotationState.model_validate(located) if located else None
        active = state.active_slot if state is not None and state.problem is None else None
        steps = plan_emergency_rotation(active, request.exposure, both_exposed=both_exposed)
        outcomes = []
        superseded = False
        for step in steps:
            step_request = KeyStepRequest(
                rotation_id=f"{rotation_id}:{attempt}",
                account_id=request.account_id,
                vault_url=state.vault_url if state is not None else "https://unused.invalid",
                secret_name=state.secret_name if state is not None else "unused",
                expected_version=state.current_version if state is not None else "",
                step=step.model_copy(update={"write_vault": step.write_vault and active is not None}),
                validity_days=(state.validity_days if state is not None else None) or request.validity_days,
                now=context.current_utc_datetime,
            )
            outcome = KeyStepOutcome.model_validate(
                loads((yield call(context, ACTIVITY_APPLY_STEP, step_request, retry)))
            )
            if outcome.status is KeyStepStatus.SUPERSEDED:
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
