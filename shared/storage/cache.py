"""A per-process memory of COMPLETED idempotency records in front of a durable store.

A storm of redelivered alerts asks the same question thousands of times: "was this finding
routed already?". Once the durable store has said COMPLETED, the answer cannot change until
the record expires, so this wrapper remembers it (bounded, least recently used first out) and
answers repeats without a storage round trip. It never caches INPROGRESS: leases can expire.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from shared.ports.stores import AlreadyCompletedError, IdempotencyRecord, IdempotencyStore

__all__ = ["CompletedCache"]


class CompletedCache:
    """``IdempotencyStore`` wrapper caching completed records (``max_entries`` most recent)."""

    def __init__(self, store: IdempotencyStore, *, max_entries: int = 10_000) -> None:
        self._store = store
        self._max = max_entries
        self._done: OrderedDict[str, tuple[datetime, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def _remember(self, key: str, expires_at: datetime, result: dict[str, Any]) -> None:
        with self._lock:
            self._done[key] = (expires_at, result)
            self._done.move_to_end(key)
            while len(self._done) > self._max:
                self._done.popitem(last=False)

    def begin(self, key: str, *, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        with self._lock:
            cached = self._done.get(key)
            if cached is not None:
                if cached[0] > now:
                    self._done.move_to_end(key)
                    self.hits += 1
                    raise AlreadyCompletedError(key, dict(cached[1]))
                del self._done[key]
        try:
            return self._store.begin(key, now=now, lease_seconds=lease_seconds)
        except AlreadyCompletedError as done:
            # The durable store does not say when the record expires: cache it briefly.
            self._remember(key, now + timedelta(minutes=10), done.result)
            raise

    def renew(self, key: str, *, owner: str, now: datetime, lease_seconds: int) -> IdempotencyRecord:
        return self._store.renew(key, owner=owner, now=now, lease_seconds=lease_seconds)

    def complete(
        self, key: str, result: dict[str, Any], *, now: datetime, ttl_seconds: int, owner: str | None = None
    ) -> None:
        self._store.complete(key, result, now=now, ttl_seconds=ttl_seconds, owner=owner)
        self._remember(key, now + timedelta(seconds=ttl_seconds), dict(result))

    def release(self, key: str, *, owner: str | None = None) -> None:
        with self._lock:
            self._done.pop(key, None)
        self._store.release(key, owner=owner)
