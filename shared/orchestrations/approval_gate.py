"""The ``approval_gate`` sub-orchestration body (contract: ``shared.contracts.approval``).

Life of one gate (instance ``{incident_id}:approval:{step_id}``)::

    open (activity: record the pending approval)  ->  notify level 1 (activity, never raises)
    loop until decided or deadline:
        task_any([ decision event (name per decision), durable timer (next reminder /
                   escalation / deadline) ])
        event  -> cancel the timer; check (activity reads the record)
        timer  -> check; escalate to the next level when its time came; remind
    deadline -> expire (activity: final decision, default deny)
    close (activity: audit the outcome) -> ApprovalOutcome

The record in ``WardenApprovals`` is the truth: an event only wakes the gate, which then reads
what the HTTP API recorded (so a forged or duplicated event cannot approve anything, and a lost
event is caught at the next timer). Event names are distinct per decision
(``ApprovalDecision``, ``ApprovalDecision.2``…), sidestepping SDK bug #507; a wake-up that
brought nothing new mutes that name until the next timer, so a buffered event can never spin
the loop. Event payloads may arrive as JSON text (SDK issue #295) and are decoded.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from shared.contracts.approval import (
    ACTIVITY_CHECK,
    ACTIVITY_CLOSE,
    ACTIVITY_ESCALATE,
    ACTIVITY_EXPIRE,
    ACTIVITY_NOTIFY,
    ACTIVITY_OPEN,
    ApprovalOpened,
    ApprovalOutcome,
    ApprovalRef,
    ApprovalRequest,
    ApprovalState,
    EscalateApprovalRequest,
    ExpireApprovalRequest,
    NotifyApproversRequest,
    OpenApprovalRequest,
    decision_event_name,
)
from shared.orchestrations.calls import call, loads

__all__ = ["approval_gate", "decode_event"]

Orchestration = Generator[Any, Any, dict[str, Any]]


def decode_event(value: Any) -> dict[str, Any]:
    """An event payload as a dict: JSON text (SDK #295), double-encoded text, or a dict."""
    value = loads(value)
    return value if isinstance(value, dict) else {}


def approval_gate(context: Any) -> Orchestration:
    """Wait for a human decision on one step (see the module docstring).

    Input: ``ApprovalRequest``. Output: ``ApprovalOutcome``.
    """
    request = ApprovalRequest.model_validate(loads(context.get_input()))
    instance_id = str(context.instance_id)
    started = context.current_utc_datetime
    opened = ApprovalOpened.model_validate(
        loads(
            (
                yield call(
                    context,
                    ACTIVITY_OPEN,
                    OpenApprovalRequest(instance_id=instance_id, request=request, requested_at=started),
                )
            )
        )
    )
    deadline = opened.expires_at
    reminder = timedelta(seconds=opened.reminder_seconds)
    # When each escalation level is asked: the first at once, then after each level's wait.
    level_times = []
    at = opened.requested_at
    for spec in opened.escalation:
        level_times.append(at)
        at = at + timedelta(seconds=spec.wait_seconds)
    level = opened.escalation_level
    status = opened.status
    seen = opened.decisions
    if status == "pending":
        context.set_custom_status({"stage": "awaiting_approval", "instance_id": instance_id, "level": level + 1})
        yield call(
            context, ACTIVITY_NOTIFY, NotifyApproversRequest(instance_id=instance_id, kind="requested", level=level)
        )

    next_reminder = started + reminder
    event_task: Any = None
    muted: str | None = None
    while status == "pending":
        now = context.current_utc_datetime
        if now >= deadline:
            break
        wake = min(deadline, next_reminder)
        if level + 1 < len(level_times):
            wake = min(wake, level_times[level + 1])
        name = decision_event_name(seen + 1)
        if event_task is None and muted != name:
            event_task = context.wait_for_external_event(name)
        timer = context.create_timer(wake)
        tasks = [event_task, timer] if event_task is not None else [timer]
        winner = yield context.task_any(tasks)
        by_event = event_task is not None and winner is event_task
        if by_event:
            timer.cancel()
            signal = decode_event(event_task.result)
            event_task = None
        else:
            signal = {}
        state = ApprovalState.model_validate(
            loads((yield call(context, ACTIVITY_CHECK, ApprovalRef(instance_id=instance_id, signal=signal))))
        )
        status = state.status
        if state.decisions > seen:
            seen = state.decisions
            event_task, muted = None, None
        elif by_event:
            muted = name  # nothing new behind that event: never wait on its name again
        if status != "pending":
            break
        context.set_custom_status(
            {"stage": "awaiting_approval", "instance_id": instance_id, "level": level + 1, "decisions": seen}
        )
        if by_event:
            continue
        now = context.current_utc_datetime
        while level + 1 < len(level_times) and now >= level_times[level + 1]:
            level += 1
            yield call(context, ACTIVITY_ESCALATE, EscalateApprovalRequest(instance_id=instance_id, level=level))
            yield call(
                context, ACTIVITY_NOTIFY, NotifyApproversRequest(instance_id=instance_id, kind="escalated", level=level)
            )
        if now >= next_reminder and now < deadline:
            yield call(
                context, ACTIVITY_NOTIFY, NotifyApproversRequest(instance_id=instance_id, kind="reminder", level=level)
            )
            while next_reminder <= now:
                next_reminder += reminder

    if status == "pending":
        expired = yield call(
            context, ACTIVITY_EXPIRE, ExpireApprovalRequest(instance_id=instance_id, now=context.current_utc_datetime)
        )
        status = ApprovalState.model_validate(loads(expired)).status
    context.set_custom_status({"stage": "decided", "instance_id": instance_id, "status": status})
    outcome = ApprovalOutcome.model_validate(
        loads((yield call(context, ACTIVITY_CLOSE, ApprovalRef(instance_id=instance_id))))
    )
    yield call(
        context,
        ACTIVITY_NOTIFY,
        NotifyApproversRequest(instance_id=instance_id, kind="decided", level=level, status=status),
    )
    return outcome.model_dump(mode="json")
