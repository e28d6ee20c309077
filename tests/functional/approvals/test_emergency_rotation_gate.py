"""The emergency key rotation asks through the approval gate, like every gated step: nothing is
regenerated before an approver decides through the approvals API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.loader import load_app
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.bootstrap import Container, reset_container, set_container
from shared.contracts.rotation import EMERGENCY_ORCHESTRATOR
from shared.keys.slots import KeySlot
from shared.settings import load_settings
from shared.usecases.approvals import ApprovalsDeps
from tests.approvals_support import decide_via_api, memory_deps
from tests.functional.devhost_durable.support import durable_host, run
from tests.unit.keys.conftest import ACCOUNT, SUB, VAULT, WARDEN, World, make_world

APP = Path(__file__).with_name("keys_gate_app.py")
GATE = "inc-k:approval:rotate-key-emergency"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, ApprovalsDeps]]:
    monkeypatch.setenv("WARDEN_KEY_VAULTS", VAULT)
    monkeypatch.setenv("WARDEN_KEY_PROBE_DELAY_SECONDS", "0")
    settings = load_settings(subscription_ids=[SUB], identity_principal_id=WARDEN)
    container = Container(settings=settings, clients=AzureClients(settings, credential=StaticTokenCredential()))
    w = make_world()
    container.keys_ports = w.ports
    deps = memory_deps()
    container.approvals_deps = deps
    set_container(container)
    yield w, deps
    reset_container()


def _rotate(world: tuple[World, ApprovalsDeps], tmp_path: Path, decision: str) -> tuple[Any, int]:
    w, deps = world
    w.seed_secret(KeySlot.KEY1)
    app = load_app(APP)

    async def scenario() -> tuple[Any, int]:
        async with durable_host(app, tmp_path / "store.db") as host:
            payload = {
                "account_id": str(ACCOUNT),
                "exposure": "active",
                "incident_id": "inc-k",
                "requires_approval": True,
            }
            await host.client.start_new(EMERGENCY_ORCHESTRATOR, "rot-1", payload)
            await host.engine.wait_for_idle()
            before = w.cognitive.calls["regenerate_key"]
            gate = await host.engine.get_status(GATE)
            assert gate is not None and gate.runtime_status == "Running"

            answer = await decide_via_api(
                deps,
                host.client,
                "inc-k",
                "rotate-key-emergency",
                decision=decision,
                justification="leaked in a public repo",
            )
            assert answer.status == 200, answer.body
            done = await host.engine.wait_for_completion("rot-1")
            return done.output, before

    return run(scenario())


def test_an_approved_gate_lets_the_emergency_rotation_run(world: tuple[World, ApprovalsDeps], tmp_path: Path) -> None:
    output, regenerated_before = _rotate(world, tmp_path, "approve")
    assert regenerated_before == 0
    assert output["status"] == "rotated"
    record = world[1].service.get_record(GATE)
    assert record.step.action.value == "rotate_key_emergency" and record.status.value == "approved"


def test_a_rejected_gate_rotates_nothing(world: tuple[World, ApprovalsDeps], tmp_path: Path) -> None:
    output, _ = _rotate(world, tmp_path, "reject")
    assert output["status"] == "rejected" and "Alice" in output["detail"]
    assert world[0].cognitive.calls["regenerate_key"] == 0
