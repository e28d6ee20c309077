"""Contract tests: the in-memory fakes and the Table Storage adapters (on Azurite) behave alike."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.ports.stores import (
    MAX_QUARANTINE_RAW_BYTES,
    AlreadyCompletedError,
    AlreadyInProgressError,
    ConcurrentUpdateError,
    LeaseLostError,
    Watermark,
)
from shared.storage.memory import MemoryIdempotencyStore, MemoryQuarantineStore, MemoryWatermarkStore
from shared.storage.tables import TableIdempotencyStore, TableQuarantineStore, TableWatermarkStore

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "tables"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def service(kind: str, request: pytest.FixtureRequest) -> TableServiceClient | None:
    if kind == "memory":
        return None
    azurite: Azurite = request.getfixturevalue("azurite")
    return TableServiceClient.from_connection_string(azurite.table_connection_string)


def quarantine(service: TableServiceClient | None) -> Any:
    return MemoryQuarantineStore() if service is None else TableQuarantineStore(service)


def test_quarantine_keeps_raw_payload_reason_and_source(service: TableServiceClient | None) -> None:
    store = quarantine(service)
    source = "eventgrid-" + uuid.uuid4().hex[:8]
    raw = b'{"not": json at all \x00\xff'
    stored = store.put(source=source, reason_code="malformed_json", message="line 1", raw=raw, received_at=T0)
    (listed,) = store.list(source=source)
    assert listed == stored
    assert listed.raw == raw
    assert listed.size == len(raw)
    assert listed.sha256 == hashlib.sha256(raw).hexdigest()
    assert not listed.truncated
    assert listed.reason_code == "malformed_json"


def test_oversized_payload_is_truncated_but_sized_and_hashed(service: TableServiceClient | None) -> None:
    store = quarantine(service)
    source = "eventhub-" + uuid.uuid4().hex[:8]
    raw = os.urandom(MAX_QUARANTINE_RAW_BYTES + 5000)
    store.put(source=source, reason_code="oversized", message="too big", raw=raw, received_at=T0)
    (listed,) = store.list(source=source)
    assert listed.truncated
    assert listed.size == len(raw)
    assert listed.raw == raw[:MAX_QUARANTINE_RAW_BYTES]
    assert listed.sha256 == hashlib.sha256(raw).hexdigest()


def test_quarantine_lists_newest_first_per_source(service: TableServiceClient | None) -> None:
    store = quarantine(service)
    source = "poller-" + uuid.uuid4().hex[:8]
    for minute in (1, 3, 2):
        store.put(
            source=source,
            reason_code="r",
            message=str(minute),
            raw=b"x",
            received_at=T0 + timedelta(minutes=minute),
        )
    store.put(source="other-" + source, reason_code="r", message="other", raw=b"x", received_at=T0)
    assert [r.message for r in store.list(source=source)] == ["3", "2", "1"]
    assert [r.message for r in store.list(source=source, limit=1)] == ["3"]


def test_watermark_create_then_update_with_etag(service: TableServiceClient | None) -> None:
    store = MemoryWatermarkStore() if service is None else TableWatermarkStore(service)
    name = "alerts-" + uuid.uuid4().hex[:8]
    assert store.get(name) is None
    first = store.save(Watermark(name=name, value=T0, boundary_ids=("a",)))
    assert first.etag
    loaded = store.get(name)
    assert loaded is not None and loaded.value == T0 and loaded.boundary_ids == ("a",)
    second = store.save(loaded.model_copy(update={"value": T0 + timedelta(minutes=5), "boundary_ids": ("b", "c")}))
    assert second.etag != first.etag
    again = store.get(name)
    assert again is not None and again.value == T0 + timedelta(minutes=5) and again.boundary_ids == ("b", "c")


def test_watermark_lost_update_is_refused(service: TableServiceClient | None) -> None:
    store = MemoryWatermarkStore() if service is None else TableWatermarkStore(service)
    name = "alerts-" + uuid.uuid4().hex[:8]
    with pytest.raises(ConcurrentUpdateError):
        store.save(Watermark(name=name, value=T0, etag='W/"stale"'))
    store.save(Watermark(name=name, value=T0))
    with pytest.raises(ConcurrentUpdateError):
        store.save(Watermark(name=name, value=T0))  # creating twice
    current = store.get(name)
    assert current is not None
    store.save(current.model_copy(update={"value": T0 + timedelta(minutes=1)}))
    with pytest.raises(ConcurrentUpdateError):
        store.save(current.model_copy(update={"value": T0 + timedelta(minutes=2)}))  # stale etag


def idem(service: TableServiceClient | None) -> Any:
    return MemoryIdempotencyStore() if service is None else TableIdempotencyStore(service)


def test_idempotency_runs_once_then_returns_the_result(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "rotate:" + uuid.uuid4().hex
    record = store.begin(key, now=T0, lease_seconds=60)
    assert record.status == "INPROGRESS"
    with pytest.raises(AlreadyInProgressError):
        store.begin(key, now=T0 + timedelta(seconds=10), lease_seconds=60)
    store.complete(key, {"rotated": "key2"}, now=T0 + timedelta(seconds=20), ttl_seconds=3600)
    with pytest.raises(AlreadyCompletedError) as info:
        store.begin(key, now=T0 + timedelta(minutes=5), lease_seconds=60)
    assert info.value.result == {"rotated": "key2"}


def test_expired_lease_can_be_taken_over(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "contain:" + uuid.uuid4().hex
    store.begin(key, now=T0, lease_seconds=60)
    taken = store.begin(key, now=T0 + timedelta(seconds=61), lease_seconds=60)
    assert taken.status == "INPROGRESS"
    with pytest.raises(AlreadyInProgressError):
        store.begin(key, now=T0 + timedelta(seconds=62), lease_seconds=60)


def test_completed_record_expires_after_its_ttl(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "k:" + uuid.uuid4().hex
    store.begin(key, now=T0, lease_seconds=60)
    store.complete(key, {}, now=T0, ttl_seconds=60)
    assert store.begin(key, now=T0 + timedelta(seconds=61), lease_seconds=60).status == "INPROGRESS"


def test_release_after_failure_lets_a_retry_run(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "k:" + uuid.uuid4().hex
    store.begin(key, now=T0, lease_seconds=600)
    store.release(key)
    assert store.begin(key, now=T0 + timedelta(seconds=1), lease_seconds=600).status == "INPROGRESS"
    store.complete(key, {"ok": True}, now=T0, ttl_seconds=600)
    store.release(key)  # a completed record is never released
    with pytest.raises(AlreadyCompletedError):
        store.begin(key, now=T0 + timedelta(seconds=2), lease_seconds=600)


def test_a_renewed_lease_is_not_taken_over(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "rotate:" + uuid.uuid4().hex
    mine = store.begin(key, now=T0, lease_seconds=60)
    assert mine.owner
    store.renew(key, owner=mine.owner, now=T0 + timedelta(seconds=50), lease_seconds=60)
    with pytest.raises(AlreadyInProgressError):  # would have expired at T0 + 60 without the renewal
        store.begin(key, now=T0 + timedelta(seconds=100), lease_seconds=60)
    store.complete(key, {"done": 1}, now=T0 + timedelta(seconds=101), ttl_seconds=600, owner=mine.owner)
    with pytest.raises(AlreadyCompletedError):
        store.begin(key, now=T0 + timedelta(seconds=102), lease_seconds=60)


def test_an_execution_that_lost_its_lease_changes_nothing(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "rotate:" + uuid.uuid4().hex
    stalled = store.begin(key, now=T0, lease_seconds=60)
    taker = store.begin(key, now=T0 + timedelta(seconds=61), lease_seconds=60)  # the stalled one's lease expired
    assert taker.owner and taker.owner != stalled.owner
    with pytest.raises(LeaseLostError):
        store.renew(key, owner=stalled.owner, now=T0 + timedelta(seconds=62), lease_seconds=60)
    with pytest.raises(LeaseLostError):
        store.complete(key, {"stale": True}, now=T0 + timedelta(seconds=62), ttl_seconds=600, owner=stalled.owner)
    store.release(key, owner=stalled.owner)  # not its key any more: the taker's claim stays
    with pytest.raises(AlreadyInProgressError):
        store.begin(key, now=T0 + timedelta(seconds=63), lease_seconds=60)
    store.complete(key, {"taker": True}, now=T0 + timedelta(seconds=64), ttl_seconds=600, owner=taker.owner)
    with pytest.raises(AlreadyCompletedError) as info:
        store.begin(key, now=T0 + timedelta(seconds=65), lease_seconds=60)
    assert info.value.result == {"taker": True}
    with pytest.raises(LeaseLostError):  # a completed key is nobody's lease
        store.renew(key, owner=taker.owner, now=T0 + timedelta(seconds=66), lease_seconds=60)


def test_release_by_the_owner_frees_the_key(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "k:" + uuid.uuid4().hex
    mine = store.begin(key, now=T0, lease_seconds=600)
    store.release(key, owner=mine.owner)
    again = store.begin(key, now=T0 + timedelta(seconds=1), lease_seconds=600)
    with pytest.raises(LeaseLostError):
        store.renew(key, owner=mine.owner, now=T0 + timedelta(seconds=2), lease_seconds=600)
    assert again.owner != mine.owner


def test_keys_with_table_unsafe_characters_work(service: TableServiceClient | None) -> None:
    store = idem(service)
    key = "rotate:/subscriptions/x/accounts/a#b?c\\d:" + uuid.uuid4().hex
    store.begin(key, now=T0, lease_seconds=60)
    with pytest.raises(AlreadyInProgressError):
        store.begin(key, now=T0, lease_seconds=60)
