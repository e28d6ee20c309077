"""The incident and restore orchestration bodies: deterministic generators over a Durable context.

Only ``context`` APIs are used (``get_input``, ``call_activity[_with_retry]``,
``call_sub_orchestrator``, ``task_all``, ``create_timer``, ``current_utc_datetime``,
``instance_id``, ``set_custom_status``): no I/O, clock, randomness or settings. The policy is
read by the triage activity, so a policy change cannot make a replay diverge.
``handlers/incidents.py`` registers them; unit tests drive them with a fake context.

Incident flow (``incident_orchestration``)
------------------------------------------
1. ``incident_opened`` (audit the first finding);
2. **triage** — ``incident_triage`` loads the policy and the resource's tags and returns the
   ``ResponsePlan`` (playbook by finding kind, alert category, severity and tags; guards:
   protected resources, circuit breaker, dry run). If triage fails, the failure is shown in the
   custom status and the incident still stays open and closes normally;
3. **notify** — ``incident_notify`` with stage ``planned`` (the seam the notifications feature
   fills in);
4. **approval gate** — every step whose approval is not ``automatic`` is decided, in parallel:
   by the ``approval_gate`` sub-orchestrator (instance ``{incident}:approval:{step}``) when
   ``gate_available``, otherwise by the policy's auto-decision (``approvals.final_decision``,
   reason ``auto``). Each decision is audited (``incident_record_decision``). Skipped in dry run;
5. **execute** — approved and automatic steps run in waves: the n-th step of every target
   resource runs in parallel with the others (``task_all``); steps on one resource keep the
   playbook's order. ``rotate_key_emergency`` runs the existing ``keys_rotate_emergency``
   orchestration as a sub-orchestration (already approved here, so with
   ``requires_approval: false``); every other action is the ``incident_execute_step`` activity;
6. **verify** — ``incident_verify`` re-reads every changed resource;
7. **notify** — ``incident_notify`` with stage ``responded`` (this is what ``notify_owners``
   steps do);
8. **open / close** — unchanged: the quiet period absorbing findings, then the two-phase close
   (``incident_mark_closing``, settle timer, ``incident_close``).

Custom status (read by the Approvals API and page)
--------------------------------------------------
Always a JSON object of this shape::

    {
      "stage": "triage" | "notifying" | "awaiting_approval" | "executing" | "verifying"
               | "open" | "closing" | "closed"                 (restore: "planning",
               "awaiting_approval", "restoring", "done"),
      "incident_id": "inc-…",
      "kind": "defender:AI.Azure_Jailbreak…",          # the first finding's kind
      "findings": 1,                                    # findings recorded so far
      "playbook": "contain-prompt-attack" | null,
      "rule": "prompt-attacks" | null,
      "dry_run": false,
      "explanation": "rule `prompt-attacks` matched …",  # at most 1000 characters
      "pending_approvals": [                            # steps waiting for a decision now
        {"step_id": "s1-switch-rai-policy", "action": "switch_rai_policy", "target": "/subscriptions/…",
         "requirement": "one_approver", "instance_id": "inc-…:approval:s1-switch-rai-policy"}
      ],
      "steps": [                                        # every playbook step, skipped ones too
        {"step_id": "s1-switch-rai-policy", "action": "switch_rai_policy", "target": "/subscriptions/…",
         "approval": "one_approver",
         "status": "planned" | "awaiting_approval" | "approved" | "rejected" | "expired" | "running"
                   | "succeeded" | "no_op" | "skipped" | "dry_run" | "failed",
         "detail": "…", "error": null | "…", "verified": null | true | false,
         "decided_by": ["alice@contoso.com"]}
      ],
      "error": null | "triage failed: …"
    }

Texts are cut to 300 characters so the status stays far below Durable's size limits.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import timedelta
from typing import Any

from shared.keys.rotation import emergency_instance_id
from shared.models import Finding
from shared.response.models import ApprovalOutcome, ApprovalSettings, Approver, RestorePlan, TriageResult
from shared.steps import ActionKind, ApprovalRequirement, ResponseStep, StepResult, StepStatus

__all__ = [
    "ACTIVITY_CLOSE",
    "ACTIVITY_COUNT",
    "ACTIVITY_DECISION",
    "ACTIVITY_EXECUTE",
    "ACTIVITY_MARK_CLOSING",
    "ACTIVITY_NOTIFY",
    "ACTIVITY_OPENED",
    "ACTIVITY_RECORD_RESULT",
    "ACTIVITY_RESTORE_PLAN",
    "ACTIVITY_RESTORE_STEP",
    "ACTIVITY_TRIAGE",
    "ACTIVITY_VERIFY",
    "APPROVAL_GATE",
    "ORCHESTRATOR",
    "RESTORE_ORCHESTRATOR",
    "ROTATION_ORCHESTRATOR",
    "StatusView",
    "approval_instance_id",
    "fallback_decision",
    "incident_orchestration",
    "restore_instance_id",
    "restore_orchestration",
]

ORCHESTRATOR = "incident_orchestrator"
RESTORE_ORCHESTRATOR = "restore_incident"
APPROVAL_GATE = "approval_gate"
ROTATION_ORCHESTRATOR = "keys_rotate_emergency"
ACTIVITY_OPENED = "incident_opened"
ACTIVITY_COUNT = "incident_findings_count"
ACTIVITY_MARK_CLOSING = "incident_mark_closing"
ACTIVITY_CLOSE = "incident_close"
ACTIVITY_TRIAGE = "incident_triage"
ACTIVITY_NOTIFY = "incident_notify"
ACTIVITY_DECISION = "incident_record_decision"
ACTIVITY_EXECUTE = "incident_execute_step"
ACTIVITY_RECORD_RESULT = "incident_record_result"
ACTIVITY_VERIFY = "incident_verify"
ACTIVITY_RESTORE_PLAN = "incident_restore_plan"
ACTIVITY_RESTORE_STEP = "incident_restore_step"

_TEXT = 300
Orchestration = Generator[Any, Any, dict[str, Any]]


def approval_instance_id(incident_id: str, step_id: str) -> str:
    """The ``approval_gate`` sub-orchestration's instance id for one step."""
    return f"{incident_id}:approval:{step_id}"


