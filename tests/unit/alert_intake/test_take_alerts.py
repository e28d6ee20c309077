"""Alert intake across paths: one incident per alert, quarantine for bad input, counted skips."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ports.logs import LogsPort
from shared.storage.memory import (
    MemoryIdempotencyStore,
    MemoryIncidentFindingsStore,
    MemoryOpenIncidentStore,
    MemoryQuarantineStore,
    MemoryWatermarkStore,
)
from shared.usecases.alerts import (
    WATERMARK_NAME,
    AlertDeps,
    UndecodableEvent,
    poll_security_alerts,
    take_alert_batch,
    take_alert_event,
    take_alerts,
)
from shared.usecases.intake import IngestStatus, IntakeDeps
from tests.alertgen import alert_id_for, deployment_resource_id, make_alert, to_bytes
from tests.fakes import FakeLogs, FakeOrchestrations

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"
MAX = 1_048_576


@pytest.fixture
def starter() -> FakeOrchestrations:
    return FakeOrchestrations()


@pytest.fixture
def quarantine() -> MemoryQuarantineStore:
    return MemoryQuarantineStore()


@pytest.fixture
def deps(starter: FakeOrchestrations, quarantine: MemoryQuarantineStore) -> AlertDeps:
    intake = IntakeDeps(
        seen=MemoryIdempotencyStore(),
        open_incidents=MemoryOpenIncidentStore(),
        findings=MemoryIncidentFindingsStore(),
        orchestrations=starter,
    )
    return AlertDeps(intake=intake, quarantine=quarantine, watermarks=MemoryWatermarkStore(), logs=None, max_bytes=MAX)


def polling(deps: AlertDeps, logs: LogsPort, marks: MemoryWatermarkStore) -> AlertDeps:
    """``deps`` with a Log Analytics workspace (``logs``) and the watermark store ``marks``."""
    return replace(deps, logs=logs, watermarks=marks)


def take(payload: Any, deps: AlertDeps, quarantine: MemoryQuarantineStore, source: str = "eventgrid") -> Any:
    assert deps.quarantine is quarantine
    return asyncio.run(take_alerts(payload, source=source, deps=deps, now=NOW))


def test_one_alert_by_three_paths_is_one_incident(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    sid = alert_id_for("three-paths")
    resource = deployment_resource_id()
    take(make_alert(JAILBREAK, "workflow_automation", system_alert_id=sid, resource_id=resource), deps, quarantine)
    take(
        to_bytes(make_alert(JAILBREAK, "rest_resource", system_alert_id=sid, resource_id=resource)),
        deps,
        quarantine,
        "eventhub",
    )
    row = make_alert(JAILBREAK, "security_alert_row", system_alert_id=sid, resource_id=resource)
    report = take(row, deps, quarantine, "poller")
    assert len(starter.started) == 1
    assert report.incidents[0].status is IngestStatus.DUPLICATE
    assert deps.intake.findings.count(starter.started[0]) == 1


def test_array_payload_with_one_bad_element_quarantines_only_that_element(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    good = make_alert(
        JAILBREAK, "rest_resource", system_alert_id=alert_id_for("g1"), resource_id=deployment_resource_id()
    )
    bad = {"id": "/x", "type": "Microsoft.Security/Locations/alerts", "properties": {"alertType": JAILBREAK}}
    report = take(to_bytes([good, bad]), deps, quarantine, "eventhub")
    assert report.outcomes["accepted"] == 1
    assert sum(v for k, v in report.outcomes.items() if k.startswith("rejected")) == 1
    (record,) = quarantine.list(source="eventhub")
    assert b'"alertType"' in record.raw and b"properties" in record.raw
    assert b"g1" not in record.raw  # only the bad element was kept
    assert len(starter.started) == 1


def test_unparseable_payload_is_quarantined_with_its_raw_bytes(
    deps: AlertDeps, quarantine: MemoryQuarantineStore
) -> None:
    raw = b'{"properties": {"alertType": "AI.Azure_Jailbreak' + b"\xff"
    report = take(raw, deps, quarantine)
    (record,) = quarantine.list()
    assert record.raw == raw
    assert record.reason_code in {"invalid_encoding", "invalid_json"}
    assert report.quarantined == [record.id]


def test_oversized_payload_is_quarantined_unread(deps: AlertDeps, quarantine: MemoryQuarantineStore) -> None:
    raw = b"[" + b" " * (MAX + 10) + b"]"
    take(raw, deps, quarantine)
    (record,) = quarantine.list()
    assert record.reason_code == "too_large"
    assert record.size == len(raw)


def test_non_ai_alert_is_counted_as_skipped(deps: AlertDeps, quarantine: MemoryQuarantineStore) -> None:
    report = take(make_alert("VM_EICAR", "rest_resource"), deps, quarantine)
    assert report.outcomes == {"skipped:not_ai_alert": 1}
    assert quarantine.list() == []


def test_operational_failure_raises_after_handling_the_rest(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    starter.fail_next_start = True
    a = make_alert(JAILBREAK, "rest_resource", system_alert_id=alert_id_for("a"), resource_id=None)
    b = make_alert(JAILBREAK, "rest_resource", system_alert_id=alert_id_for("b"), resource_id=None)
    with pytest.raises(ConnectionError) as info:
        take([a, b], deps, quarantine, "eventhub")
    assert info.value.report.outcomes["accepted"] == 1  # type: ignore[attr-defined]
    again = take([a, b], deps, quarantine, "eventhub")  # the source redelivers the whole payload
    assert [r.status for r in again.incidents] == [IngestStatus.OPENED, IngestStatus.DUPLICATE]


def _row(seed: str, generated: datetime) -> dict[str, Any]:
    row = make_alert(
        JAILBREAK,
        "security_alert_row",
        system_alert_id=alert_id_for(seed),
        resource_id=deployment_resource_id(deployment=f"dep-{seed}"),
    )
    row["TimeGenerated"] = generated
    return row


def test_poller_takes_new_rows_and_advances_the_watermark(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    rows = [_row("r1", NOW - timedelta(minutes=20)), _row("r2", NOW - timedelta(minutes=10))]
    logs = FakeLogs({"security_alerts": lambda since, until: [r for r in rows if since <= r["TimeGenerated"] < until]})
    marks = MemoryWatermarkStore()
    report = asyncio.run(poll_security_alerts(polling(deps, logs, marks), now=NOW))
    assert report is not None and (report.rows, report.taken) == (2, 2)
    mark = marks.get(WATERMARK_NAME)
    assert mark is not None and mark.value == NOW
    assert set(mark.boundary_ids) == {alert_id_for("r1"), alert_id_for("r2")}
    assert len(starter.started) == 2


def test_poller_restart_rereads_the_overlap_without_taking_rows_twice_and_catches_late_rows(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    rows = [_row("r1", NOW - timedelta(minutes=20)), _row("r2", NOW - timedelta(minutes=10))]
    logs = FakeLogs({"security_alerts": lambda since, until: [r for r in rows if since <= r["TimeGenerated"] < until]})
    marks = MemoryWatermarkStore()

    def poll(now: datetime) -> Any:
        return asyncio.run(poll_security_alerts(polling(deps, logs, marks), now=now))

    poll(NOW)
    # A row stamped before the watermark is ingested late, inside the overlap window.
    rows.append(_row("late", NOW - timedelta(minutes=15)))
    second = poll(NOW + timedelta(minutes=5))
    assert second.already_handled == 2
    assert second.taken == 1
    assert len(starter.started) == 3
    third = poll(NOW + timedelta(minutes=10))
    assert third.taken == 0


def test_poller_does_not_advance_on_partial_results(deps: AlertDeps, quarantine: MemoryQuarantineStore) -> None:
    from shared.ports.logs import PartialLogQueryError

    def partial(since: datetime, until: datetime) -> list[dict[str, Any]]:
        raise PartialLogQueryError("query 'security_alerts' returned partial data", rows=[])

    marks = MemoryWatermarkStore()
    with pytest.raises(PartialLogQueryError):
        asyncio.run(poll_security_alerts(polling(deps, FakeLogs({"security_alerts": partial}), marks), now=NOW))
    assert marks.get(WATERMARK_NAME) is None


def test_without_a_workspace_the_poller_reads_nothing(deps: AlertDeps, starter: FakeOrchestrations) -> None:
    assert asyncio.run(poll_security_alerts(deps, now=NOW)) is None
    assert starter.started == []


def test_an_event_whose_data_is_not_json_is_quarantined_and_acknowledged(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    bad = UndecodableEvent(event_id="evt-1", raw=b"<not json>", error="Expecting value")
    assert asyncio.run(take_alert_event(bad, deps, now=NOW)) is None
    (record,) = quarantine.list(source="eventgrid")
    assert record.reason_code == "invalid_json" and record.raw == b"<not json>" and "evt-1" in record.message
    assert starter.started == []


def test_a_hub_batch_that_cannot_be_routed_is_retried_then_quarantined_on_the_last_try(
    deps: AlertDeps, quarantine: MemoryQuarantineStore, starter: FakeOrchestrations
) -> None:
    body = to_bytes(make_alert(JAILBREAK, "workflow_automation", system_alert_id=alert_id_for("hub-1")))
    starter.fail_next_start = True
    with pytest.raises(ConnectionError):
        asyncio.run(take_alert_batch([body], deps, now=NOW, last_try=False))
    assert quarantine.list(source="eventhub") == []
    starter.fail_next_start = True
    asyncio.run(take_alert_batch([body], deps, now=NOW, last_try=True))
    (record,) = quarantine.list(source="eventhub")
    assert record.reason_code == "routing_failed" and record.raw == body
