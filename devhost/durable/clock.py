"""Clocks for the Durable engine: the real one, and a manual one tests can move forward.

Durable timers fire when ``clock.now() >= fireAt``; the new ``OrchestratorStarted`` event is
stamped with ``clock.now()``, so ``context.current_utc_datetime`` follows the clock too. A
``ManualClock`` lets a test jump over a 72-hour approval timeout without waiting.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """What the engine needs from a clock: the current UTC time, and a way to sleep until a time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when``."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when ``advance`` or ``set`` is called (for tests).

    Use it from one event loop (the engine's).
    """

    def __init__(self, start: datetime | None = None) -> None:
        now = start if start is not None else datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError(f"ManualClock start must be timezone-aware, got {now!r}")
        self._now = now
        self._waiters: list[asyncio.Future[None]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` and wake sleepers whose time has come."""
        if delta < timedelta(0):
            raise ValueError(f"ManualClock only moves forward, got delta {delta}")
        self.set(self._now + delta)

    def set(self, when: datetime) -> None:
        """Move the clock to ``when`` (not backwards)."""
        if when < self._now:
            raise ValueError(f"ManualClock only moves forward: {when} is before {self._now}")
        self._now = when
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def sleep_until(self, when: datetime) -> None:
        while self._now < when:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut
