"""ARM's per-subscription token buckets (the 2024 regional throttling model).

Per subscription: reads 250 tokens refilled at 25/s, writes 200 at 10/s, deletes 200 at 10/s
(learn.microsoft.com "Understand how Azure Resource Manager throttles requests"). Each request
takes one token from its bucket; the remaining count is reported in
``x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}``. When enforcement is on and
the bucket is empty, ARM answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BUCKETS", "ArmThrottle", "Bucket"]

BUCKETS: dict[str, tuple[float, float]] = {
    "reads": (250.0, 25.0),
    "writes": (200.0, 10.0),
    "deletes": (200.0, 10.0),
}
"""Bucket kind -> (size, refill per second)."""


@dataclass(slots=True)
class Bucket:
    size: float
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now


class ArmThrottle:
    """Token buckets per (subscription, kind); thread-safe; the clock is injectable for tests."""

    def __init__(self, *, enforce: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.enforce = enforce
        self._clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, subscription: str, kind: str) -> tuple[bool, int, float]:
        """Take a token; returns ``(allowed, remaining, retry_after_seconds)``.

        When enforcement is off the request is always allowed (the bucket still drains, so the
        remaining-count header stays realistic, floored at 0).
        """
        size, rate = BUCKETS[kind]
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((subscription.lower(), kind))
            if bucket is None:
                bucket = Bucket(size, rate, size, now)
                self._buckets[(subscription.lower(), kind)] = bucket
            bucket.refill(now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True, int(bucket.tokens), 0.0
            wait = (1.0 - bucket.tokens) / rate
            if not self.enforce:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return True, 0, 0.0
            return False, 0, float(max(1, math.ceil(wait)))

    def remaining(self, subscription: str, kind: str) -> int:
        """Tokens left now in one bucket (full size if never used)."""
        size, _ = BUCKETS[kind]
        with self._lock:
            bucket = self._buckets.get((subscription.lower(), kind))
            if bucket is None:
                return int(size)
            bucket.refill(self._clock())
            return int(bucket.tokens)
