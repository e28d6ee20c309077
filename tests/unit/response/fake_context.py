"""A fake Durable orchestration context that runs activities and sub-orchestrators in process.

It resolves each yielded task the way the replay engine does at the API level (JSON round trip
of every payload), supports ``task_all`` over activities and sub-orchestrators, and records
every custom status published, so tests can check its shape at each stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Call:
    kind: str  # activity | sub
    name: str
    payload: Any
    instance_id: str | None = None
    retry: Any = None  # the RetryOptions of call_activity_with_retry


@dataclass
class AllOf:
    tasks: list[Call]


@dataclass
class Timer:
    fire_at: datetime


@dataclass
class FakeContext:
    input: Any
    activities: dict[str, Callable[[Any], Any]]
    subs: dict[str, Callable[[Any, str | None], Any]] = field(default_factory=dict)
    instance_id: str = "inc-test"
    current_utc_datetime: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    calls: list[Call] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    parallel: list[list[str]] = field(default_factory=list)
    # Like the real SDK, a task runs once: yielding it again returns (or re-raises) its outcome.
    outcomes: dict[int, tuple[bool, Any]] = field(default_factory=dict)

    def get_input(self) -> Any:
        return json.loads(json.dumps(self.input))

    def call_activity(self, name: str, payload: Any) -> Call:
        return Call("activity", name, payload)

    def call_activity_with_retry(self, name: str, retry: Any, payload: Any) -> Call:
        return Call("activity", name, payload, retry=retry)

    def call_sub_orchestrator(self, name: str, payload: Any, instance_id: str | None = None) -> Call:
        return Call("sub", name, payload, instance_id)

    def task_all(self, tasks: list[Call]) -> AllOf:
        return AllOf(list(tasks))

    def create_timer(self, fire_at: datetime) -> Timer:
        return Timer(fire_at)

    def set_custom_status(self, value: Any) -> None:
        self.statuses.append(json.loads(json.dumps(value)))

    def _run(self, call: Call) -> Any:
        if id(call) in self.outcomes:
            ok, value = self.outcomes[id(call)]
            if not ok:
                raise value
            return value
        try:
            value = self._execute(call)
        except Exception as exc:
            self.outcomes[id(call)] = (False, exc)
            raise
        self.outcomes[id(call)] = (True, value)
        return value

    def _execute(self, call: Call) -> Any:
        self.calls.append(call)
        text = json.dumps(call.payload)
        if call.kind == "activity":
            result = self.activities[call.name](json.loads(text))
        else:
            result = self.subs[call.name](json.loads(text), call.instance_id)
        return json.loads(json.dumps(result))

    def resolve(self, task: Any) -> Any:
        if isinstance(task, Call):
            return self._run(task)
        if isinstance(task, AllOf):
            # Every task of the group runs (as siblings keep running in Azure); the first failure
            # is what the orchestrator sees.
            self.parallel.append([c.name for c in task.tasks])
            results: list[Any] = []
            first: Exception | None = None
            for c in task.tasks:
                try:
                    results.append(self._run(c))
                except Exception as exc:
                    first = first or exc
            if first is not None:
                raise first
            return results
        if isinstance(task, Timer):
            self.current_utc_datetime = max(self.current_utc_datetime, task.fire_at)
            return None
        raise AssertionError(f"unexpected task {task!r}")


def drive(body: Callable[..., Generator[Any, Any, Any]], context: FakeContext, **kwargs: Any) -> Any:
    """Run an orchestrator generator to completion against ``context``; returns its output."""
    generator = body(context, **kwargs)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            task = generator.throw(error) if error is not None else generator.send(value)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            value = context.resolve(task)
        except Exception as exc:  # an activity failed: the orchestrator sees the exception
            error = exc
