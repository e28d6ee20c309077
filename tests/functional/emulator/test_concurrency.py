"""The emulator is driven from many threads at once (the loopback server runs handlers in a pool)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.functional.emulator.conftest import ACCOUNT_DEV, ACCOUNT_DEV_ID, RG_DEV, SUB_DEV, Env


def test_concurrent_key_regeneration_keeps_state_and_counters_consistent(env: Env) -> None:
    cognitive = env.clients.cognitive(SUB_DEV)

    def rotate(index: int) -> Any:
        return cognitive.accounts.regenerate_key(RG_DEV, ACCOUNT_DEV, key_name="Key1" if index % 2 else "Key2")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(rotate, range(40)))
    assert env.emulator.calls("arm.accounts.regenerateKey") == 40
    assert env.emulator.counts()["arm"][SUB_DEV]["writes"] == 40
    final: Any = cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    assert {"key1": final.key1, "key2": final.key2} == env.emulator.account_keys(ACCOUNT_DEV_ID)
    # Every rotation produced a distinct value for its slot.
    assert len({r.key1 for r in results}) >= 20
    assert len({r.key2 for r in results}) >= 20
