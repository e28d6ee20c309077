"""The Table Storage audit trail on Azurite: contiguous under concurrent writers, tamper-evident."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient, UpdateMode

from devhost.azurite import Azurite
from shared.audit.chain import AuditEvent
from shared.storage.tables import TableAuditStore
from shared.storage.tables.audit import AUDIT_TABLE


@pytest.fixture
def service(azurite: Azurite) -> TableServiceClient:
    # A fresh table per test: the chain is global within its table.
    service = TableServiceClient.from_connection_string(azurite.table_connection_string)
    service.delete_table(AUDIT_TABLE)
    return service


def ev(i: int, incident: str = "inc-1") -> AuditEvent:
    return AuditEvent(
        at=datetime(2026, 11, 25, tzinfo=UTC),
        actor="warden",
        action="test",
        incident_id=incident,
        reason=str(i),
    )


def test_appends_form_a_verifiable_chain(service: TableServiceClient) -> None:
    store = TableAuditStore(service)
    for i in range(5):
        store.append(ev(i))
    report = store.verify()
    assert report.ok, report.problems
    assert [r.reason for r in store.records()] == ["0", "1", "2", "3", "4"]


def test_concurrent_writers_never_fork_or_lose_records(service: TableServiceClient) -> None:
    stores = [TableAuditStore(service) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: stores[i % 4].append(ev(i, incident=f"inc-{i % 3}")), range(40)))
    report = stores[0].verify()
    assert report.ok, report.problems
    assert report.records == 40
    assert sorted(int(r.reason) for r in stores[0].records()) == list(range(40))


def test_append_once_under_concurrent_writers_appends_each_key_exactly_once(service: TableServiceClient) -> None:
    stores = [TableAuditStore(service) for _ in range(4)]

    def write(i: int) -> bool:
        # 10 keys, each raced by 6 writers interleaved with plain appends.
        if i % 7 == 0:
            stores[i % 4].append(ev(1000 + i))
            return False
        return stores[i % 4].append_once(ev(i % 10, incident=f"inc-{i % 10}"), key=f"k-{i % 10}") is not None

    with ThreadPoolExecutor(max_workers=4) as pool:
        won = list(pool.map(write, range(70)))
    assert sum(won) == 10
    report = stores[0].verify()
    assert report.ok, report.problems
    keyed = [r for r in stores[0].records() if r.reason is not None and int(r.reason) < 1000]
    assert sorted(int(r.reason) for r in keyed) == list(range(10))  # each key once, never lost
    assert report.records == 10 + len([i for i in range(70) if i % 7 == 0])
    assert stores[0].append_once(ev(3, incident="inc-3"), key="k-3") is None  # still a duplicate later
    assert [r.reason for r in stores[0].records(incident_id="inc-3")] == ["3"]


def test_altered_row_is_detected(service: TableServiceClient) -> None:
    store = TableAuditStore(service)
    for i in range(3):
        store.append(ev(i))
    table = service.get_table_client(AUDIT_TABLE)
    entity = table.get_entity("chain", f"{2:012d}")
    record = json.loads(entity["Record"])
    record["actor"] = "mallory"
    entity["Record"] = json.dumps(record)
    table.update_entity(entity, mode=UpdateMode.REPLACE)
    report = store.verify()
    assert not report.ok
    assert "record 2: content does not match its hash (altered)" in report.problems


def test_deleted_rows_are_detected(service: TableServiceClient) -> None:
    store = TableAuditStore(service)
    for i in range(4):
        store.append(ev(i))
    table = service.get_table_client(AUDIT_TABLE)
    table.delete_entity("chain", f"{4:012d}")
    report = store.verify()
    assert not report.ok
    assert any("head says 4" in p for p in report.problems)
    table.delete_entity("chain", f"{2:012d}")
    assert "record 2 is missing (next present is 3)" in store.verify().problems


def test_records_by_incident(service: TableServiceClient) -> None:
    store = TableAuditStore(service)
    incident = "inc-" + uuid.uuid4().hex[:6]
    store.append(ev(1))
    store.append(ev(2, incident=incident))
    assert [r.reason for r in store.records(incident_id=incident)] == ["2"]
