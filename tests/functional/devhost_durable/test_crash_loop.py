"""Crash loop: SIGKILL the engine process at random points; every orchestration still completes.

``python -m devhost.durable.runner`` hosts the sample app on a SQLite store. The test starts 20
orchestrations of 6 activities each (a fan-out of 3, then 3 in sequence) through the real
client, then repeatedly kills the process after a random amount of progress (counted in
activity side effects, plus a random delay so kills also land inside episodes and commits) and
restarts it on the same store. Afterwards every orchestration must have the exact output (no
completed activity result lost), and the side-effect log must show every activity ran at least
once (it may show some twice: delivery is at-least-once, as on Azure).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus
from azure.durable_functions.models.utils import http_utils

from tests.functional.devhost_durable.support import FIXTURE_APP, run

REPO_ROOT = Path(__file__).resolve().parents[3]
INSTANCES = [f"crash-{n:02d}" for n in range(20)]
STEPS = ["fan0", "fan1", "fan2", "seq0", "seq1", "seq2"]
# fan-out: 0,1,2 -> 1+2+3 = 6; then 6->7 (13), 13->14 (27), 27->28 (55)
EXPECTED_TOTAL = 55
MAX_KILLS = 10


class Runner:
    """One incarnation of the engine process."""

    def __init__(self, proc: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        self.proc = proc
        self.client = df.DurableOrchestrationClient(info["client_binding"])

    @classmethod
    async def start(cls, store: Path, env: dict[str, str], stderr_path: Path) -> Runner:
        with stderr_path.open("ab") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "devhost.durable.runner",
                "--app",
                str(FIXTURE_APP),
                "--store",
                str(store),
                "--activity-concurrency",
                "4",
                cwd=REPO_ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
        assert line, f"runner exited before it was ready; see {stderr_path}"
        return cls(proc, json.loads(line))

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await http_utils._close_session()  # the SDK's pooled connections point at a dead server


def _side_effects(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [(d["id"], d["step"]) for d in map(json.loads, log.read_text().splitlines())]


@pytest.mark.slow
def test_orchestrations_complete_exactly_despite_sigkill_at_random_points(tmp_path: Path) -> None:
    store = tmp_path / "crash.db"
    log = tmp_path / "side_effects.log"
    stderr_path = tmp_path / "runner.stderr"
    env = {**os.environ, "DURABLE_FIXTURE_LOG": str(log), "PYTHONPATH": str(REPO_ROOT)}
    rng = random.Random(20261125)
    expected = {(iid, step) for iid in INSTANCES for step in STEPS}

    async def scenario() -> tuple[int, list[Any]]:
        runner = await Runner.start(store, env, stderr_path)
        for iid in INSTANCES:
            await runner.client.start_new("crash_chain_orchestrator", instance_id=iid, client_input={"id": iid})
        kills = 0
        while kills < MAX_KILLS and not expected <= set(_side_effects(log)):
            target = len(_side_effects(log)) + rng.randint(2, 14)
            async with asyncio.timeout(30):
                # Polling a file written by another process: there is no event to await.
                while len(_side_effects(log)) < target and not expected <= set(_side_effects(log)):  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0, 0.04))
            await runner.kill()
            kills += 1
            runner = await Runner.start(store, env, stderr_path)
        try:
            async with asyncio.timeout(30):
                while True:
                    statuses = await runner.client.get_status_by(instance_id_prefix="crash-")
                    if len(statuses) == len(INSTANCES) and all(
                        s.runtime_status == OrchestrationRuntimeStatus.Completed for s in statuses
                    ):
                        return kills, statuses
                    await asyncio.sleep(0.05)
        finally:
            runner.proc.send_signal(signal.SIGTERM)
            await runner.proc.wait()
            await http_utils._close_session()

    kills, statuses = run(scenario())

    assert kills >= 3, "the loop must have killed the host several times while work was pending"
    assert sorted(s.instance_id for s in statuses) == INSTANCES
    assert {s.instance_id: s.output for s in statuses} == {
        iid: {"id": iid, "total": EXPECTED_TOTAL} for iid in INSTANCES
    }
    runs = Counter(_side_effects(log))
    assert set(runs) == expected  # every activity ran at least once, and nothing else ran
    print(f"crash loop: {kills} kills, {sum(runs.values())} activity runs for {len(expected)} activities")
