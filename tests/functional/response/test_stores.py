"""The snapshot store and the circuit breaker's log: the same contract for the Table Storage
adapters (against Azurite) and the in-memory fakes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.ports.stores import Snapshot
from shared.storage.memory import MemoryDisruptiveActionLog, MemorySnapshotStore
from shared.storage.tables import TableDisruptiveActionLog, TableSnapshotStore
from shared.storage.tables.breaker import BREAKER_TABLE
from shared.storage.tables.snapshots import SNAPSHOT_TABLE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _service(azurite: Azurite) -> TableServiceClient:
    service = TableServiceClient.from_connection_string(azurite.table_connection_string)
    for name in (SNAPSHOT_TABLE, BREAKER_TABLE):
        service.delete_table(name)
    return service


@pytest.fixture(params=["memory", "table"])
def make(request: pytest.FixtureRequest, azurite: Azurite) -> Callable[[str], Any]:
    if request.param == "memory":
        return lambda kind: MemorySnapshotStore() if kind == "snapshots" else MemoryDisruptiveActionLog()
    service = _service(azurite)
    return lambda kind: TableSnapshotStore(service) if kind == "snapshots" else TableDisruptiveActionLog(service)


def _snapshot(incident: str, step: str, value: int) -> Snapshot:
    return Snapshot(
        incident_id=incident, step_id=step, action="delete_deployment", target="t", taken_at=NOW, before={"v": value}
    )


def test_the_first_snapshot_of_a_step_wins(make: Callable[[str], Any]) -> None:
    store = make("snapshots")
    incident = f"inc-{uuid.uuid4().hex}"
    first = store.put(_snapshot(incident, "s1-a", 1))
    assert store.put(_snapshot(incident, "s1-a", 2)) == first
    store.put(_snapshot(incident, "s2-b", 3))
    assert store.get(incident, "s1-a").before == {"v": 1}
    assert [s.step_id for s in store.list(incident)] == ["s1-a", "s2-b"]
    assert store.get(incident, "missing") is None


def test_disruptive_actions_are_counted_once_within_the_window(make: Callable[[str], Any]) -> None:
    log = make("breaker")
    assert log.record("k1", at=NOW - timedelta(minutes=90), incident_id="i", action="a", target="t")
    assert log.record("k2", at=NOW - timedelta(minutes=10), incident_id="i", action="a", target="t")
    assert not log.record("k2", at=NOW, incident_id="i", action="a", target="t")
    assert log.record("k3", at=NOW, incident_id="i", action="a", target="t")
    assert log.count_since(NOW - timedelta(hours=1)) == 2
