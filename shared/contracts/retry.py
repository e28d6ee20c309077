"""How an orchestrator retries an activity: a plain value the handlers turn into Durable's
``RetryOptions`` (the Python SDK's retries are fixed-interval: it has no backoff)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetrySpec"]


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """``max_attempts`` attempts, ``interval_seconds`` apart.

    ``outlasting`` sizes the budget for an activity that claims its work for ``lease_seconds``:
    a host killed mid-activity leaves its claim behind, and every retry within the lease finds the
    work "running elsewhere" and is spent; the budget is that many attempts PLUS
    ``transient_attempts`` for throttling, server errors and failed operations.
    """

    interval_seconds: int
    max_attempts: int
    lease_seconds: int = 0
    transient_attempts: int = 0

    @classmethod
    def outlasting(cls, lease_seconds: int, *, interval_seconds: int, transient_attempts: int) -> RetrySpec:
        return cls(
            interval_seconds=interval_seconds,
            max_attempts=lease_seconds // interval_seconds + transient_attempts + 1,
            lease_seconds=lease_seconds,
            transient_attempts=transient_attempts,
        )
