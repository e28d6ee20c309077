"""Assembling one orchestrator episode: the inbox in, the SDK's reply out, history and work to commit.

Pure bookkeeping over an ``Episode`` (no I/O): the engine loads the instance and its inbox,
calls ``deliver``, runs the orchestrator, calls ``apply_reply``, then commits what the episode
collected in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.durable.history import EventType, format_time, make_event, parse_time
from devhost.durable.protocol import ActionType, OrchestratorReply
from devhost.durable.store import InstanceRow, MessageRow

__all__ = ["Effects", "Episode", "apply_reply", "deliver", "fresh_state", "next_seq", "parent_notice"]


def fresh_state() -> dict[str, Any]:
    """The engine's replay bookkeeping for a new execution (stored with the instance)."""
    # next_seq: the SDK's sequence counter after the committed history; actions_seen: how many
    # leaf actions of the cumulative action list are materialised; retries: open retry groups,
    # keyed by the id of the attempt or timer currently outstanding.
    return {"next_seq": 0, "actions_seen": 0, "retries": {}}


@dataclass
class Effects:
    """What an episode commits besides history: things to start once the transaction is done."""

    kick: set[str] = field(default_factory=set)
    timers: bool = False


@dataclass
class Episode:
    """One orchestrator episode being assembled."""

    inst: InstanceRow
    now: datetime
    history_len: int
    events: list[dict[str, Any]]
    consumed: list[int]
    effects: Effects = field(default_factory=Effects)
    scheduled: list[dict[str, Any]] = field(default_factory=list)
    pending_children: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    pending_activities: list[tuple[int, str, str | None]] = field(default_factory=list)
    pending_timers: list[tuple[int, datetime]] = field(default_factory=list)
    parent_event: dict[str, Any] | None = None
    # ContinueAsNew: a 1-tuple holding the new input's JSON text (which may itself be None).
    continue_as_new: tuple[str | None] | None = None


def deliver(episode: Episode, incoming: list[MessageRow]) -> None:
    """Append the inbox to the episode, retry bookkeeping first.

    The SDK allocates a sequence id when it processes a retry attempt's failure (for the retry
    timer) and when that timer fires (for the next attempt), while new tasks get ids as they
    are yielded. Putting those "allocating" events first in the episode (they never advance
    the generator) makes the id order unambiguous: first the retry ids, then the new actions.
    """
    state = episode.inst.engine_state
    retries: dict[str, dict[str, Any]] = state["retries"]
    allocating: list[MessageRow] = []
    rest: list[MessageRow] = []
    for msg in incoming:
        event = msg.event
        etype = event["EventType"]
        if etype in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            group = retries.get(str(event.get("TaskScheduledId")))
            if group is not None and group["phase"] == "attempt":
                allocating.append(msg)
                continue
        elif etype == EventType.TimerFired:
            group = retries.get(str(event.get("TimerId")))
            if group is not None and group["phase"] == "timer" and not group["final"]:
                allocating.append(msg)
                continue
        rest.append(msg)
    for msg in allocating:
        event = msg.event
        if event["EventType"] == EventType.TimerFired:
            group = retries.pop(str(event["TimerId"]))
            seq = next_seq(state)
            group["attempts"] += 1
            group["phase"] = "attempt"
            retries[str(seq)] = group
            schedule_call(episode, seq, group["action"])
        else:
            group = retries.pop(str(event["TaskScheduledId"]))
            seq = next_seq(state)
            final = group["attempts"] >= group["max_attempts"]
            # DTFx waits one more timer after the last attempt and fires it immediately.
            fire_at = episode.now if final else episode.now + timedelta(milliseconds=group["interval_ms"])
            group["phase"] = "timer"
            group["final"] = final
            retries[str(seq)] = group
            schedule_timer(episode, seq, fire_at)
    for msg in rest:
        event = msg.event
        etype = event["EventType"]
        key = str(event.get("TimerId") if etype == EventType.TimerFired else event.get("TaskScheduledId"))
        if etype in (
            EventType.TaskCompleted,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.TimerFired,
        ):
            retries.pop(key, None)
    episode.events.extend(m.event for m in allocating)
    episode.events.extend(m.event for m in rest)


def next_seq(state: dict[str, Any]) -> int:
    """Take the next sequence id (the SDK's task counter) of the execution."""
    seq = int(state["next_seq"])
    state["next_seq"] = seq + 1
    return seq


def schedule_call(episode: Episode, seq: int, action: dict[str, Any]) -> None:
    """Write TaskScheduled / SubOrchestrationInstanceCreated for an activity or sub-orchestration."""
    atype = action["actionType"]
    if atype in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        episode.scheduled.append(
            make_event(
                EventType.TaskScheduled,
                episode.now,
                seq,
                Name=action["functionName"],
                Version="",
                Input=action.get("input"),
            )
        )
        episode.pending_activities.append((seq, action["functionName"], action.get("input")))
    else:
        child_id = action.get("instanceId") or f"{episode.inst.instance_id}:{seq}"
        episode.scheduled.append(
            make_event(
                EventType.SubOrchestrationInstanceCreated,
                episode.now,
                seq,
                Name=action["functionName"],
                Version=action.get("version") or "",
                InstanceId=child_id,
                Input=action.get("input"),
            )
        )
        episode.pending_children.append((seq, {**action, "instanceId": child_id}))


