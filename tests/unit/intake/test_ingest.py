"""Intake routes each finding to exactly one incident: dedupe, correlation, storms, stale claims."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from shared.contracts.incident import INCIDENT_ORCHESTRATOR, IncidentInput
from shared.finding import Finding, FindingSource, Severity
from shared.storage.memory import MemoryIdempotencyStore, MemoryIncidentFindingsStore, MemoryOpenIncidentStore
from shared.usecases.intake import IngestStatus, IntakeDeps, IntakeError, ingest
from tests.fakes import FakeOrchestrations

T = TypeVar("T")
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
DEPLOYMENT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-oai/deployments/gpt-4o"
)


def finding(alert_id: str, resource: str | None = DEPLOYMENT) -> Finding:
    return Finding(
        source=FindingSource.DEFENDER_ALERT,
        kind="defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
        severity=Severity.MEDIUM,
        title="Jailbreak attempt blocked",
        resource=resource,
        dedupe_key=f"defender:{alert_id}",
        first_seen=T0,
        last_seen=T0,
    )


@pytest.fixture
def starter() -> FakeOrchestrations:
    return FakeOrchestrations()


@pytest.fixture
def deps(starter: FakeOrchestrations) -> IntakeDeps:
    return IntakeDeps(
        seen=MemoryIdempotencyStore(),
        open_incidents=MemoryOpenIncidentStore(),
        findings=MemoryIncidentFindingsStore(),
        orchestrations=starter,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_first_finding_opens_an_incident_named_after_it(deps: IntakeDeps, starter: FakeOrchestrations) -> None:
    f = finding("a1")
    result = run(ingest(f, deps, now=T0))
    assert result.status is IngestStatus.OPENED
    assert result.incident_id == f.instance_id
    assert starter.started == [f.instance_id]
    assert deps.findings.list(f.instance_id) == [f]


def test_the_same_alert_twice_is_a_duplicate(deps: IntakeDeps, starter: FakeOrchestrations) -> None:
    run(ingest(finding("a1"), deps, now=T0))
    again = run(ingest(finding("a1"), deps, now=T0 + timedelta(hours=1)))
    assert again.status is IngestStatus.DUPLICATE
    assert again.incident_id == finding("a1").instance_id
    assert len(starter.started) == 1
    assert starter.status_reads == []  # a duplicate never asks the incident to take it


def test_another_alert_on_the_same_resource_joins_the_open_incident(deps: IntakeDeps) -> None:
    first = run(ingest(finding("a1"), deps, now=T0))
    second = run(ingest(finding("a2"), deps, now=T0))
    assert second.status is IngestStatus.JOINED
    assert second.incident_id == first.incident_id
    assert [f.dedupe_key for f in deps.findings.list(first.incident_id or "")] == ["defender:a1", "defender:a2"]


def test_a_storm_of_1000_alerts_yields_one_incident_recording_all(
    deps: IntakeDeps, starter: FakeOrchestrations
) -> None:
    async def storm() -> list[IngestStatus]:
        results = await asyncio.gather(*(ingest(finding(f"s{i}"), deps, now=T0) for i in range(1000)))
        return [r.status for r in results]

    statuses = run(storm())
    assert statuses.count(IngestStatus.OPENED) == 1
    assert statuses.count(IngestStatus.JOINED) == 999
    (incident,) = starter.started
    assert deps.findings.count(incident) == 1000


def test_alerts_arriving_while_the_incident_is_being_created_wait_and_join(
    deps: IntakeDeps, starter: FakeOrchestrations
) -> None:
    starter.start_delay = 0.05

    async def burst() -> list[IngestStatus]:
        results = await asyncio.gather(*(ingest(finding(f"b{i}"), deps, now=T0) for i in range(20)))
        return [r.status for r in results]

    statuses = run(burst())
    assert statuses.count(IngestStatus.OPENED) == 1
    assert statuses.count(IngestStatus.JOINED) == 19


def test_a_claim_whose_incident_never_starts_fails_the_delivery(
    deps: IntakeDeps, starter: FakeOrchestrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shared.usecases.intake._NOT_STARTED_BACKOFF_S", 0.001)
    deps.open_incidents.claim(finding("x").incident_key, "inc-orphan", now=T0)
    with pytest.raises(IntakeError, match="claimed but never started"):
        run(ingest(finding("x"), deps, now=T0))
    # the delivery can be retried: the finding was not marked as seen
    starter.running.add("inc-orphan")
    assert run(ingest(finding("x"), deps, now=T0)).status is IngestStatus.JOINED


def test_findings_without_a_resource_each_get_their_own_incident(deps: IntakeDeps) -> None:
    a = run(ingest(finding("n1", resource=None), deps, now=T0))
    b = run(ingest(finding("n2", resource=None), deps, now=T0))
    assert a.status is b.status is IngestStatus.OPENED
    assert a.incident_id != b.incident_id


def test_a_finished_incident_does_not_swallow_new_findings(deps: IntakeDeps, starter: FakeOrchestrations) -> None:
    first = run(ingest(finding("a1"), deps, now=T0))
    starter.finish_all()
    later = run(ingest(finding("a2"), deps, now=T0 + timedelta(days=1)))
    assert later.status is IngestStatus.OPENED
    assert later.incident_id != first.incident_id
    assert deps.open_incidents.get(finding("a2").incident_key) == later.incident_id


def test_a_failed_start_leaves_nothing_behind_so_a_retry_succeeds(
    deps: IntakeDeps, starter: FakeOrchestrations
) -> None:
    starter.fail_next_start = True
    with pytest.raises(ConnectionError):
        run(ingest(finding("a1"), deps, now=T0))
    assert deps.open_incidents.get(finding("a1").incident_key) is None
    retry = run(ingest(finding("a1"), deps, now=T0))
    assert retry.status is IngestStatus.OPENED


def test_a_new_incident_starts_the_incident_orchestrator_with_the_contracts_input(
    deps: IntakeDeps, starter: FakeOrchestrations
) -> None:
    first = finding("a1")
    run(ingest(first, deps, now=T0))
    orchestrator, payload = starter.inputs[first.instance_id]
    assert orchestrator == INCIDENT_ORCHESTRATOR
    started = IncidentInput.model_validate(payload)
    assert started.finding == first and started.quiet_minutes == deps.quiet_minutes
