"""The approval gate on devhost's Durable engine (the real azure-functions-durable replay), called
as a sub-orchestration exactly as the incident orchestrator calls it, decided through the
approvals API with the real Python ``DurableOrchestrationClient.raise_event`` (payloads arrive as
JSON text, SDK #295)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.durable import ManualClock
from devhost.loader import load_app
from shared.bootstrap import container, reset_container
from shared.contracts.approval import approval_instance_id
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import decide_via_api, gate_request, memory_deps
from tests.fakes import FakeChannel
from tests.functional.devhost_durable.support import durable_host, run

APP = Path(__file__).with_name("gate_app.py")
PARENT = "parent_incident"


@pytest.fixture
def deps() -> Iterator[ApprovalsDeps]:
    bundle = memory_deps(channels=[FakeChannel(name="event_grid"), FakeChannel(name="teams", failures=1)])
    container().approvals_deps = bundle
    yield bundle
    reset_container()


async def _decide(deps: ApprovalsDeps, host: Any, user: str, decision: str, incident: str = "inc-1") -> Any:
    return await decide_via_api(deps, host.client, incident, "s1-switch-rai-policy", user=user, decision=decision)


def _types(channel: FakeChannel) -> list[str]:
    return [m.type for m in channel.sent]


def test_one_approval_lets_the_incident_continue_with_who_decided(deps: ApprovalsDeps, tmp_path: Path) -> None:
    app = load_app(APP)

    async def scenario() -> tuple[Any, Any, list[Any]]:
        async with durable_host(app, tmp_path / "store.db") as host:
            await host.client.start_new(PARENT, "inc-1", gate_request())
            await host.engine.wait_for_idle()
            waiting = await host.engine.get_status(approval_instance_id("inc-1", "s1-switch-rai-policy"))
            assert waiting is not None and waiting.runtime_status == "Running"
            response = await _decide(deps, host, "alice@contoso.com", "approve")
            assert response.status == 200, response.body
            done = await host.engine.wait_for_completion("inc-1")
            history = host.engine.get_history(approval_instance_id("inc-1", "s1-switch-rai-policy"))
            return done, response, history

    done, _response, history = run(scenario())
    assert done.runtime_status == "Completed"
    output = done.output
    assert output["approved"] is True and output["reason"] == "approved"
    (who,) = output["decided_by"]
    assert who["approver_id"] == "oid-alice@contoso.com" and who["channel"] == "api"
    assert who["justification"] == "alice@contoso.com checked the evidence"
    # The timer raced against the decision was cancelled (no TimerFired in the gate's history).
    assert not [e for e in history if e["EventType"] == 11]
    actions = [r.action for r in deps.service.audit.records(incident_id="inc-1")]
    assert actions[:2] == ["approval.requested", "approval.approve"]
    assert "approval.closed.approved" in actions
    grid, teams = deps.channels
    assert isinstance(grid, FakeChannel) and isinstance(teams, FakeChannel)
    assert _types(grid) == ["Warden.Approval.Requested", "Warden.Approval.Decided"]
    assert teams.calls == 3 and _types(teams) == ["Warden.Approval.Requested", "Warden.Approval.Decided"]


def test_two_approver_steps_wait_for_two_different_people(deps: ApprovalsDeps, tmp_path: Path) -> None:
    app = load_app(APP)

    async def scenario() -> list[Any]:
        async with durable_host(app, tmp_path / "store.db") as host:
            await host.client.start_new(PARENT, "inc-1", gate_request(requirement="two_approvers"))
            await host.engine.wait_for_idle()
            first = await _decide(deps, host, "alice@contoso.com", "approve")
            await host.engine.wait_for_idle()
            after_one = await host.engine.get_status("inc-1")
            again = await _decide(deps, host, "alice@contoso.com", "approve")
            await host.engine.wait_for_idle()
            after_again = await host.engine.get_status("inc-1")
            second = await _decide(deps, host, "bob@contoso.com", "approve")
            done = await host.engine.wait_for_completion("inc-1")
            return [first, after_one, again, after_again, second, done]

    first, after_one, again, after_again, second, done = run(scenario())
    assert first.status == 200 and json.loads(first.body)["status"] == "pending"
    assert after_one.runtime_status == "Running"
    assert again.status == 409 and "different approver" in json.loads(again.body)["error"]["message"]
    assert after_again.runtime_status == "Running"  # the refused repeat did not count (#507 cannot replay it)
    assert second.status == 200 and json.loads(second.body)["status"] == "approved"
    assert done.output["approved"] is True
    assert [d["approver_id"] for d in done.output["decided_by"]] == ["oid-alice@contoso.com", "oid-bob@contoso.com"]


def test_a_rejection_stops_the_step(deps: ApprovalsDeps, tmp_path: Path) -> None:
    app = load_app(APP)

    async def scenario() -> Any:
        async with durable_host(app, tmp_path / "store.db") as host:
            await host.client.start_new(PARENT, "inc-1", gate_request())
            await host.engine.wait_for_idle()
            assert (await _decide(deps, host, "carol@contoso.com", "reject")).status == 200
            late = await _decide(deps, host, "dave@contoso.com", "approve")
            assert late.status == 409 and "already rejected" in json.loads(late.body)["error"]["message"]
            return await host.engine.wait_for_completion("inc-1")

    done = run(scenario())
    assert done.output["approved"] is False and done.output["reason"] == "rejected"


def test_a_forged_early_event_neither_approves_nor_spins_the_gate(deps: ApprovalsDeps, tmp_path: Path) -> None:
    app = load_app(APP)
    gate = approval_instance_id("inc-1", "s1-switch-rai-policy")
    clock = ManualClock()

    async def scenario() -> tuple[Any, Any, Any]:
        async with durable_host(app, tmp_path / "store.db", clock=clock) as host:
            await host.client.start_new(PARENT, "inc-1", gate_request(reminder_seconds=1800))
            await host.engine.wait_for_idle()
            # Raised straight at the gate, bypassing the API: nothing is recorded behind them.
            await host.client.raise_event(gate, "ApprovalDecision", {"approved": True, "approver_id": "mallory"})
            await host.client.raise_event(gate, "ApprovalDecision.2", {"approved": True})
            await host.engine.wait_for_idle()
            forged = await host.engine.get_status("inc-1")
            assert (await _decide(deps, host, "alice@contoso.com", "approve")).status == 200
            await host.engine.wait_for_idle()
            # Whatever the forged events did to the signal, the record is read at the next timer.
            clock.advance(timedelta(minutes=30))
            done = await host.engine.wait_for_completion("inc-1")
            return forged, done, host.engine.get_history(gate)

    forged, done, history = run(scenario())
    assert forged.runtime_status == "Running"
    assert done.output["approved"] is True
    assert [d["approver_id"] for d in done.output["decided_by"]] == ["oid-alice@contoso.com"]
    assert len(history) < 200  # a buffered event never spun the loop


def test_nobody_answering_reminds_escalates_and_denies_at_the_deadline(deps: ApprovalsDeps, tmp_path: Path) -> None:
    app = load_app(APP)
    clock = ManualClock()
    escalation = [
        {"approvers": ["Warden.Approver"], "wait_seconds": 3600},
        {"approvers": ["secops-leads@contoso.com"], "wait_seconds": 3 * 3600},
    ]

    async def scenario() -> Any:
        async with durable_host(app, tmp_path / "store.db", clock=clock) as host:
            request = gate_request(timeout_seconds=4 * 3600, escalation=escalation, reminder_seconds=1800)
            await host.client.start_new(PARENT, "inc-1", request)
            await host.engine.wait_for_idle()
            for _ in range(9):
                clock.advance(timedelta(minutes=30))
                await host.engine.wait_for_idle()
            return await host.engine.wait_for_completion("inc-1")

    done = run(scenario())
    assert done.output == {"approved": False, "decided_by": [], "reason": "expired"}
    grid = deps.channels[0]
    assert isinstance(grid, FakeChannel)
    kinds = _types(grid)
    assert kinds[0] == "Warden.Approval.Requested" and kinds[-1] == "Warden.Approval.Decided"
    assert kinds.count("Warden.Approval.Escalated") == 1
    assert kinds.count("Warden.Approval.Reminder") >= 5
    escalated = next(m for m in grid.sent if m.type == "Warden.Approval.Escalated")
    assert "secops-leads@contoso.com" in escalated.data["approvers"]
    record = deps.service.get_record(approval_instance_id("inc-1", "s1-switch-rai-policy"))
    assert record.status.value == "expired" and record.escalation_level == 1
    assert "approval.expired" in [r.action for r in deps.service.audit.records(incident_id="inc-1")]
