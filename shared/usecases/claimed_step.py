"""Run a step at most once: claim it, run it, then complete it or release it.

Every step that changes Azure (a containment action, a restore, a key step) runs through
``run_claimed`` over the idempotency store (``IdempotencyStore``: INPROGRESS -> COMPLETED)::

    begin(key)  --AlreadyCompletedError-->  the stored result (an earlier execution finished)
                --AlreadyInProgressError--> StepInProgressError (another execution holds it)
    run(claim)  --raises-->                 release(key), re-raise (a retry may run it again)
                --result, keep(result)-->   complete(key, result)
                --result, not kept-->       release(key) (e.g. FAILED: a re-run may try again)

The claim's lease is short, so a host that dies mid-step frees it quickly; a long step renews it
(``Claim.renew``) and learns there (``LeaseLostError``) that it stalled past its lease and another
execution took the step over, before it changes anything. The owner token goes with ``complete``
and ``release``: an execution that lost its claim never frees or overwrites the claim of the one
that took over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.contracts.incident import STEP_LEASE_SECONDS
from shared.ports.stores import AlreadyCompletedError, AlreadyInProgressError, IdempotencyStore
from shared.response.steps import StepResult, StepStatus

__all__ = ["STEP_RESULT_TTL_SECONDS", "Claim", "Claimed", "StepInProgressError", "run_claimed", "run_step"]

STEP_RESULT_TTL_SECONDS = 90 * 86_400
"""How long a completed containment or restore step's result is kept (a re-run answers from it)."""

R = TypeVar("R")


class StepInProgressError(RuntimeError):
    """The step is being executed by another activity run (its lease has not expired)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """This execution's hold on one step."""

    store: IdempotencyStore
    key: str
    owner: str
    lease_seconds: int
    clock: Callable[[], datetime]

    def renew(self) -> None:
        """Extend the lease; raises ``LeaseLostError`` once another execution took the step over."""
        self.store.renew(self.key, owner=self.owner, now=self.clock(), lease_seconds=self.lease_seconds)


@dataclass(frozen=True, slots=True)
class Claimed(Generic[R]):
    """A step's result; ``fresh`` is ``False`` when an earlier execution had completed it."""

    result: R
    fresh: bool


def _always(_: Any) -> bool:
    return True


def run_claimed(
    store: IdempotencyStore,
    key: str,
    run: Callable[[Claim], R],
    *,
    clock: Callable[[], datetime],
    lease_seconds: int,
    ttl_seconds: int,
    encode: Callable[[R], dict[str, Any]],
    decode: Callable[[dict[str, Any]], R],
    keep: Callable[[R], bool] = _always,
    busy: str | None = None,
) -> Claimed[R]:
    """Run ``run`` at most once for ``key`` (see the module docstring).

    ``encode`` / ``decode`` store the result; ``keep`` says whether a result completes the step
    (else the claim is released so a re-run may try again). With ``busy`` (a message), another
    execution holding the step raises ``StepInProgressError(busy)``; without, the store's
    ``AlreadyInProgressError``. Raises whatever ``run`` raises, after releasing the claim.
    """
    try:
        record = store.begin(key, now=clock(), lease_seconds=lease_seconds)
    except AlreadyCompletedError as done:
        return Claimed(decode(done.result), fresh=False)
    except AlreadyInProgressError as held:
        if busy is None:
            raise
        raise StepInProgressError(busy) from held
    claim = Claim(store, key, record.owner, lease_seconds, clock)
    try:
        result = run(claim)
    except BaseException:
        store.release(key, owner=record.owner)  # never a claim another execution took over
        raise
    if keep(result):
        store.complete(key, encode(result), now=clock(), ttl_seconds=ttl_seconds, owner=record.owner)
    else:
        store.release(key, owner=record.owner)
    return Claimed(result, fresh=True)


def _stored(result: StepResult) -> dict[str, Any]:
    return {"result": result.model_dump(mode="json")}


def _from_store(data: dict[str, Any]) -> StepResult:
    return StepResult.model_validate(data["result"])


def _completes(result: StepResult) -> bool:
    return result.status is not StepStatus.FAILED  # a failed step is released: a re-run may try again


def run_step(
    store: IdempotencyStore, key: str, attempt: Callable[[], StepResult], *, clock: Callable[[], datetime], busy: str
) -> Claimed[StepResult]:
    """A containment or restore step (``shared.usecases.containment``, ``restore``) at most once:
    its claim lasts ``STEP_LEASE_SECONDS``; a ``FAILED`` result releases it (a re-run may try
    again), any other completes it for ``STEP_RESULT_TTL_SECONDS``; another execution holding the
    step raises ``StepInProgressError(busy)``."""
    return run_claimed(
        store,
        key,
        lambda _claim: attempt(),
        clock=clock,
        lease_seconds=STEP_LEASE_SECONDS,
        ttl_seconds=STEP_RESULT_TTL_SECONDS,
        encode=_stored,
        decode=_from_store,
        keep=_completes,
        busy=busy,
    )
