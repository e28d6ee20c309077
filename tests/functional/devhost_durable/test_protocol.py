"""The host <-> orchestrator JSON protocol, against the real SDK handle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from devhost.durable.history import EventType, make_event
from devhost.durable.protocol import build_context, flatten_actions, invoke_orchestrator
from devhost.loader import LoadedApp

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _start(name: str, input_text: str | None) -> list[dict[str, object]]:
    return [
        make_event(EventType.OrchestratorStarted, T0),
        make_event(EventType.ExecutionStarted, T0, Name=name, Version="", Input=json.dumps(input_text)),
    ]


def test_context_uses_schema_v3_and_omits_the_long_timer_fields() -> None:
    context = json.loads(build_context([], '{"a": 1}', "iid", None))
    assert context == {
        "history": [],
        "input": '{"a": 1}',
        "instanceId": "iid",
        "isReplaying": False,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
    }


def test_first_episode_returns_the_first_action(durable_app: LoadedApp) -> None:
    handle = durable_app.functions["approval_orchestrator"].user_function
    history = _start("approval_orchestrator", '{"resource": "r1"}')
    reply = invoke_orchestrator(handle, build_context(history, '{"resource": "r1"}', "i1", None))
    assert reply.error is None
    assert not reply.is_done
    assert reply.actions == [{"actionType": 0, "functionName": "request_approval", "input": '{"resource": "r1"}'}]


def test_retry_actions_are_unwrapped_from_their_when_all_wrapper(durable_app: LoadedApp) -> None:
    handle = durable_app.functions["retry_orchestrator"].user_function
    job = json.dumps({"key": "k", "failures": 0, "max_attempts": 2})
    reply = invoke_orchestrator(handle, build_context(_start("retry_orchestrator", job), job, "i2", None))
    assert [a["actionType"] for a in reply.actions] == [1]
    assert reply.actions[0]["retryOptions"] == {"firstRetryIntervalInMilliseconds": 20, "maxNumberOfAttempts": 2}


def test_orchestrator_failure_is_read_from_the_out_of_proc_data(durable_app: LoadedApp) -> None:
    handle = durable_app.functions["throwing_orchestrator"].user_function
    history = [
        *_start("throwing_orchestrator", None),
        make_event(EventType.TaskScheduled, T0, 0, Name="square"),
        make_event(EventType.OrchestratorCompleted, T0),
        make_event(EventType.OrchestratorStarted, T0),
        make_event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result="16"),
    ]
    reply = invoke_orchestrator(handle, build_context(history, None, "i3", None))
    assert reply.error == "orchestrator gave up after 16"
    assert not reply.is_done
    assert [a["functionName"] for a in reply.actions] == ["square"]


def test_flatten_is_depth_first_through_nested_compound_actions() -> None:
    nested: list[dict[str, Any]] = [
        {
            "actionType": 11,
            "compoundActions": [{"actionType": 12, "compoundActions": [{"id": 1}, {"id": 2}]}, {"id": 3}],
        },
        {"id": 4},
    ]
    assert [a["id"] for a in flatten_actions(nested)] == [1, 2, 3, 4]
