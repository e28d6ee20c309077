"""Open-incident claims and incident findings: fakes and Table Storage (Azurite) behave alike."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.finding import Finding, FindingSource, Severity
from shared.storage.memory import MemoryIncidentFindingsStore, MemoryOpenIncidentStore
from shared.storage.tables import TableIncidentFindingsStore, TableOpenIncidentStore

T0 = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture(params=["memory", "tables"])
def service(request: pytest.FixtureRequest) -> TableServiceClient | None:
    if request.param == "memory":
        return None
    azurite: Azurite = request.getfixturevalue("azurite")
    return TableServiceClient.from_connection_string(azurite.table_connection_string)


def open_store(service: TableServiceClient | None) -> Any:
    return MemoryOpenIncidentStore() if service is None else TableOpenIncidentStore(service)


def findings_store(service: TableServiceClient | None) -> Any:
    return MemoryIncidentFindingsStore() if service is None else TableIncidentFindingsStore(service)


def finding(key: str, evidence_size: int = 10) -> Finding:
    return Finding(
        source=FindingSource.DEFENDER_ALERT,
        kind="defender:x",
        severity=Severity.LOW,
        title="t",
        evidence={"text": "é" * evidence_size},
        dedupe_key=key,
        first_seen=T0,
        last_seen=T0,
    )


def test_only_one_claim_wins_per_key(service: TableServiceClient | None) -> None:
    store = open_store(service)
    key = "resource:/subscriptions/x/" + uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: store.claim(key, f"inc-{i}", now=T0), range(16)))
    winners = [i for i, holder in enumerate(results) if holder is None]
    assert len(winners) == 1
    assert all(holder == f"inc-{winners[0]}" for holder in results if holder is not None)
    assert store.get(key) == f"inc-{winners[0]}"


def test_release_only_frees_the_holders_claim(service: TableServiceClient | None) -> None:
    store = open_store(service)
    key = "resource:" + uuid.uuid4().hex
    assert store.claim(key, "inc-a", now=T0) is None
    assert store.release(key, "inc-b") is False
    assert store.get(key) == "inc-a"
    assert store.release(key, "inc-a") is True
    assert store.get(key) is None
    assert store.claim(key, "inc-c", now=T0) is None


def test_a_closing_incident_hands_its_key_to_the_next_claim(service: TableServiceClient | None) -> None:
    store = open_store(service)
    key = "resource:" + uuid.uuid4().hex
    assert store.claim(key, "inc-a", now=T0) is None
    assert store.mark_closing(key, "inc-b") is False
    assert store.mark_closing(key, "inc-a") is True
    assert store.get(key) is None  # closing: no longer open for new findings
    assert store.claim(key, "inc-b", now=T0) is None  # takes the key over
    assert store.get(key) == "inc-b"
    assert store.release(key, "inc-a") is False  # the old incident's final release is harmless
    assert store.get(key) == "inc-b"


def test_findings_are_recorded_once_per_dedupe_key_in_order(service: TableServiceClient | None) -> None:
    store = findings_store(service)
    incident = "inc-" + uuid.uuid4().hex[:10]
    assert store.add(incident, finding("a"), now=T0) is True
    assert store.add(incident, finding("b"), now=T0.replace(second=1)) is True
    assert store.add(incident, finding("a"), now=T0.replace(second=2)) is False
    assert [f.dedupe_key for f in store.list(incident)] == ["a", "b"]
    assert store.count(incident) == 2
    assert store.count("inc-other") == 0


def test_a_finding_with_maximal_evidence_fits(service: TableServiceClient | None) -> None:
    store = findings_store(service)
    incident = "inc-" + uuid.uuid4().hex[:10]
    big = finding("big", evidence_size=16_000)  # 32,000 UTF-8 bytes of evidence
    store.add(incident, big, now=T0)
    assert store.list(incident) == [big]
