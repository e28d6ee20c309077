"""The incident and restore orchestration bodies (contract: ``shared.contracts.incident``).

The policy is read by the triage activity, so a policy change cannot make a replay diverge. The
custom status both publish is described in ``shared.orchestrations.status``.

Incident flow (``incident_orchestration``)
------------------------------------------
1. ``incident_opened`` (audit the first finding);
2. **triage** — ``incident_triage`` loads the policy and the resource's tags and returns the
   ``ResponsePlan`` (playbook by finding kind, alert category, severity and tags; guards:
   protected resources, circuit breaker, dry run). If triage fails, the failure is shown in the
   custom status and the incident still stays open and closes normally;
3. **notify** — ``incident_notify`` with stage ``planned``;
4. **approval gate** — every step whose approval is not ``automatic`` is decided, in parallel, by
   the ``approval_gate`` sub-orchestration (instance ``approval_instance_id(incident, step)``;
   ``shared.contracts.approval``). Each decision is audited (``incident_record_decision``).
   Skipped in dry run;
5. **execute** — approved and automatic steps run in waves: the n-th step of every target
   resource runs in parallel with the others (``task_all``); steps on one resource keep the
   playbook's order. ``rotate_key_emergency`` runs the ``keys_rotate_emergency`` orchestration as
   a sub-orchestration (already approved here, so with ``requires_approval: false``); every other
   action is the ``incident_execute_step`` activity;
6. **verify** — ``incident_verify`` re-reads every changed resource;
7. **notify** — ``incident_notify`` with stage ``responded`` (this is what ``notify_owners``
   steps do);
8. **open / close** — the quiet period absorbing findings, then the two-phase close
   (``incident_mark_closing``, settle timer, ``incident_close``).

Findings that join an open incident are recorded by the intake in Table Storage, not raised as
events: a storm of 1,000 alerts costs the orchestration no history (and sidesteps the Durable
Python SDK's early-event bug #507 for repeated waits on one event name).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from shared.contracts.approval import GATE_ORCHESTRATOR, ApprovalOutcome, ApprovalRequest, approval_instance_id
from shared.contracts.incident import (
    ACTIVITY_CLOSE,
    ACTIVITY_COUNT,
    ACTIVITY_DECISION,
    ACTIVITY_EXECUTE,
    ACTIVITY_MARK_CLOSING,
    ACTIVITY_NOTIFY,
    ACTIVITY_OPENED,
    ACTIVITY_RECORD_RESULT,
    ACTIVITY_RESTORE_PLAN,
    ACTIVITY_RESTORE_STEP,
    ACTIVITY_TRIAGE,
    ACTIVITY_VERIFY,
    DecisionRequest,
    ExecuteRequest,
    IncidentInput,
    IncidentRef,
    NotifyRequest,
    OpenedRequest,
    RecordResultRequest,
    RestoreInput,
    RestorePlan,
    RestorePlanRequest,
    RestoreStepRequest,
    TriageRequest,
    TriageResult,
    VerifyItem,
    VerifyOutcome,
    VerifyRequest,
)
from shared.contracts.rotation import (
    EMERGENCY_ORCHESTRATOR,
    EmergencyRotationRequest,
    RotationResult,
    RotationStatus,
    emergency_instance_id,
)
from shared.orchestrations.calls import call, loads
from shared.orchestrations.status import StatusView, cut
from shared.response.steps import ActionKind, ResponseStep, StepResult, StepStatus

__all__ = ["incident_orchestration", "restore_orchestration"]

Orchestration = Generator[Any, Any, dict[str, Any]]


def _decide(
    context: Any,
    view: StatusView,
    incident_id: str,
    steps: list[ResponseStep],
    requests: list[ApprovalRequest],
) -> Generator[Any, Any, dict[str, ApprovalOutcome]]:
    """Ask the approval gate about every step of ``steps`` (in parallel); audit each decision;
    returns them by step id."""
    if not steps:
        return {}
    view.data["pending_approvals"] = [
        {
            "step_id": s.id,
            "action": s.action.value,
            "target": str(s.target),
            "requirement": s.approval.value,
            "instance_id": approval_instance_id(incident_id, s.id),
        }
        for s in steps
    ]
    for step in steps:
        view.update(step.id, status=StepStatus.AWAITING_APPROVAL.value)
    view.publish(context, "awaiting_approval")
    raw = yield context.task_all(
        [
            context.call_sub_orchestrator(
                GATE_ORCHESTRATOR, request.model_dump(mode="json"), approval_instance_id(incident_id, step.id)
            )
            for step, request in zip(steps, requests, strict=True)
        ]
    )
    outcomes = [ApprovalOutcome.model_validate(loads(r)) for r in raw]
    yield context.task_all(
        [
            call(context, ACTIVITY_DECISION, DecisionRequest(incident_id=incident_id, step=s, outcome=o))
            for s, o in zip(steps, outcomes, strict=True)
        ]
    )
    decided: dict[str, ApprovalOutcome] = {}
    for step, outcome in zip(steps, outcomes, strict=True):
        decided[step.id] = outcome
        names = list(outcome.approver_names)
        if outcome.approved:
            view.update(step.id, status=StepStatus.APPROVED.value, decided_by=names)
        else:
            status = StepStatus.EXPIRED if outcome.reason == "expired" else StepStatus.REJECTED
            view.update(
                step.id,
                status=status.value,
                decided_by=names,
                detail=f"not approved ({outcome.reason}); nothing was changed",
            )
    view.data["pending_approvals"] = []
    return decided


def _waves(steps: list[ResponseStep]) -> list[list[ResponseStep]]:
    """Steps grouped so the n-th step of every target runs in wave n (targets in parallel)."""
    by_target: dict[str, list[ResponseStep]] = {}
    for step in steps:
        by_target.setdefault(str(step.target).lower(), []).append(step)
    depth = max((len(v) for v in by_target.values()), default=0)
    return [[chain[i] for chain in by_target.values() if i < len(chain)] for i in range(depth)]


_ROTATION_STATUS = {
    RotationStatus.ROTATED: StepStatus.SUCCEEDED,
    RotationStatus.ALREADY_ROTATED: StepStatus.NO_OP,
    RotationStatus.REJECTED: StepStatus.REJECTED,
    RotationStatus.EXPIRED: StepStatus.EXPIRED,
}


def _rotation_result(step: ResponseStep, output: Any) -> StepResult:
    """The emergency rotation's ``RotationResult`` as the step's ``StepResult``."""
    try:
        rotation = RotationResult.model_validate(loads(output))
    except ValidationError as exc:
        error = f"the rotation answered something unreadable: {exc.error_count()} problem(s)"
        return StepResult(
            step_id=step.id, action=step.action, target=step.target, status=StepStatus.FAILED, error=error
        )
    status = _ROTATION_STATUS.get(rotation.status, StepStatus.FAILED)
    detail = rotation.detail or rotation.status.value
    return StepResult(
        step_id=step.id,
        action=step.action,
        target=step.target,
        status=status,
        before={"secret_version": rotation.previous_version} if rotation.previous_version else None,
        after={
            "secret_version": rotation.new_version,
            "active_slot": rotation.active_slot.value if rotation.active_slot else None,
        }
        if rotation.new_version
        else None,
        detail=detail[:2000],
        error=None if status is not StepStatus.FAILED else detail[:2000] or "the rotation did not complete",
    )


def _await_wave(
    context: Any, wave: list[ResponseStep], tasks: list[Any]
) -> Generator[Any, Any, tuple[list[Any], dict[str, str]]]:
    """Wait for one wave's tasks: their outputs, and for each step whose activity kept failing
    (not an Azure error: those are results) what went wrong."""
    failures: dict[str, str] = {}
    try:
        outputs: list[Any] = yield context.task_all(tasks)
    except Exception:
        # task_all fails at the first failure while its siblings may still run: wait for each
        # one and record what it really did, so a step that succeeded is not reported failed.
        outputs = []
        for step, task in zip(wave, tasks, strict=True):
            try:
                outputs.append((yield task))
            except Exception as exc:
                outputs.append(None)
                failures[step.id] = f"the step could not run: {exc}"[:2000]
    return outputs, failures


def _could_not_run(step: ResponseStep, error: str) -> StepResult:
    return StepResult(step_id=step.id, action=step.action, target=step.target, status=StepStatus.FAILED, error=error)


def _execute(
    context: Any,
    view: StatusView,
    incident_id: str,
    steps: list[ResponseStep],
    approvals: dict[str, ApprovalOutcome],
    *,
    dry_run: bool,
    retry: Any,
) -> Generator[Any, Any, list[tuple[ResponseStep, StepResult]]]:
    done: list[tuple[ResponseStep, StepResult]] = []
    for wave in _waves(steps):
        tasks = []
        for step in wave:
            view.update(step.id, status=StepStatus.RUNNING.value)
            if step.action is ActionKind.ROTATE_KEY_EMERGENCY and not dry_run:
                keys = str(step.parameters.get("keys") or "exposed")
                rotation = EmergencyRotationRequest(
                    account_id=step.target,
                    exposure="both" if keys == "both" else "active",
                    incident_id=incident_id,
                    reason=step.reason[:500],
                    requires_approval=False,
                )
                tasks.append(
                    context.call_sub_orchestrator(
                        EMERGENCY_ORCHESTRATOR,
                        rotation.model_dump(mode="json", exclude_none=True),
                        emergency_instance_id(str(step.target), incident_id),
                    )
                )
                continue
            approved_by = approvals[step.id].approver_ids if step.id in approvals else ()
            request = ExecuteRequest(
                incident_id=incident_id,
                step=step,
                dry_run=dry_run,
                approved_by=approved_by,
                now=context.current_utc_datetime,
            )
            tasks.append(call(context, ACTIVITY_EXECUTE, request, retry))
        view.publish(context, "executing")
        outputs, failures = yield from _await_wave(context, wave, tasks)
        recorded = []
        for step, output in zip(wave, outputs, strict=True):
            if step.id in failures:
                result = _could_not_run(step, failures[step.id])
                view.set_result(result)
                done.append((step, result))
                continue
            if step.action is ActionKind.ROTATE_KEY_EMERGENCY and not dry_run:
                result = _rotation_result(step, output)
                recorded.append(
                    call(
                        context,
                        ACTIVITY_RECORD_RESULT,
                        RecordResultRequest(
                            incident_id=incident_id, step=step, result=result, now=context.current_utc_datetime
                        ),
                    )
                )
            else:
                result = StepResult.model_validate(loads(output))
            view.set_result(result)
            done.append((step, result))
        if recorded:
            yield context.task_all(recorded)
    return done


def _notify(
    context: Any, view: StatusView, incident_id: str, *, stage: str, subject: str, summary: str, **fields: Any
) -> Any:
    view.publish(context, "notifying")
    request = NotifyRequest(
        incident_id=incident_id,
        stage=stage,
        subject=subject[:500],
        summary=summary[:4000],
        steps=tuple(view.data["steps"]),
        **fields,
    )
    return call(context, ACTIVITY_NOTIFY, request)


def _respond(
    context: Any,
    view: StatusView,
    incident_id: str,
    finding: dict[str, Any],
    triage: TriageResult,
    *,
    retry: Any,
) -> Generator[Any, Any, None]:
    plan = triage.plan
    view.data.update(
        {
            "playbook": plan.playbook,
            "rule": plan.rule,
            "dry_run": plan.dry_run,
            "explanation": cut(plan.explanation),
        }
    )
    if triage.tags_error:
        view.data["error"] = cut(f"the resource could not be read: {triage.tags_error}")
    for step in plan.steps:
        view.add_step(step)
    for skipped in plan.skipped:
        view.add_skipped(skipped.id, skipped.action.value, skipped.target, skipped.reason)
    summary = {
        "kind": finding.get("kind"),
        "severity": finding.get("severity"),
        "title": finding.get("title"),
        "resource": finding.get("resource"),
    }
    common = {"owners": plan.owners, "finding": summary, "dry_run": plan.dry_run}
    subject = f"Warden incident {incident_id}: {finding.get('title', '')}"
    yield _notify(context, view, incident_id, stage="planned", subject=subject, summary=plan.explanation, **common)

    changing = [s for s in plan.steps if plan.dry_run or s.action is not ActionKind.NOTIFY_OWNERS]
    gated = [] if plan.dry_run else [s for s in changing if s.needs_approval]
    requests = [
        ApprovalRequest.for_step(incident_id, s, triage.approvals, owners=plan.owners, explanation=plan.explanation)
        for s in gated
    ]
    decided = yield from _decide(context, view, incident_id, gated, requests)
    runnable = [s for s in changing if s.id not in decided or decided[s.id].approved]
    results = yield from _execute(context, view, incident_id, runnable, decided, dry_run=plan.dry_run, retry=retry)

    changed = [(s, r) for s, r in results if r.status in (StepStatus.SUCCEEDED, StepStatus.NO_OP)]
    if changed:
        view.publish(context, "verifying")
        verify = VerifyRequest(incident_id=incident_id, items=tuple(VerifyItem(step=s, result=r) for s, r in changed))
        outcomes = yield call(context, ACTIVITY_VERIFY, verify)
        for outcome in (VerifyOutcome.model_validate(o) for o in loads(outcomes) or []):
            view.update(outcome.step_id, verified=outcome.verified)
            if not outcome.verified and outcome.detail:
                view.update(outcome.step_id, error=outcome.detail)

    done = "; ".join(f"{e['step_id']}: {e['status']}" for e in view.data["steps"])
    finished = f"Warden incident {incident_id}: response finished"
    yield _notify(context, view, incident_id, stage="responded", subject=finished, summary=done, **common)
    if not plan.dry_run:
        for step in plan.steps:
            if step.action is ActionKind.NOTIFY_OWNERS:
                view.update(
                    step.id,
                    status=StepStatus.SUCCEEDED.value,
                    detail="notification recorded for " + ", ".join(plan.owners),
                )


def incident_orchestration(context: Any, *, settle: timedelta, retry: Any = None) -> Orchestration:
    """One incident: open, triage, notify, approve, execute, verify, notify, absorb findings,
    close (see the module docstring). Input: ``IncidentInput``. Output: ``{"incident_id",
    "findings", "status", "playbook", "steps"}``."""
    data = IncidentInput.model_validate(loads(context.get_input()))
    finding = data.finding.model_dump(mode="json")
    quiet = timedelta(minutes=data.quiet_minutes)
    incident_id = str(context.instance_id)
    ref = IncidentRef(incident_id=incident_id, correlation_key=data.correlation_key or data.finding.incident_key)
    view = StatusView(incident_id, data.finding.kind)
    yield call(context, ACTIVITY_OPENED, OpenedRequest(**ref.model_dump(), finding=data.finding))
    view.publish(context, "triage")
    triage: TriageResult | None = None
    try:
        request = TriageRequest(incident_id=incident_id, finding=data.finding, now=context.current_utc_datetime)
        triage = TriageResult.model_validate(loads((yield call(context, ACTIVITY_TRIAGE, request, retry))))
    except Exception as exc:
        view.data["error"] = cut(f"triage failed: {exc}")
    if triage is not None:
        yield from _respond(context, view, incident_id, finding, triage, retry=retry)

    count = 1
    view.data["findings"] = count
    view.publish(context, "open")
    while True:
        yield context.create_timer(context.current_utc_datetime + quiet)
        latest = yield call(context, ACTIVITY_COUNT, ref)
        if latest <= count:
            break
        count = latest
        view.data["findings"] = count
        view.publish(context, "open")
    view.publish(context, "closing")
    yield call(context, ACTIVITY_MARK_CLOSING, ref)
    yield context.create_timer(context.current_utc_datetime + settle)
    final = yield call(context, ACTIVITY_CLOSE, ref)
    view.data["findings"] = final
    view.publish(context, "closed")
    return {
        "incident_id": incident_id,
        "findings": final,
        "status": "closed",
        "playbook": view.data["playbook"],
        "steps": view.data["steps"],
    }


def restore_orchestration(context: Any, *, retry: Any = None) -> Orchestration:
    """Re-apply an incident's snapshots after one approver agrees (``shared.usecases.restore``).

    Input: ``RestoreInput``. Output: ``{"incident_id", "status", "steps"}`` with status
    ``restored`` | ``partial`` | ``rejected`` | ``nothing_to_restore``.
    """
    data = RestoreInput.model_validate(loads(context.get_input()))
    incident_id = data.incident_id
    view = StatusView(incident_id, None)
    view.data["playbook"] = "restore"
    view.publish(context, "planning")
    request = RestorePlanRequest(**data.model_dump(), run=context.current_utc_datetime.isoformat())
    plan = RestorePlan.model_validate(loads((yield call(context, ACTIVITY_RESTORE_PLAN, request))))
    view.data["explanation"] = cut(plan.explanation)
    steps = [item.step.model_copy(update={"id": f"restore-{item.step.id}"[:80]}) for item in plan.items]
    for step in steps:
        view.add_step(step)
    if not steps:
        view.publish(context, "done")
        return {"incident_id": incident_id, "status": "nothing_to_restore", "steps": []}
    requests = [
        ApprovalRequest.for_step(incident_id, s, plan.approvals, owners=plan.owners, explanation=plan.explanation)
        for s in steps
    ]
    decided = yield from _decide(context, view, incident_id, steps, requests)
    approved = [s for s in steps if decided[s.id].approved]
    view.publish(context, "restoring")
    results: list[StepResult] = []
    for wave in _waves(approved):
        for step in wave:
            view.update(step.id, status=StepStatus.RUNNING.value)
        tasks = [
            call(
                context,
                ACTIVITY_RESTORE_STEP,
                RestoreStepRequest(
                    incident_id=incident_id,
                    step=s.model_copy(update={"id": s.id.removeprefix("restore-")}),
                    approved_by=decided[s.id].approver_ids,
                ),
                retry,
            )
            for s in wave
        ]
        outputs, failures = yield from _await_wave(context, wave, tasks)
        for step, output in zip(wave, outputs, strict=True):
            if step.id in failures:
                result = _could_not_run(step, failures[step.id])
            else:
                result = StepResult.model_validate(loads(output))
            view.update(step.id, status=result.status.value, detail=result.detail, error=result.error)
            results.append(result)
    good = {StepStatus.SUCCEEDED, StepStatus.NO_OP}
    if not approved:
        status = "rejected"
    elif len(results) == len(steps) and all(r.status in good for r in results):
        status = "restored"
    else:
        status = "partial"
    view.publish(context, "done")
    return {"incident_id": incident_id, "status": status, "steps": view.data["steps"]}
