"""The completed-record cache answers repeats from memory and never caches leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ports.stores import AlreadyCompletedError, AlreadyInProgressError, IdempotencyRecord
from shared.storage.cache import CompletedCache
from shared.storage.memory import MemoryIdempotencyStore

T0 = datetime(2026, 11, 25, tzinfo=UTC)


class CountingStore(MemoryIdempotencyStore):
    def __init__(self) -> None:
        super().__init__()
        self.begins = 0

    def begin(self, key: str, *, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        self.begins += 1
        return super().begin(key, now=now, lease_seconds=lease_seconds)


def test_repeats_of_a_completed_key_do_not_reach_the_store() -> None:
    store = CountingStore()
    cache = CompletedCache(store)
    cache.begin("k", now=T0, lease_seconds=60)
    cache.complete("k", {"incident": "inc-1"}, now=T0, ttl_seconds=3600)
    for _ in range(100):
        with pytest.raises(AlreadyCompletedError) as info:
            cache.begin("k", now=T0 + timedelta(minutes=1), lease_seconds=60)
        assert info.value.result == {"incident": "inc-1"}
    assert store.begins == 1
    assert cache.hits == 100


def test_a_completion_seen_by_another_process_is_cached_after_one_lookup() -> None:
    store = CountingStore()
    store.begin("k", now=T0, lease_seconds=60)
    store.complete("k", {"x": 1}, now=T0, ttl_seconds=3600)
    cache = CompletedCache(store)
    for _ in range(3):
        with pytest.raises(AlreadyCompletedError):
            cache.begin("k", now=T0, lease_seconds=60)
    assert store.begins == 2  # the first lookup, then memory


def test_in_progress_is_never_cached() -> None:
    store = CountingStore()
    cache = CompletedCache(store)
    store.begin("k", now=T0, lease_seconds=60)
    for _ in range(3):
        with pytest.raises(AlreadyInProgressError):
            cache.begin("k", now=T0, lease_seconds=60)
    assert store.begins == 4


def test_entries_expire_and_the_cache_is_bounded() -> None:
    store = CountingStore()
    cache = CompletedCache(store, max_entries=2)
    for key in ("a", "b", "c"):
        cache.begin(key, now=T0, lease_seconds=60)
        cache.complete(key, {}, now=T0, ttl_seconds=60)
    before = store.begins
    with pytest.raises(AlreadyCompletedError):
        cache.begin("a", now=T0, lease_seconds=60)  # evicted: asks the store again
    assert store.begins == before + 1
    assert cache.begin("c", now=T0 + timedelta(seconds=61), lease_seconds=60).status == "INPROGRESS"


def test_release_forgets(monkeypatch: Any) -> None:
    cache = CompletedCache(MemoryIdempotencyStore())
    cache.begin("k", now=T0, lease_seconds=60)
    cache.release("k")
    assert cache.begin("k", now=T0, lease_seconds=60).status == "INPROGRESS"