def schedule_timer(episode: Episode, seq: int, fire_at: datetime) -> None:
    """Write TimerCreated and a TimerFired message that becomes visible at ``fire_at``."""
    episode.scheduled.append(make_event(EventType.TimerCreated, episode.now, seq, FireAt=format_time(fire_at)))
    episode.pending_timers.append((seq, fire_at))


def apply_reply(episode: Episode, reply: OrchestratorReply) -> None:
    """Turn the orchestrator's reply into scheduled events, work and the instance's new state."""
    inst = episode.inst
    state = inst.engine_state
    error = reply.error
    seen = int(state["actions_seen"])
    if error is None and len(reply.actions) < seen:
        error = (
            f"Non-deterministic workflow detected: the orchestrator now schedules {len(reply.actions)} "
            f"actions where its history has {seen}"
        )
    new_actions = reply.actions[seen:] if error is None else []
    can_action: dict[str, Any] | None = None
    for action in new_actions:
        atype = action.get("actionType")
        if atype == ActionType.WAIT_FOR_EXTERNAL_EVENT:
            continue  # keyed by name, takes no sequence id
        if atype == ActionType.CONTINUE_AS_NEW:
            can_action = action
            break
        if atype in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY, ActionType.CALL_HTTP):
            what = "call_http" if atype == ActionType.CALL_HTTP else "durable entities"
            error = f"devhost's durable engine does not support {what} (actionType {atype})"
            break
        if reply.is_done:
            continue  # the orchestration finished; tasks it yielded but never awaited are dropped
        seq = next_seq(state)
        if atype == ActionType.CREATE_TIMER:
            schedule_timer(episode, seq, parse_time(action["fireAt"]))
            continue
        if atype in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            options = action.get("retryOptions") or {}
            state["retries"][str(seq)] = {
                "action": action,
                "attempts": 1,
                "max_attempts": int(options.get("maxNumberOfAttempts", 1)),
                "interval_ms": int(options.get("firstRetryIntervalInMilliseconds", 0)),
                "phase": "attempt",
                "final": False,
            }
        if atype in (
            ActionType.CALL_ACTIVITY,
            ActionType.CALL_ACTIVITY_WITH_RETRY,
            ActionType.CALL_SUB_ORCHESTRATOR,
            ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
        ):
            schedule_call(episode, seq, action)
        else:
            error = f"unknown orchestrator action {action!r}"
            break
    state["actions_seen"] = len(reply.actions)
    stamp = episode.now
    inst.custom_status = json.dumps(reply.custom_status) if reply.custom_status is not None else None
    inst.last_updated_time = format_time(stamp)
    if error is not None:
        finish(episode, "Failed", error=error)
    elif can_action is not None:
        continue_as_new(episode, can_action.get("input"))
    elif reply.is_done:
        finish(episode, "Completed", output=reply.output)
    else:
        inst.runtime_status = "Running"


def finish(episode: Episode, status: str, *, output: Any = None, error: str | None = None) -> None:
    """End the execution Completed (with ``output``) or Failed (with ``error``); tell the parent."""
    inst = episode.inst
    inst.runtime_status = status
    episode.scheduled.clear()
    episode.pending_activities.clear()
    episode.pending_children.clear()
    episode.pending_timers.clear()
    if status == "Completed":
        result = json.dumps(output)
        inst.output = result
        episode.events.append(
            make_event(EventType.ExecutionCompleted, episode.now, OrchestrationStatus="Completed", Result=result)
        )
        parent_event = make_event(
            EventType.SubOrchestrationInstanceCompleted,
            episode.now,
            TaskScheduledId=inst.parent_task_id,
            Result=result,
        )
    else:
        message = f"Orchestrator function '{inst.name}' failed: {error}"
        inst.output = json.dumps(message)
        episode.events.append(
            make_event(
                EventType.ExecutionCompleted,
                episode.now,
                OrchestrationStatus="Failed",
                Result=json.dumps(message),
                FailureDetails={"ErrorType": "OrchestrationFailureException", "ErrorMessage": error},
            )
        )
        parent_event = make_event(
            EventType.SubOrchestrationInstanceFailed,
            episode.now,
            TaskScheduledId=inst.parent_task_id,
            Reason=message,
            Details=error,
        )
    parent_notice(episode, parent_event)


def parent_notice(episode: Episode, event: dict[str, Any]) -> None:
    """Send ``event`` (a sub-orchestration completion or failure) to the parent, if any."""
    inst = episode.inst
    if inst.parent_instance_id is not None:
        episode.effects.kick.add(inst.parent_instance_id)
        episode.parent_event = event


def continue_as_new(episode: Episode, input_text: str | None) -> None:
    """End the execution ContinuedAsNew; the engine starts the next one with ``input_text``."""
    inst = episode.inst
    inst.runtime_status = "ContinuedAsNew"
    episode.scheduled.clear()
    episode.pending_activities.clear()
    episode.pending_children.clear()
    episode.pending_timers.clear()
    episode.continue_as_new = (input_text,)
