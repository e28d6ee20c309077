"""Timer triggers: NCRONTAB / TimeSpan schedules, schedule monitoring and past-due runs.

Mirrors the WebJobs timer extension (``TimerListener`` and ``ScheduleMonitor``):

* schedules are six-field NCRONTAB (``{second} {minute} {hour} {day} {month} {day-of-week}``,
  five fields also accepted as the host does), or a TimeSpan ``hh:mm:ss``; ``%NAME%`` is read
  from the environment; times are UTC; day-of-month and day-of-week must BOTH match (NCrontab);
* with monitoring (``useMonitor``; default on when the schedule recurs at most once a minute)
  the status ``{Last, Next, LastUpdated}`` is persisted in ``<state dir>/timers.json``; at start a
  recorded ``Next`` in the past means a run was missed while the host was down: the function runs
  at once with ``IsPastDue: true``; otherwise ``runOnStartup`` runs it once (start-up awaits both);
* the function receives ``func.TimerRequest`` decoded by azure-functions' ``TimerRequestConverter``
  from the JSON the host sends: ``{"Schedule": …, "ScheduleStatus": …, "IsPastDue": …}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import azure.functions as func
from azure.functions import meta
from azure.functions.timer import TimerRequestConverter
from croniter import croniter

from devhost.loader import AppLoadError, HostedFunction
from devhost.statefiles import read_json, write_json_atomic

__all__ = [
    "Clock",
    "CronSchedule",
    "ScheduleStatus",
    "TimeSpanSchedule",
    "TimerRunner",
    "TimerStatusStore",
    "parse_schedule",
    "timer_request",
]

logger = logging.getLogger("devhost")
NEVER = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
MAX_SLEEP_SECONDS = 30.0
_SETTING = re.compile(r"^%([^%]+)%$")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")
_UNSUPPORTED_CRON = re.compile(r"[LW#?H]", re.IGNORECASE)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Schedule(Protocol):
    @property
    def expression(self) -> str: ...

    def next_after(self, moment: dt.datetime) -> dt.datetime: ...

    def as_json(self) -> dict[str, Any]: ...

    @property
    def default_use_monitor(self) -> bool: ...


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB schedule evaluated in UTC."""

    expression: str
    fields: str

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        it = croniter(self.fields, moment.astimezone(dt.UTC), second_at_beginning=True, day_or=False)
        value: dt.datetime = it.get_next(dt.datetime)
        return value.astimezone(dt.UTC)

    def as_json(self) -> dict[str, Any]:
        return {"AdjustForDST": True}

    @property
    def default_use_monitor(self) -> bool:
        # The host monitors schedules whose interval is at least a minute.
        first = self.next_after(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        return (self.next_after(first) - first) >= dt.timedelta(minutes=1)


@dataclass(frozen=True)
class TimeSpanSchedule:
    """A constant interval (``hh:mm:ss`` or ``d.hh:mm:ss``)."""

    expression: str
    interval: dt.timedelta

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        return moment + self.interval

    def as_json(self) -> dict[str, Any]:
        return {"AdjustForDST": False}

    @property
    def default_use_monitor(self) -> bool:
        return self.interval >= dt.timedelta(minutes=1)


def parse_schedule(expression: str, *, function_name: str = "?") -> CronSchedule | TimeSpanSchedule:
    """Parse a timer schedule; raises ``AppLoadError`` naming the function and the expression."""
    text = expression.strip()
    setting = _SETTING.match(text)
    if setting:
        value = os.environ.get(setting.group(1))
        if not value:
            raise AppLoadError(
                f"function {function_name!r}: schedule {expression!r} names app setting "
                f"{setting.group(1)!r}, which is not set"
            )
        text = value.strip()
    span = _TIMESPAN.match(text)
    if span:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in span.groups())
        interval = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= dt.timedelta(0):
            raise AppLoadError(f"function {function_name!r}: TimeSpan schedule {text!r} must be positive")
        return TimeSpanSchedule(text, interval)
    parts = text.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    if (
        len(parts) != 6
        or _UNSUPPORTED_CRON.search(text)
        or not croniter.is_valid(" ".join(parts), second_at_beginning=True)
    ):
        raise AppLoadError(
            f"function {function_name!r}: schedule {text!r} is neither an NCRONTAB expression "
            "('{second} {minute} {hour} {day} {month} {day-of-week}') nor a TimeSpan ('hh:mm:ss')"
        )
    return CronSchedule(text, " ".join(parts))


def _iso(value: dt.datetime) -> str:
    if value == NEVER:
        return "0001-01-01T00:00:00"
    return value.astimezone(dt.UTC).isoformat()


