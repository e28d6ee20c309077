"""Alert intake across paths: one incident per alert, quarantine for bad input, counted skips."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.alert_intake import take_alerts
from shared.alert_poller import WATERMARK_NAME, poll_security_alerts
from shared.intake import IngestStatus, IntakeDeps
from shared.storage.memory import (
    MemoryIdempotencyStore,
    MemoryIncidentFindingsStore,
    MemoryOpenIncidentStore,
    MemoryQuarantineStore,
    MemoryWatermarkStore,
)
from tests.alertgen import alert_id_for, deployment_resource_id, make_alert, to_bytes
from tests.fakes import FakeLogs
from tests.unit.intake.test_ingest import FakeStarter

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"
MAX = 1_048_576


@pytest.fixture
def starter() -> FakeStarter:
    return FakeStarter()


@pytest.fixture
def deps(starter: FakeStarter) -> IntakeDeps:
    return IntakeDeps(
        seen=MemoryIdempotencyStore(),
        open_incidents=MemoryOpenIncidentStore(),
        findings=MemoryIncidentFindingsStore(),
        starter=starter,
    )


@pytest.fixture
def quarantine() -> MemoryQuarantineStore:
    return MemoryQuarantineStore()


def take(payload: Any, deps: IntakeDeps, quarantine: MemoryQuarantineStore, source: str = "eventgrid") -> Any:
    return asyncio.run(take_alerts(payload, source=source, deps=deps, quarantine=quarantine, max_bytes=MAX, now=NOW))


def test_one_alert_by_three_paths_is_one_incident(
    deps: IntakeDeps, quarantine: MemoryQuarantineStore, starter: FakeStarter
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
    assert deps.findings.count(starter.started[0]) == 1


def test_array_payload_with_one_bad_element_quarantines_only_that_element(
    deps: IntakeDeps, quarantine: MemoryQuarantineStore, starter: FakeStarter
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
    deps: IntakeDeps, quarantine: MemoryQuarantineStore
) -> None:
    raw = b'{"properties": {"alertType": "AI.Azure_Jailbreak' + b"\xff"
    report = take(raw, deps, quarantine)
    (record,) = quarantine.list()
    assert record.raw == raw
    assert record.reason_code in {"invalid_encoding", "invalid_json"}
    assert report.quarantined == [record.id]


def test_oversized_payload_is_quarantined_unread(deps: IntakeDeps, quarantine: MemoryQuarantineStore) -> None:
    raw = b"[" + b" " * (MAX + 10) + b"]"
    take(raw, deps, quarantine)
    (record,) = quarantine.list()
    assert record.reason_code == "too_large"
    assert record.size == len(raw)


def test_non_ai_alert_is_counted_as_skipped(deps: IntakeDeps, quarantine: MemoryQuarantineStore) -> None:
    report = take(make_alert("VM_EICAR", "rest_resource"), deps, quarantine)
    assert report.outcomes == {"skipped:not_ai_alert": 1}
    assert quarantine.list() == []


def test_operational_failure_raises_after_handling_the_rest(
    deps: IntakeDeps, quarantine: MemoryQuarantineStore, starter: FakeStarter
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
    deps: IntakeDeps, quarantine: MemoryQuarantineStore, starter: FakeStarter
) -> None:
    rows = [_row("r1", NOW - timedelta(minutes=20)), _row("r2", NOW - timedelta(minutes=10))]
    logs = FakeLogs({"security_alerts": lambda since, until: [r for r in rows if since <= r["TimeGenerated"] < until]})
    marks = MemoryWatermarkStore()
    report = asyncio.run(
        poll_security_alerts(logs=logs, watermarks=marks, deps=deps, quarantine=quarantine, now=NOW, max_bytes=MAX)
    )
    assert (report.rows, report.taken) == (2, 2)
    mark = marks.get(WATERMARK_NAME)
    assert mark is not None and mark.value == NOW
    assert set(mark.boundary_ids) == {alert_id_for("r1"), alert_id_for("r2")}
    assert len(starter.started) == 2


def test_poller_restart_rereads_the_overlap_without_taking_rows_twice_and_catches_late_rows(
    deps: IntakeDeps, quarantine: MemoryQuarantineStore, starter: FakeStarter
) -> None:
    rows = [_row("r1", NOW - timedelta(minutes=20)), _row("r2", NOW - timedelta(minutes=10))]
    logs = FakeLogs({"security_alerts": lambda since, until: [r for r in rows if since <= r["TimeGenerated"] < until]})
    marks = MemoryWatermarkStore()

    def poll(now: datetime) -> Any:
        return asyncio.run(
            poll_security_alerts(logs=logs, watermarks=marks, deps=deps, quarantine=quarantine, now=now, max_bytes=MAX)
        )

    poll(NOW)
    # A row stamped before the watermark is ingested late, inside the overlap window.
    rows.append(_row("late", NOW - timedelta(minutes=15)))
    second = poll(NOW + timedelta(minutes=5))
    assert second.already_handled == 2
    assert second.taken == 1
    assert len(starter.started) == 3
    third = poll(NOW + timedelta(minutes=10))
    assert third.taken == 0


def test_poller_does_not_advance_on_partial_results(deps: IntakeDeps, quarantine: MemoryQuarantineStore) -> None:
    from shared.ports.logs import PartialLogQueryError

    def partial(since: datetime, until: datetime) -> list[dict[str, Any]]:
        raise PartialLogQueryError("query 'security_alerts' returned partial data", rows=[])

    marks = MemoryWatermarkStore()
    with pytest.raises(PartialLogQueryError):
        asyncio.run(
            poll_security_alerts(
                logs=FakeLogs({"security_alerts": partial}),
                watermarks=marks,
                deps=deps,
                quarantine=quarantine,
                now=NOW,
                max_bytes=MAX,
            )
        )
    assert marks.get(WATERMARK_NAME) is None
