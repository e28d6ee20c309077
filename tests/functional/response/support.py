"""Running an incident (or a restore) through devhost's Durable engine, in one call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.durable import ManualClock
from devhost.durable.history import EventType
from devhost.loader import load_app
from shared.bootstrap import container
from shared.contracts.incident import INCIDENT_ORCHESTRATOR, RESTORE_ORCHESTRATOR, restore_instance_id
from shared.finding import Finding
from tests.functional.devhost_durable.support import durable_host, run
from tests.functional.response.conftest import APP


@dataclass
class Run:
    """What an incident run left behind: its status while open, its end, and its history."""

    instance_id: str
    open_status: dict[str, Any]
    output: dict[str, Any]
    history_events: int
    episodes: int
    restore: dict[str, Any] | None = None
    restore_status: dict[str, Any] | None = None
    restore_events: int = 0
    history_text: str = ""

    def step(self, step_id: str) -> dict[str, Any]:
        return next(s for s in self.open_status["steps"] if s["step_id"] == step_id)


async def _let_approvals_time_out(host: Any, clock: ManualClock, instance_id: str) -> None:
    """Nobody answers the incident's approval gates: past the policy's approval timeout, its
    ``final_decision`` applies (``approve`` -> the step runs, ``deny`` -> it is expired)."""
    status = await host.engine.get_status(instance_id)
    if status is not None and (status.custom_status or {}).get("stage") == "awaiting_approval":
        clock.advance(container().policy.approvals.timeout + timedelta(minutes=1))
        await host.engine.wait_for_idle()


def run_incident(finding: Finding, store: Path, *, restore: bool = False) -> Run:
    """Start the incident for ``finding``, let it respond (its approval gates time out, so the
    policy's final decision applies), read its custom status while it is open, then let the quiet
    period and the close pass (manual clock); optionally restore (its gates time out too)."""
    app = load_app(APP)
    clock = ManualClock()
    iid = finding.instance_id

    async def scenario() -> Run:
        async with durable_host(app, store, clock=clock) as host:
            payload = {"finding": finding.model_dump(mode="json"), "quiet_minutes": 5}
            await host.client.start_new(INCIDENT_ORCHESTRATOR, iid, payload)
            await host.engine.wait_for_idle()
            await _let_approvals_time_out(host, clock, iid)
            status = await host.engine.get_status(iid)
            assert status is not None and status.runtime_status == "Running", status
            open_status = status.custom_status
            clock.advance(timedelta(minutes=6))
            await host.engine.wait_for_idle()
            clock.advance(timedelta(minutes=11))
            done = await host.engine.wait_for_completion(iid)
            assert done.runtime_status == "Completed", done.output
            history = host.engine.get_history(iid)
            result = Run(
                instance_id=iid,
                open_status=open_status,
                output=done.output,
                history_events=len(history),
                episodes=sum(1 for e in history if e["EventType"] == EventType.OrchestratorStarted),
                history_text=json.dumps(history),
            )
            if restore:
                rid = restore_instance_id(iid)
                await host.client.start_new(RESTORE_ORCHESTRATOR, rid, {"incident_id": iid, "requested_by": "tester"})
                await host.engine.wait_for_idle()
                await _let_approvals_time_out(host, clock, rid)
                finished = await host.engine.wait_for_completion(rid)
                assert finished.runtime_status == "Completed", finished.output
                result.restore = finished.output
                result.restore_status = finished.custom_status
                result.restore_events = len(host.engine.get_history(rid))
            return result

    return run(scenario())