def _parse_iso(value: Any) -> dt.datetime:
    if not isinstance(value, str) or value.startswith("0001-01-01"):
        return NEVER
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ScheduleStatus:
    """The persisted status of one timer (the host's ``ScheduleStatus``)."""

    last: dt.datetime
    next: dt.datetime
    last_updated: dt.datetime

    def as_json(self) -> dict[str, str]:
        return {"Last": _iso(self.last), "Next": _iso(self.next), "LastUpdated": _iso(self.last_updated)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ScheduleStatus:
        return cls(_parse_iso(value.get("Last")), _parse_iso(value.get("Next")), _parse_iso(value.get("LastUpdated")))


class TimerStatusStore:
    """``timers.json`` in the state directory: one status per function, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, Any]:
        data = read_json(self.path) or {}
        if not isinstance(data, dict):
            raise ValueError(f"devhost timer status file {str(self.path)!r} must hold a JSON object")
        return data

    def get(self, name: str) -> ScheduleStatus | None:
        entry = self._all().get(name)
        return ScheduleStatus.from_json(entry) if isinstance(entry, dict) else None

    def put(self, name: str, status: ScheduleStatus) -> None:
        data = self._all()
        data[name] = status.as_json()
        write_json_atomic(self.path, data)


def timer_request(schedule: Schedule, status: ScheduleStatus | None, *, past_due: bool) -> func.TimerRequest:
    """The ``func.TimerRequest`` built from the host's JSON, by azure-functions' converter."""
    payload = {
        "Schedule": schedule.as_json(),
        "ScheduleStatus": status.as_json() if status is not None else None,
        "IsPastDue": past_due,
    }
    request: func.TimerRequest = TimerRequestConverter.decode(
        meta.Datum(json.dumps(payload), "json"), trigger_metadata={}
    )
    return request


Invoke = Callable[[HostedFunction, func.TimerRequest], Awaitable[bool]]


@dataclass
class _Timer:
    function: HostedFunction
    schedule: CronSchedule | TimeSpanSchedule
    run_on_startup: bool
    use_monitor: bool
    status: ScheduleStatus


class TimerRunner:
    """Runs every timer function of the app on its schedule until ``stop``."""

    def __init__(
        self,
        functions: list[HostedFunction],
        store: TimerStatusStore,
        invoke: Invoke,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._invoke = invoke
        self._clock = clock
        self._stopped = False
        self._wakes: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.timers: dict[str, _Timer] = {}
        if functions and os.environ.get("WEBSITE_TIME_ZONE"):
            logger.warning("WEBSITE_TIME_ZONE is set but devhost evaluates timer schedules in UTC")
        for fn in functions:
            schedule = parse_schedule(str(fn.trigger.get("schedule", "")), function_name=fn.name)
            use_monitor = fn.trigger.get("useMonitor")
            self.timers[fn.name] = _Timer(
                function=fn,
                schedule=schedule,
                run_on_startup=bool(fn.trigger.get("runOnStartup", False)),
                use_monitor=schedule.default_use_monitor if use_monitor is None else bool(use_monitor),
                status=ScheduleStatus(NEVER, NEVER, NEVER),
            )

    def schedule_of(self, name: str) -> Schedule | None:
        timer = self.timers.get(name)
        return timer.schedule if timer else None

    def current_request(self, name: str) -> func.TimerRequest:
        """The request a manual (admin) run receives: current status, not past due."""
        timer = self.timers[name]
        return timer_request(timer.schedule, timer.status if timer.use_monitor else None, past_due=False)

    def _check_past_due(self, timer: _Timer, now: dt.datetime) -> bool:
        """The host's ``ScheduleMonitor.CheckPastDueAsync``."""
        name = timer.function.name
        status = self._store.get(name)
        if status is None:
            timer.status = ScheduleStatus(NEVER, timer.schedule.next_after(now), now)
            self._store.put(name, timer.status)
            return False
        base = status.last if status.last != NEVER else status.last_updated
        expected = timer.schedule.next_after(base)
        if status.next != expected:
            status = ScheduleStatus(status.last, expected, now)
            self._store.put(name, status)
        timer.status = status
        return now > status.next

    async def start(self) -> None:
        """Run past-due and run-on-startup invocations (awaited), then start the schedules."""
        for timer in self.timers.values():
            now = self._clock()
            past_due = self._check_past_due(timer, now) if timer.use_monitor else False
            if not timer.use_monitor:
                timer.status = ScheduleStatus(NEVER, timer.schedule.next_after(now), now)
            if past_due:
                logger.info("Timer '%s' is past due (missed %s); running now", timer.function.name, timer.status.next)
                await self._run(timer, now, past_due=True, on_startup=False)
            elif timer.run_on_startup:
                await self._run(timer, now, past_due=False, on_startup=True)
        for timer in self.timers.values():
            self._tasks.append(asyncio.create_task(self._loop(timer), name=f"devhost-timer-{timer.function.name}"))

    def poke(self) -> None:
        """Re-read the clock now (after a clock change, or a test advancing a fake clock)."""
        for wake in self._wakes.values():
            wake.set()

    async def stop(self) -> None:
        self._stopped = True
        self.poke()
        for task in self._tasks:
            await task
        self._tasks.clear()

    async def _run(self, timer: _Timer, invoked_at: dt.datetime, *, past_due: bool, on_startup: bool) -> None:
        original = timer.status.next
        request = timer_request(timer.schedule, timer.status if timer.use_monitor else None, past_due=past_due)
        await self._invoke(timer.function, request)
        adjusted = invoked_at
        if not past_due and not on_startup and original > invoked_at:
            adjusted = original
        timer.status = ScheduleStatus(adjusted, timer.schedule.next_after(adjusted), adjusted)
        if timer.use_monitor:
            self._store.put(timer.function.name, timer.status)

    async def _loop(self, timer: _Timer) -> None:
        wake = self._wakes.setdefault(timer.function.name, asyncio.Event())
        while not self._stopped:
            wake.clear()
            due = timer.status.next
            now = self._clock()
            if now < due:
                delay = min((due - now).total_seconds(), MAX_SLEEP_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=max(delay, 0.001))
                continue
            try:
                await self._run(timer, now, past_due=False, on_startup=False)
            except Exception:  # the invoke callback never raises; a store error must not kill the loop
                logger.exception("Timer '%s': could not record its schedule status", timer.function.name)
                timer.status = ScheduleStatus(now, timer.schedule.next_after(now), now)
