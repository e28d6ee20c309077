"""Timer triggers: schedules, run-on-startup, past-due after downtime, and manual runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import cast

import azure.functions as func
import pytest
import requests
from azure.functions.timer import TimerRequest

from devhost.loader import AppLoadError
from devhost.server import DevHostThread
from devhost.timers import CronSchedule, TimeSpanSchedule, parse_schedule

from .conftest import HOST_APP, Recorder

UTC = dt.UTC


def _at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def _run_host(state: Path, when: dt.datetime) -> None:
    """Start and stop a host whose clock reads ``when`` (one 'life' of the host)."""
    with DevHostThread(HOST_APP, state, port=0, clock=lambda: when):
        pass


def test_six_field_ncrontab_has_seconds_first() -> None:
    schedule = parse_schedule("30 */5 * * * *")
    assert schedule.next_after(_at(10, 1)) == dt.datetime(2026, 3, 2, 10, 5, 30, tzinfo=UTC)


def test_five_field_expression_is_accepted_as_the_host_does() -> None:
    assert parse_schedule("0 * * * *").next_after(_at(10, 1)) == _at(11)


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # NCrontab semantics (not Vixie cron's OR): the 13th that is a Friday
    friday_13th = parse_schedule("0 0 0 13 * 5").next_after(_at(0))
    assert (friday_13th.day, friday_13th.weekday()) == (13, 4)


def test_timespan_schedule_is_a_constant_interval() -> None:
    schedule = parse_schedule("00:15:00")
    assert isinstance(schedule, TimeSpanSchedule)
    assert schedule.next_after(_at(10)) == _at(10, 15)


def test_schedule_can_name_an_app_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAN_SCHEDULE", "0 0 6 * * *")
    schedule = parse_schedule("%SCAN_SCHEDULE%")
    assert isinstance(schedule, CronSchedule)
    assert schedule.next_after(_at(10)) == dt.datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["0 0 * * *  * *", "0 0 L * * *", "every hour", "0 61 * * * *", "00:00:00"])
def test_invalid_schedule_is_refused_naming_the_function(expression: str) -> None:
    with pytest.raises(AppLoadError, match="'scan'"):
        parse_schedule(expression, function_name="scan")


def test_run_on_startup_runs_once_when_the_host_starts(tmp_path: Path, record: Recorder) -> None:
    _run_host(tmp_path / "state", _at(10))
    (call,) = record.calls("tick_on_startup")
    assert call["past_due"] is False
    assert call["schedule"] == {"AdjustForDST": True}
    assert call["status"]["Next"] == "2027-01-01T00:00:00+00:00"


def test_first_start_is_not_past_due(tmp_path: Path, record: Recorder) -> None:
    _run_host(tmp_path / "state", _at(10, 30))
    assert record.calls("tick_hourly") == []
    status = json.loads((tmp_path / "state" / "timers.json").read_text())["tick_hourly"]
    assert status["Next"] == "2026-03-02T11:00:00+00:00"


def test_missed_run_during_downtime_fires_past_due_at_start(tmp_path: Path, record: Recorder) -> None:
    state = tmp_path / "state"
    _run_host(state, _at(10, 30))  # records Next = 11:00
    _run_host(state, _at(13, 30))  # down from 10:30 to 13:30: 11:00 was missed
    (call,) = record.calls("tick_hourly")
    assert call["past_due"] is True
    assert call["status"]["Next"] == "2026-03-02T11:00:00+00:00"
    status = json.loads((state / "timers.json").read_text())["tick_hourly"]
    assert status["Last"] == "2026-03-02T13:30:00+00:00"
    assert status["Next"] == "2026-03-02T14:00:00+00:00"


def test_restart_before_the_next_occurrence_is_not_past_due(tmp_path: Path, record: Recorder) -> None:
    state = tmp_path / "state"
    _run_host(state, _at(10, 30))
    _run_host(state, _at(10, 45))
    assert record.calls("tick_hourly") == []


def test_admin_endpoint_runs_a_timer_now(host: DevHostThread, record: Recorder) -> None:
    response = requests.post(
        f"{host.url}/admin/functions/tick_hourly",
        params={"wait": "true"},
        json={"input": ""},
        headers={"x-functions-key": host.master_key},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "Succeeded"
    (call,) = record.calls("tick_hourly")
    assert call["past_due"] is False


def test_admin_endpoint_answers_202_like_the_host(host: DevHostThread) -> None:
    response = requests.post(
        f"{host.url}/admin/functions/tick_hourly", json={}, headers={"x-functions-key": host.master_key}, timeout=10
    )
    assert response.status_code == 202


def test_admin_endpoint_requires_the_master_key(host: DevHostThread) -> None:
    response = requests.post(
        f"{host.url}/admin/functions/tick_hourly", json={}, params={"code": host.function_key}, timeout=10
    )
    assert response.status_code == 401


def test_admin_endpoint_unknown_function_is_404(host: DevHostThread) -> None:
    response = requests.post(
        f"{host.url}/admin/functions/nope", json={}, headers={"x-functions-key": host.master_key}, timeout=10
    )
    assert response.status_code == 404


def test_schedule_fires_when_the_clock_reaches_the_next_occurrence(tmp_path: Path) -> None:
    from devhost.loader import load_app
    from devhost.timers import TimerRunner, TimerStatusStore

    tick = load_app(HOST_APP).get("tick_hourly")
    assert tick is not None
    now = [_at(10, 30)]
    fired: list[tuple[bool, dict[str, str]]] = []

    async def scenario() -> None:
        invoked = asyncio.Event()

        async def invoke(fn: object, request: func.TimerRequest) -> bool:
            fired.append((request.past_due, dict(cast(TimerRequest, request).schedule_status)))
            invoked.set()
            return True

        runner = TimerRunner([tick], TimerStatusStore(tmp_path / "timers.json"), invoke, clock=lambda: now[0])
        await runner.start()
        assert fired == []
        now[0] = dt.datetime(2026, 3, 2, 11, 0, 0, 500_000, tzinfo=UTC)
        runner.poke()
        await asyncio.wait_for(invoked.wait(), timeout=30)
        await runner.stop()

    asyncio.run(scenario())
    ((past_due, status),) = fired
    assert past_due is False
    assert status["Next"] == "2026-03-02T11:00:00+00:00"
    stored = json.loads((tmp_path / "timers.json").read_text())["tick_hourly"]
    assert stored["Last"] == "2026-03-02T11:00:00.500000+00:00"
    assert stored["Next"] == "2026-03-02T12:00:00+00:00"
