"""A minimal fake Durable orchestration context that runs activities in-process.

It drives an orchestrator generator the way the replay engine does at the API level: each
yielded task is resolved and its result sent back. Activity inputs and outputs go through a JSON
round trip and are recorded in ``history`` (so tests can prove what Durable would store).
Timers advance ``current_utc_datetime``; ``task_any`` picks a raised external event if one was
queued for that name, else the timer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Activity:
    name: str
    payload: Any
    retry: Any = None


@dataclass
class SubOrchestration:
    name: str
    payload: Any
    instance_id: str | None = None


@dataclass
class Timer:
    fire_at: datetime
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ExternalEvent:
    name: str
    result: Any = None


@dataclass
class AnyOf:
    tasks: list[Any]


@dataclass
class FakeContext:
    input: Any
    activities: dict[str, Callable[[Any], Any]]
    instance_id: str = "test-instance"
    current_utc_datetime: datetime = field(
        default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=__import__("datetime").UTC)
    )
    events: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[str, str, str]] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    custom_status: Any = None
    on_activity: Callable[[str], None] | None = None
    sub_orchestrators: dict[str, Callable[[Any, str | None], Any]] = field(default_factory=dict)
    """Sub-orchestrations by name: called with (input, instance id); what they return is the output."""
    sub_calls: list[SubOrchestration] = field(default_factory=list)

    # -- the context API the orchestrators use ----------------------------------------------
    def get_input(self) -> Any:
        return json.loads(json.dumps(self.input))

    def call_activity(self, name: str, payload: Any) -> Activity:
        return Activity(name, payload)

    def call_activity_with_retry(self, name: str, retry: Any, payload: Any) -> Activity:
        return Activity(name, payload, retry)

    def call_sub_orchestrator(self, name: str, payload: Any, instance_id: str | None = None) -> SubOrchestration:
        return SubOrchestration(name, payload, instance_id)

    def create_timer(self, fire_at: datetime) -> Timer:
        timer = Timer(fire_at)
        self.timers.append(timer)
        return timer

    def wait_for_external_event(self, name: str) -> ExternalEvent:
        return ExternalEvent(name)

    def task_any(self, tasks: list[Any]) -> AnyOf:
        return AnyOf(tasks)

    def set_custom_status(self, value: Any) -> None:
        self.custom_status = value

    # -- resolving tasks --------------------------------------------------------------------
    def resolve(self, task: Any) -> Any:
        if isinstance(task, Activity):
            text_in = json.dumps(task.payload)
            if self.on_activity is not None:
                self.on_activity(task.name)
            result = self.activities[task.name](json.loads(text_in))
            text_out = json.dumps(result)
            self.history.append((task.name, text_in, text_out))
            return json.loads(text_out)
        if isinstance(task, SubOrchestration):
            self.sub_calls.append(task)
            result = self.sub_orchestrators[task.name](json.loads(json.dumps(task.payload)), task.instance_id)
            return json.loads(json.dumps(result))
        if isinstance(task, Timer):
            self.current_utc_datetime = max(self.current_utc_datetime, task.fire_at)
            return None
        if isinstance(task, AnyOf):
            for item in task.tasks:
                if isinstance(item, ExternalEvent) and item.name in self.events:
                    item.result = self.events[item.name]
                    return item
            timer = next(t for t in task.tasks if isinstance(t, Timer))
            self.current_utc_datetime = max(self.current_utc_datetime, timer.fire_at)
            return timer
        raise AssertionError(f"unexpected task {task!r}")


def drive(body: Callable[..., Generator[Any, Any, Any]], context: FakeContext, **kwargs: Any) -> Any:
    """Run an orchestrator generator to completion against ``context``; returns its output."""
    generator = body(context, **kwargs)
    value: Any = None
    while True:
        try:
            task = generator.send(value)
        except StopIteration as stop:
            return stop.value
        value = context.resolve(task)


def user_function(builder: Any) -> Callable[..., Any]:
    """The plain function behind a v2-model decorated function (a ``FunctionBuilder``)."""
    return builder._function.get_user_function()  # type: ignore[no-any-return]
