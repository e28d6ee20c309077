"""The ``approval_gate`` sub-orchestration body: a deterministic generator over a Durable context.

Life of one gate (instance ``{incident_id}:approval:{step_id}``)::

    open (activity: record the pending approval)  ->  notify level 1 (activity, never raises)
    loop until decided or deadline:
        task_any([ decision event (name per decision), durable timer (next reminder /
                   escalation / deadline) ])
        event  -> cancel the timer; check (activity reads the record)
        timer  -> check; escalate to the next level when its time came; remind
    deadline -> expire (activity: final decision, default deny)
    close (activity: audit the outcome) -> GateResult

The record in ``WardenApprovals`` is the truth: an event only wakes the gate, which then reads
what the HTTP API recorded (so a forged or duplicated event cannot approve anything, and a lost
event is caught at the next timer). Event names are distinct per decision
(``ApprovalDecision``, ``ApprovalDecision.2``…), sidestepping SDK bug #507; a wake-up that
brought nothing new mutes that name until the next timer, so a buffered event can never spin
the loop. Event payloads may arrive as JSON text (SDK issue #295) and are decoded.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

from shared.approvals.models import event_name

__all__ = [
    "ACTIVITY_CHECK",
    "ACTIVITY_CLOSE",
    "ACTIVITY_ESCALATE",
    "ACTIVITY_EXPIRE",
    "ACTIVITY_NOTIFY",
    "ACTIVITY_OPEN",
    "approval_gate",
    "decode_event",
]

ACTIVITY_OPEN = "approval_open"
ACTIVITY_NOTIFY = "approval_notify"
ACTIVITY_CHECK = "approval_check"
ACTIVITY_ESCALATE = "approval_escalate"
ACTIVITY_EXPIRE = "approval_expire"
ACTIVITY_CLOSE = "approval_close"

Orchestration = Generator[Any, Any, dict[str, Any]]


def decode_event(value: Any) -> dict[str, Any]:
    """An event payload as a dict: JSON text (SDK #295), double-encoded text, or a dict."""
    for _ in range(3):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return {}
        else:
            break
    return value if isinstance(value, dict) else {}


def _input(context: Any) -> dict[str, Any]:
    value = context.get_input()
    return decode_event(value)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def approval_gate(context: Any) -> Orchestration:
    """Wait for a human decision on one step (see the module docstring). Output: ``GateResult``."""
    request = _input(context)
    instance_id = str(context.instance_id)
    started = context.current_utc_datetime
    opened = yield context.call_activity(
        ACTIVITY_OPEN, {"instance_id": instance_id, "request": request, "requested_at": started.isoformat()}
    )
    deadline = _when(opened["expires_at"])
    reminder = timedelta(seconds=int(opened["reminder_seconds"]))
    # When each escalation level is asked: the first at once, then after each level's wait.
    level_times: list[datetime] = []
    at = _when(opened["requested_at"])
    for level in opened["escalation"]:
        level_times.append(at)
        at = at + timedelta(seconds=int(level["wait_seconds"]))
    level = int(opened.get("escalation_level", 0))
    status = str(opened["status"])
    seen = int(opened["decisions"])
    if status == "pending":
        context.set_custom_status({"stage": "awaiting_approval", "instance_id": instance_id, "level": level + 1})
        yield context.call_activity(ACTIVITY_NOTIFY, {"instance_id": instance_id, "kind": "requested", "level": level})

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
        name = event_name(seen + 1)
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
        state = yield context.call_activity(ACTIVITY_CHECK, {"instance_id": instance_id, "signal": signal})
        status = str(state["status"])
        if int(state["decisions"]) > seen:
            seen = int(state["decisions"])
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
            yield context.call_activity(ACTIVITY_ESCALATE, {"instance_id": instance_id, "level": level})
            yield context.call_activity(
                ACTIVITY_NOTIFY, {"instance_id": instance_id, "kind": "escalated", "level": level}
            )
        if now >= next_reminder and now < deadline:
            yield context.call_activity(
                ACTIVITY_NOTIFY, {"instance_id": instance_id, "kind": "reminder", "level": level}
            )
            while next_reminder <= now:
                next_reminder += reminder

    if status == "pending":
        state = yield context.call_activity(
            ACTIVITY_EXPIRE, {"instance_id": instance_id, "now": context.current_utc_datetime.isoformat()}
        )
        status = str(state["status"])
    context.set_custom_status({"stage": "decided", "instance_id": instance_id, "status": status})
    result: dict[str, Any] = yield context.call_activity(ACTIVITY_CLOSE, {"instance_id": instance_id})
    yield context.call_activity(
        ACTIVITY_NOTIFY, {"instance_id": instance_id, "kind": "decided", "level": level, "status": status}
    )
    return result
