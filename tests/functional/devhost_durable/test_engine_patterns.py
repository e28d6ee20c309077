"""Durable patterns driven through the engine's Python API, asserting outputs and history shapes.

The orchestrators are the real ``df.DFApp`` functions of the sample app, replayed by the real
SDK; the expected histories follow DTFx (ids in the SDK's order, retries executed by the host).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from devhost.durable import (
    DurableEngine,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    ManualClock,
    OrchestratorNotFoundError,
)
from devhost.durable.history import EventType, format_time, make_event, parse_time
from devhost.loader import LoadedApp
from tests.functional.devhost_durable.support import durable_host, episode, run, shape

REQUEST = {"resource": "aoai-prod"}


def test_approval_event_wins_cancels_timer_and_processes_decision(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("approval_orchestrator", REQUEST, instance_id="approval-1")
            await engine.wait_for_idle()
            waiting = await engine.get_status(iid)
            assert waiting is not None
            assert waiting.runtime_status == "Running"
            assert waiting.custom_status == {"stage": "awaiting_approval"}

            await engine.raise_event(iid, "ApprovalEvent", {"approved": True})
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Completed"
            assert status.output == {"decision": {"approved": True}, "type": "dict"}
            assert status.custom_status == {"stage": "decided"}
            assert shape(engine.get_history(iid)) == [
                *episode(("ExecutionStarted", -1), ("TaskScheduled", 0)),
                *episode(("TaskCompleted", 0), ("TimerCreated", 1)),
                *episode(("EventRaised", "ApprovalEvent"), ("TaskScheduled", 2)),
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 2),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]

    run(scenario())


def test_approval_timeout_wins_after_72_hours_on_a_manual_clock(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with durable_host(durable_app, tmp_path / "store.db", clock=clock) as host:
            engine = host.engine
            started_at = clock.now()
            iid = await engine.start_new("approval_orchestrator", REQUEST)
            await engine.wait_for_idle()
            history = engine.get_history(iid)
            timer = next(e for e in history if e["EventType"] == 10)
            assert parse_time(timer["FireAt"]) == started_at + timedelta(hours=72)

            clock.advance(timedelta(hours=71, minutes=59))
            await engine.wait_for_idle()
            still = await engine.get_status(iid)
            assert still is not None
            assert still.runtime_status == "Running"

            clock.advance(timedelta(minutes=1))
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Completed"
            assert status.output == {"escalated": "aoai-prod"}
            assert status.custom_status == {"stage": "escalated"}
            history = engine.get_history(iid)
            assert shape(history)[8:] == [
                *episode(("TimerFired", 1), ("TaskScheduled", 2)),
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 2),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]
            fired_episode_start = history[8]
            assert parse_time(fired_episode_start["Timestamp"]) >= parse_time(timer["FireAt"])

    run(scenario())


def test_after_task_all_fails_each_sibling_can_still_be_awaited_for_its_own_outcome(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            iid = await host.engine.start_new("partial_failure_orchestrator", [2, -1, 3])
            status = await host.engine.wait_for_completion(iid)
            assert status.runtime_status == "Completed", status.output
            each = status.output["each"]
            assert each[0] == 4 and each[2] == 9
            assert each[1].startswith("failed:") and "negative input -1" in each[1]
            scheduled = [ref for kind, ref in shape(host.engine.get_history(iid)) if kind == "TaskScheduled"]
            assert scheduled == [0, 1, 2]  # awaiting a task again schedules nothing new

    run(scenario())


def test_fan_out_fan_in_of_100_activities(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("fan_out_orchestrator", 100)
            status = await engine.wait_for_completion(iid)

            assert status.output == {"count": 100, "sum": sum(i * i for i in range(100))}
            history = shape(engine.get_history(iid))
            assert history[:2] == [("OrchestratorStarted", -1), ("ExecutionStarted", -1)]
            assert history[2:102] == [("TaskScheduled", i) for i in range(100)]
            completed = sorted(ref for kind, ref in history if kind == "TaskCompleted")
            assert completed == list(range(100))
            assert history[-2:] == [("ExecutionCompleted", -1), ("OrchestratorCompleted", -1)]

    run(scenario())


def test_retry_then_success_writes_host_side_retry_history(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            job = {"key": f"{tmp_path}-ok", "failures": 2, "max_attempts": 3}
            iid = await engine.start_new("retry_orchestrator", job)
            status = await engine.wait_for_completion(iid)

            assert status.output == {"result": "succeeded on attempt 3"}
            assert shape(engine.get_history(iid)) == [
                *episode(("ExecutionStarted", -1), ("TaskScheduled", 0)),
                *episode(("TaskFailed", 0), ("TimerCreated", 1)),
                *episode(("TimerFired", 1), ("TaskScheduled", 2)),
                *episode(("TaskFailed", 2), ("TimerCreated", 3)),
                *episode(("TimerFired", 3), ("TaskScheduled", 4)),
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 4),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]

    run(scenario())


def test_retry_then_failure_waits_one_extra_timer_before_throwing(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            job = {"key": f"{tmp_path}-never", "failures": 99, "max_attempts": 2}
            iid = await engine.start_new("retry_orchestrator", job)
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Completed"
            assert status.output == {"gave_up": "Activity function 'flaky' failed: ConnectionError: attempt 2 failed "}
            history = engine.get_history(iid)
            assert shape(history) == [
                *episode(("ExecutionStarted", -1), ("TaskScheduled", 0)),
                *episode(("TaskFailed", 0), ("TimerCreated", 1)),
                *episode(("TimerFired", 1), ("TaskScheduled", 2)),
                *episode(("TaskFailed", 2), ("TimerCreated", 3)),
                ("OrchestratorStarted", -1),
                ("TimerFired", 3),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]
            final_timer = history[-6]
            assert final_timer["FireAt"] == final_timer["Timestamp"]  # the dummy timer fires at once

    run(scenario())


def test_parallel_retries_interleave_sequence_ids_like_the_sdk(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            jobs = [
                {"key": f"{tmp_path}-a", "failures": 1, "max_attempts": 4},
                {"key": f"{tmp_path}-b", "failures": 3, "max_attempts": 4},
            ]
            iid = await engine.start_new("parallel_retry_orchestrator", jobs)
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Completed", status.output
            assert status.output == {
                "results": ["succeeded on attempt 2", "succeeded on attempt 4"],
                "after": 4,
            }
            history = shape(engine.get_history(iid))
            scheduled = [ref for kind, ref in history if kind in ("TaskScheduled", "TimerCreated")]
            assert scheduled == list(range(len(scheduled)))  # one counter, no gaps, no reuse
            assert len(scheduled) == 2 + 1 * 2 + 3 * 2 + 1  # attempts + retry timers + "square"

    run(scenario())


def test_monitor_continues_as_new_until_done(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("monitor_orchestrator", {"round": 0, "rounds": 3, "seen": []})
            status = await engine.wait_for_completion(iid)

            assert status.output == {"rounds": 3, "seen": ["checked 0", "checked 1", "checked 2"]}
            # Only the last execution's history remains, started with the continued input.
            history = engine.get_history(iid)
            assert shape(history) == [
                *episode(("ExecutionStarted", -1), ("TaskScheduled", 0)),
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 0),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]
            assert json.loads(json.loads(history[1]["Input"]))["round"] == 2  # stored double-encoded

    run(scenario())


def test_monitor_reports_continued_as_new_between_executions(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        async with durable_host(durable_app, tmp_path / "store.db", clock=clock) as host:
            engine = host.engine
            iid = await engine.start_new("monitor_orchestrator", {"round": 0, "rounds": 2, "seen": []})
            await engine.wait_for_idle()  # waiting on the 10 ms timer of round 0
            engine._running = False  # freeze scheduling so the next status is observable
            clock.advance(timedelta(seconds=1))
            assert await engine._episode(iid)  # the timer fires; the episode continues as new
            status = await engine.get_status(iid)
            assert status is not None
            assert status.runtime_status == "ContinuedAsNew"
            engine._running = True
            engine._kick(iid)
            final = await engine.wait_for_completion(iid)
            assert final.output == {"rounds": 2, "seen": ["checked 0", "checked 1"]}

    run(scenario())


def test_sub_orchestration_success_returns_child_output(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("parent_orchestrator", {"value": 7}, instance_id="parent-ok")
            status = await engine.wait_for_completion(iid)

            assert status.output == {"child": {"squared": 49, "parent": "parent-ok"}}
            assert shape(engine.get_history(iid)) == [
                *episode(("ExecutionStarted", -1), ("SubOrchestrationInstanceCreated", 0)),
                ("OrchestratorStarted", -1),
                ("SubOrchestrationInstanceCompleted", 0),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]
            child = await engine.get_status("parent-ok:0")
            assert child is not None
            assert child.runtime_status == "Completed"

    run(scenario())


def test_sub_orchestration_failure_fails_the_parent(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            job = {"value": 5, "fail": True, "child_id": "child-of-p1"}
            iid = await engine.start_new("parent_orchestrator", job, instance_id="p1")
            status = await engine.wait_for_completion(iid)

            child = await engine.get_status("child-of-p1")
            assert child is not None
            assert child.runtime_status == "Failed"
            assert child.output == "Orchestrator function 'child_orchestrator' failed: child refused value 5"
            assert status.runtime_status == "Failed"
            assert "child refused value 5" in status.output
            assert ("SubOrchestrationInstanceFailed", 0) in shape(engine.get_history(iid))

    run(scenario())


def test_sub_orchestration_failure_can_be_caught_by_the_parent(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("parent_orchestrator", {"value": 2, "fail": True, "catch": True})
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Completed"
            assert status.output == {
                "caught": "Orchestrator function 'child_orchestrator' failed: child refused value 2 "
            }

    run(scenario())


def test_terminate_stops_a_waiting_instance(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("waiting_orchestrator", None)
            await engine.wait_for_idle()
            await engine.terminate(iid, "no longer needed")
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Terminated"
            assert status.output == "no longer needed"
            assert shape(engine.get_history(iid))[-4:] == episode(
                ("ExecutionTerminated", -1), ("ExecutionCompleted", -1)
            )
            with pytest.raises(InstanceGoneError):
                await engine.raise_event(iid, "Go", 1)
            with pytest.raises(InstanceGoneError):
                await engine.terminate(iid, "again")

    run(scenario())


def test_custom_status_follows_the_orchestrator(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("waiting_orchestrator", None)
            await engine.wait_for_idle()
            waiting = await engine.get_status(iid)
            assert waiting is not None
            assert waiting.custom_status == {"stage": "waiting", "first": 9}

            await engine.raise_event(iid, "Go", "now")
            status = await engine.wait_for_completion(iid)
            assert status.custom_status == {"stage": "done"}
            assert status.output == {"first": 9, "go": "now"}

    run(scenario())


def test_activity_that_throws_fails_the_instance_and_the_engine_stays_up(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("failing_activity_orchestrator", None)
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Failed"
            assert "Activity function 'explode' failed: RuntimeError: activity exploded on boom" in status.output
            failed = next(e for e in engine.get_history(iid) if e["EventType"] == 6)
            assert failed["TaskScheduledId"] == 0
            assert "Traceback" in failed["Details"]

            after = await engine.start_new("fan_out_orchestrator", 3)
            assert (await engine.wait_for_completion(after)).output == {"count": 3, "sum": 5}

    run(scenario())


def test_orchestrator_that_throws_is_failed_with_its_message(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("throwing_orchestrator", None)
            status = await engine.wait_for_completion(iid)

            assert status.runtime_status == "Failed"
            expected = "Orchestrator function 'throwing_orchestrator' failed: orchestrator gave up after 16"
            assert status.output == expected
            assert shape(engine.get_history(iid))[-4:] == [
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 0),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]

    run(scenario())


def test_event_raised_before_the_wait_is_buffered_and_reused_sdk_bug_507(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    """The extension appends early events to history; the SDK buffers them. Because the SDK never
    consumes a buffered event (azure-functions-durable-python #507), ONE early "Ping" satisfies
    both later waits. devhost reproduces what Azure does rather than what the docs promise."""

    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            iid = await engine.start_new("early_event_orchestrator", None)
            await engine.wait_for_idle()
            await engine.raise_event(iid, "Ping", "first")
            await engine.wait_for_idle()
            await engine.raise_event(iid, "Go", "go")
            status = await engine.wait_for_completion(iid)

            assert status.output == ["go", "first", "first"]

    run(scenario())


def test_starting_an_id_that_is_running_fails_and_a_finished_one_is_replaced(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            await engine.start_new("waiting_orchestrator", None, instance_id="dup")
            with pytest.raises(InstanceAlreadyExistsError, match=r"status (Pending|Running) already exists"):
                await engine.start_new("waiting_orchestrator", None, instance_id="dup")
            await engine.terminate("dup", "replace me")
            await engine.wait_for_completion("dup")

            await engine.start_new("fan_out_orchestrator", 2, instance_id="dup")
            status = await engine.wait_for_completion("dup")
            assert status.name == "fan_out_orchestrator"
            assert status.output == {"count": 2, "sum": 1}

    run(scenario())


def test_unknown_orchestrator_and_unknown_instance_are_reported(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            with pytest.raises(OrchestratorNotFoundError, match="'nope' doesn't exist"):
                await engine.start_new("nope", None)
            with pytest.raises(OrchestratorNotFoundError):
                await engine.start_new("square", 1)  # an activity, not an orchestrator
            with pytest.raises(InstanceNotFoundError):
                await engine.raise_event("missing", "Go", None)
            assert await engine.get_status("missing") is None

    run(scenario())


def test_instances_resume_after_a_clean_restart(durable_app: LoadedApp, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = tmp_path / "store.db"
        async with durable_host(durable_app, store) as host:
            iid = await host.engine.start_new("waiting_orchestrator", None, instance_id="resume-me")
            await host.engine.wait_for_idle()
        async with durable_host(durable_app, store) as host:
            await host.engine.raise_event(iid, "Go", "after restart")
            status = await host.engine.wait_for_completion(iid)
            assert status.output == {"first": 9, "go": "after restart"}

    run(scenario())


def test_engine_logs_each_invocation_with_name_instance_and_duration(
    durable_app: LoadedApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> str:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            iid = await host.engine.start_new("input_echo_orchestrator", {"a": 1}, instance_id="logged")
            status = await host.engine.wait_for_completion(iid)
            assert status.output == {"input": {"a": 1}, "instance": "logged"}
            return iid

    with caplog.at_level("INFO", logger="devhost.durable"):
        run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "devhost.durable"]
    activity = re.compile(
        r"Executed 'Functions\.async_double' \(Succeeded, Id=[0-9a-f-]{36}, InstanceId=logged, "
        r"Duration=\d+ms\): activity, task 0"
    )
    orchestrator = re.compile(
        r"Executed 'Functions\.input_echo_orchestrator' \(Succeeded, Id=[0-9a-f-]{36}, InstanceId=logged, "
        r"Duration=\d+ms\): orchestrator episode, \d+ events, instance (Running|Completed)"
    )
    assert sum(bool(activity.fullmatch(m)) for m in messages) == 1
    assert sum(bool(orchestrator.fullmatch(m)) for m in messages) == 2


def test_engine_rejects_a_zero_activity_concurrency(durable_app: LoadedApp, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="activity_concurrency"):
        DurableEngine(durable_app, tmp_path / "s.db", activity_concurrency=0)


def test_sync_activities_run_concurrently_up_to_the_limit(durable_app: LoadedApp, tmp_path: Path) -> None:
    """Each activity waits at a 3-party barrier: with a limit below 3 they would time out, and a
    limit above 3 would show more than 3 running at once."""

    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db", activity_concurrency=3) as host:
            iid = await host.engine.start_new("concurrency_orchestrator", 6)
            status = await host.engine.wait_for_completion(iid)
            assert status.runtime_status == "Completed", status.output
            assert status.output == 3

    run(scenario())


def test_retry_ids_come_before_new_tasks_when_they_arrive_in_one_episode(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    """White-box: with scheduling paused, completions are put in the inbox by hand so that one
    episode holds both a completion that lets the orchestrator schedule a new task and a retry
    failure (which makes the SDK allocate the retry timer's id). Whatever their arrival order,
    the ids the engine writes must be the ones the SDK allocated, or the replay goes wrong."""

    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            engine = host.engine
            engine._running = False  # no automatic episodes or activities
            try:
                iid = engine.create_instance("mixed_retry_orchestrator", None, "mixed")
                assert await engine._episode(iid)  # schedules flaky (0) and square (1)

                def deliver(*events: dict[str, object]) -> None:
                    with engine.store.transaction() as tx:
                        for event in events:
                            tx.add_message(iid, None, "event", format_time(engine.clock.now()), event)

                now = engine.clock.now()
                deliver(  # arrival order: the completion first, then the retry failure
                    make_event(EventType.TaskCompleted, now, TaskScheduledId=1, Result="4"),
                    make_event(EventType.TaskFailed, now, TaskScheduledId=0, Reason="boom", Details="d"),
                )
                assert await engine._episode(iid)
                deliver(
                    make_event(EventType.TimerFired, now, TimerId=2, FireAt=format_time(now)),
                    make_event(EventType.TaskCompleted, now, TaskScheduledId=3, Result="9"),
                )
                assert await engine._episode(iid)
                deliver(make_event(EventType.TaskCompleted, now, TaskScheduledId=4, Result='"ok"'))
                assert await engine._episode(iid)
            finally:
                engine._running = True

            status = await engine.get_status(iid)
            assert status is not None
            assert status.output == {"second": 9, "retried": "ok"}
            assert shape(engine.get_history(iid)) == [
                *episode(("ExecutionStarted", -1), ("TaskScheduled", 0), ("TaskScheduled", 1)),
                *episode(("TaskFailed", 0), ("TaskCompleted", 1), ("TimerCreated", 2), ("TaskScheduled", 3)),
                *episode(("TimerFired", 2), ("TaskCompleted", 3), ("TaskScheduled", 4)),
                ("OrchestratorStarted", -1),
                ("TaskCompleted", 4),
                ("ExecutionCompleted", -1),
                ("OrchestratorCompleted", -1),
            ]

    run(scenario())


def test_activity_with_a_context_parameter_receives_the_invocation_context(
    durable_app: LoadedApp, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with durable_host(durable_app, tmp_path / "store.db") as host:
            iid = await host.engine.start_new("context_orchestrator", None)
            status = await host.engine.wait_for_completion(iid)
            assert status.output == {"value": "x", "function": "describe_invocation", "has_id": True}

    run(scenario())