def restore_instance_id(incident_id: str) -> str:
    """The ``restore_incident`` orchestration's instance id for an incident."""
    return f"{incident_id}:restore"


def _loads(value: Any) -> Any:
    """Durable payloads sometimes arrive as JSON text (SDK issue #295); decode them."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _cut(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= _TEXT else text[: _TEXT - 1] + "…"


class StatusView:
    """The custom status (see the module docstring), kept in the orchestrator and republished."""

    def __init__(self, incident_id: str, kind: str | None) -> None:
        self.data: dict[str, Any] = {
            "stage": "triage",
            "incident_id": incident_id,
            "kind": kind,
            "findings": 1,
            "playbook": None,
            "rule": None,
            "dry_run": False,
            "explanation": "",
            "pending_approvals": [],
            "steps": [],
            "error": None,
        }
        self._index: dict[str, dict[str, Any]] = {}

    def publish(self, context: Any, stage: str | None = None) -> None:
        if stage is not None:
            self.data["stage"] = stage
        context.set_custom_status(self.data)

    def add_step(self, step: ResponseStep, status: str = StepStatus.PLANNED.value, detail: str = "") -> None:
        entry: dict[str, Any] = {
            "step_id": step.id,
            "action": step.action.value,
            "target": str(step.target),
            "approval": step.approval.value,
            "status": status,
            "detail": _cut(detail) or "",
            "error": None,
            "verified": None,
            "decided_by": [],
        }
        self._index[step.id] = entry
        self.data["steps"].append(entry)

    def add_skipped(self, step_id: str, action: str, target: str | None, reason: str) -> None:
        entry: dict[str, Any] = {
            "step_id": step_id,
            "action": action,
            "target": target,
            "approval": ApprovalRequirement.AUTOMATIC.value,
            "status": StepStatus.SKIPPED.value,
            "detail": _cut(reason) or "",
            "error": None,
            "verified": None,
            "decided_by": [],
        }
        self._index[step_id] = entry
        self.data["steps"].append(entry)

    def update(self, step_id: str, **fields: Any) -> None:
        entry = self._index[step_id]
        for name, value in fields.items():
            entry[name] = _cut(value) if name in ("detail", "error") else value

    def set_result(self, result: StepResult) -> None:
        self.update(result.step_id, status=result.status.value, detail=result.detail, error=result.error)


def fallback_decision(settings: ApprovalSettings) -> ApprovalOutcome:
    """The policy's auto-decision used while no ``approval_gate`` is registered:
    ``approvals.final_decision`` applies at once (as if the approval had timed out)."""
    approved = settings.final_decision == "approve"
    return ApprovalOutcome(
        approved=approved,
        decided_by=(
            Approver(
                approver_id="policy:approvals.final_decision",
                approver_name=f"policy ({settings.final_decision})",
                justification="no approval gate is deployed; the policy's final_decision applied",
                channel="policy",
            ),
        ),
        reason="auto",
    )


def _gate_request(
    incident_id: str, step: ResponseStep, settings: ApprovalSettings, owners: tuple[str, ...], explanation: str
) -> dict[str, Any]:
    requirement = (
        step.approval if step.approval is not ApprovalRequirement.AUTOMATIC else ApprovalRequirement.ONE_APPROVER
    )
    return {
        "incident_id": incident_id,
        "step": step.model_dump(mode="json"),
        "requirement": requirement.value,
        "timeout_seconds": settings.timeout_seconds,
        "escalation": list(settings.escalation),
        "final_decision": settings.final_decision,
        "owners": list(owners),
        "explanation": explanation[:2000],
    }


def _decide(
    context: Any,
    view: StatusView,
    incident_id: str,
    steps: list[ResponseStep],
    *,
    settings: ApprovalSettings,
    owners: tuple[str, ...],
    explanation: str,
    gate_available: bool,
) -> Generator[Any, Any, dict[str, ApprovalOutcome]]:
    """Decide every step of ``steps`` (in parallel); audit each decision; returns them by step id."""
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
    if gate_available:
        raw = yield context.task_all(
            [
                context.call_sub_orchestrator(
                    APPROVAL_GATE,
                    _gate_request(incident_id, s, settings, owners, explanation),
                    approval_instance_id(incident_id, s.id),
                )
                for s in steps
            ]
        )
        outcomes = [ApprovalOutcome.model_validate(_loads(r)) for r in raw]
        source = "approval_gate"
    else:
        outcomes = [fallback_decision(settings) for _ in steps]
        source = "policy"
    yield context.task_all(
        [
            context.call_activity(
                ACTIVITY_DECISION,
                {
                    "incident_id": incident_id,
                    "step": s.model_dump(mode="json"),
                    "outcome": o.model_dump(mode="json"),
                    "source": source,
                },
            )
            for s, o in zip(steps, outcomes, strict=True)
        ]
    )
    decided: dict[str, ApprovalOutcome] = {}
    for step, outcome in zip(steps, outcomes, strict=True):
        decided[step.id] = outcome
        names = [d.approver_name or d.approver_id for d in outcome.decided_by]
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


def _rotation_result(step: ResponseStep, output: Any) -> StepResult:
    data = _loads(output) or {}
    status = {
        "rotated": StepStatus.SUCCEEDED,
        "already_rotated": StepStatus.NO_OP,
        "rejected": StepStatus.REJECTED,
        "expired": StepStatus.EXPIRED,
    }.get(str(data.get("status")), StepStatus.FAILED)
    detail = str(data.get("detail") or data.get("status") or "")
    return StepResult(
        step_id=step.id,
        action=step.action,
        target=step.target,
        status=status,
        before={"secret_version": data.get("previous_version")} if data.get("previous_version") else None,
        after={"secret_version": data.get("new_version"), "active_slot": data.get("active_slot")}
        if data.get("new_version")
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
            approved_by = [d.approver_id for d in approvals[step.id].decided_by] if step.id in approvals else []
            request = {
                "incident_id": incident_id,
                "step": step.model_dump(mode="json"),
                "dry_run": dry_run,
                "approved_by": approved_by,
                "now": context.current_utc_datetime.isoformat(),
            }
            if step.action is ActionKind.ROTATE_KEY_EMERGENCY and not dry_run:
                keys = str(step.parameters.get("keys") or "exposed")
                rotation = {
                    "account_id": str(step.target),
                    "exposure": "both" if keys == "both" else "active",
                    "incident_id": incident_id,
                    "reason": step.reason[:500],
                    "requires_approval": False,
                }
                tasks.append(
                    context.call_sub_orchestrator(
                        ROTATION_ORCHESTRATOR, rotation, emergency_instance_id(str(step.target), incident_id)
                    )
                )
            elif retry is not None:
                tasks.append(context.call_activity_with_retry(ACTIVITY_EXECUTE, retry, request))
            else:
                tasks.append(context.call_activity(ACTIVITY_EXECUTE, request))
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
                    context.call_activity(
                        ACTIVITY_RECORD_RESULT,
                        {
                            "incident_id": incident_id,
                            "step": step.model_dump(mode="json"),
                            "result": result.model_dump(mode="json"),
                            "now": context.current_utc_datetime.isoformat(),
                        },
                    )
                )
            else:
                result = StepResult.model_validate(_loads(output))
            view.set_result(result)
            done.append((step, result))
        if recorded:
            yield context.task_all(recorded)
    return done


def _respond(
    context: Any,
    view: StatusView,
    incident_id: str,
    finding: dict[str, Any],
    triage: TriageResult,
    *,
    gate_available: bool,
    retry: Any,
) -> Generator[Any, Any, None]:
    plan = triage.plan
    view.data.update(
        {
            "playbook": plan.playbook,
            "rule": plan.rule,
            "dry_run": plan.dry_run,
            "explanation": _cut(plan.explanation),
        }
    )
    if triage.tags_error:
        view.data["error"] = _cut(f"the resource could not be read: {triage.tags_error}")
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
    view.publish(context, "notifying")
    yield context.call_activity(
        ACTIVITY_NOTIFY,
        {
            "incident_id": incident_id,
            "stage": "planned",
            "owners": list(plan.owners),
            "subject": f"Warden incident {incident_id}: {finding.get('title', '')}"[:500],
            "summary": plan.explanation[:4000],
            "finding": summary,
            "steps": view.data["steps"],
            "dry_run": plan.dry_run,
        },
    )

    changing = [s for s in plan.steps if plan.dry_run or s.action is not ActionKind.NOTIFY_OWNERS]
    gated = [] if plan.dry_run else [s for s in changing if s.needs_approval]
    decided = yield from _decide(
        context,
        view,
        incident_id,
        gated,
        settings=triage.approvals,
        owners=plan.owners,
        explanation=plan.explanation,
        gate_available=gate_available,
    )
    runnable = [s for s in changing if s.id not in decided or decided[s.id].approved]
    results = yield from _execute(context, view, incident_id, runnable, decided, dry_run=plan.dry_run, retry=retry)

    changed = [(s, r) for s, r in results if r.status in (StepStatus.SUCCEEDED, StepStatus.NO_OP)]
    if changed:
        view.publish(context, "verifying")
        outcomes = yield context.call_activity(
            ACTIVITY_VERIFY,
            {
                "incident_id": incident_id,
                "items": [{"step": s.model_dump(mode="json"), "result": r.model_dump(mode="json")} for s, r in changed],
            },
        )
        for outcome in _loads(outcomes) or []:
            view.update(str(outcome["step_id"]), verified=bool(outcome["verified"]))
            if not outcome["verified"] and outcome.get("detail"):
                view.update(str(outcome["step_id"]), error=str(outcome["detail"]))

    view.publish(context, "notifying")
    yield context.call_activity(
        ACTIVITY_NOTIFY,
        {
            "incident_id": incident_id,
            "stage": "responded",
            "owners": list(plan.owners),
            "subject": f"Warden incident {incident_id}: response finished"[:500],
            "summary": "; ".join(f"{e['step_id']}: {e['status']}" for e in view.data["steps"])[:4000],
            "finding": summary,
            "steps": view.data["steps"],
            "dry_run": plan.dry_run,
        },
    )
    if not plan.dry_run:
        for step in plan.steps:
            if step.action is ActionKind.NOTIFY_OWNERS:
                view.update(
                    step.id,
                    status=StepStatus.SUCCEEDED.value,
                    detail="notification recorded for " + ", ".join(plan.owners),
                )


def _input(context: Any) -> dict[str, Any]:
    value = _loads(context.get_input())
    return value if isinstance(value, dict) else {}


def incident_orchestration(
    context: Any, *, gate_available: bool, settle: timedelta, retry: Any = None
) -> Orchestration:
    """One incident: open, triage, notify, approve, execute, verify, notify, absorb findings,
    close (see the module docstring). Output: ``{"incident_id", "findings", "status",
    "playbook", "steps"}``."""
    data = _input(context)
    finding = data["finding"]
    quiet = timedelta(minutes=int(data.get("quiet_minutes", 30)))
    incident_id = str(context.instance_id)
    correlation = data.get("correlation_key") or Finding.model_validate(finding).incident_key
    base = {"incident_id": incident_id, "correlation_key": correlation}
    view = StatusView(incident_id, finding.get("kind"))
    yield context.call_activity(ACTIVITY_OPENED, {**base, "finding": finding})
    view.publish(context, "triage")
    triage: TriageResult | None = None
    try:
        request = {"incident_id": incident_id, "finding": finding, "now": context.current_utc_datetime.isoformat()}
        if retry is not None:
            raw = yield context.call_activity_with_retry(ACTIVITY_TRIAGE, retry, request)
        else:
            raw = yield context.call_activity(ACTIVITY_TRIAGE, request)
        triage = TriageResult.model_validate(_loads(raw))
    except Exception as exc:
        view.data["error"] = _cut(f"triage failed: {exc}")
    if triage is not None:
        yield from _respond(context, view, incident_id, finding, triage, gate_available=gate_available, retry=retry)

    count = 1
    view.data["findings"] = count
    view.publish(context, "open")
    while True:
        yield context.create_timer(context.current_utc_datetime + quiet)
        latest = yield context.call_activity(ACTIVITY_COUNT, base)
        if latest <= count:
            break
        count = latest
        view.data["findings"] = count
        view.publish(context, "open")
    view.publish(context, "closing")
    yield context.call_activity(ACTIVITY_MARK_CLOSING, base)
    yield context.create_timer(context.current_utc_datetime + settle)
    final = yield context.call_activity(ACTIVITY_CLOSE, base)
    view.data["findings"] = final
    view.publish(context, "closed")
    return {
        "incident_id": incident_id,
        "findings": final,
        "status": "closed",
        "playbook": view.data["playbook"],
        "steps": view.data["steps"],
    }


def restore_orchestration(context: Any, *, gate_available: bool, retry: Any = None) -> Orchestration:
    """Re-apply an incident's snapshots after one approver agrees (see ``shared.response.restore``).

    Input: ``{"incident_id", "requested_by", "reason"}``. Output: ``{"incident_id", "status",
    "steps"}`` with status ``restored`` | ``partial`` | ``rejected`` | ``nothing_to_restore``.
    """
    data = _input(context)
    incident_id = str(data["incident_id"])
    view = StatusView(incident_id, None)
    view.data["playbook"] = "restore"
    view.publish(context, "planning")
    plan = RestorePlan.model_validate(
        _loads(
            (
                yield context.call_activity(
                    ACTIVITY_RESTORE_PLAN,
                    {
                        "incident_id": incident_id,
                        "requested_by": str(data.get("requested_by") or "unknown"),
                        "reason": str(data.get("reason") or ""),
                        "run": context.current_utc_datetime.isoformat(),
                    },
                )
            )
        )
    )
    view.data["explanation"] = _cut(plan.explanation)
    steps = [item.step.model_copy(update={"id": f"restore-{item.step.id}"[:80]}) for item in plan.items]
    for step in steps:
        view.add_step(step)
    if not steps:
        view.publish(context, "done")
        return {"incident_id": incident_id, "status": "nothing_to_restore", "steps": []}
    decided = yield from _decide(
        context,
        view,
        incident_id,
        steps,
        settings=plan.approvals,
        owners=plan.owners,
        explanation=plan.explanation,
        gate_available=gate_available,
    )
    approved = [s for s in steps if decided[s.id].approved]
    view.publish(context, "restoring")
    results: list[StepResult] = []
    for wave in _waves(approved):
        for step in wave:
            view.update(step.id, status=StepStatus.RUNNING.value)
        requests = [
            {
                "incident_id": incident_id,
                "step": s.model_copy(update={"id": s.id.removeprefix("restore-")}).model_dump(mode="json"),
                "approved_by": [d.approver_id for d in decided[s.id].decided_by],
            }
            for s in wave
        ]
        tasks = [
            context.call_activity_with_retry(ACTIVITY_RESTORE_STEP, retry, r)
            if retry is not None
            else context.call_activity(ACTIVITY_RESTORE_STEP, r)
            for r in requests
        ]
        outputs, failures = yield from _await_wave(context, wave, tasks)
        for step, output in zip(wave, outputs, strict=True):
            if step.id in failures:
                result = _could_not_run(step, failures[step.id])
            else:
                result = StepResult.model_validate(_loads(output))
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
