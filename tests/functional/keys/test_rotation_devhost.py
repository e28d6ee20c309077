"""Rotation end to end: Event Grid event -> devhost's Durable engine (real SDK replay) -> the
real activities -> real SDK clients -> the emulator, with an application using the key meanwhile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devhost.durable import ManualClock
from devhost.eventgrid import decode_event
from devhost.loader import load_app
from handlers.bindings import event_to_dict
from shared.bootstrap import container
from shared.contracts.rotation import EMERGENCY_ORCHESTRATOR, GATE_STEP_ID, emergency_instance_id, rotation_instance_id
from shared.keys.slots import KeySlot
from shared.ports.probe import KeyRejectedError
from shared.usecases.key_hygiene import take_key_vault_event
from tests.approvals_support import decide_via_api
from tests.functional.devhost_durable.support import durable_host, run
from tests.functional.keys.conftest import ACCOUNT, SECRET, VAULT, VAULT_NAME, Estate
from tests.functional.keys.consumer import Consumer
from tests.unit.keys.samples import near_expiry

APP = Path(__file__).with_name("keys_app.py")
pytest_plugins: list[str] = []


async def process_key_vault_event(event: dict[str, Any], client: Any) -> str:
    """What ``handlers.keys.on_key_vault_event`` runs for ``event``."""
    return await take_key_vault_event(event, container().key_hygiene_deps(client), now=datetime.now(UTC))


def _endpoint(estate: Estate) -> str:
    endpoint = estate.ports.cognitive.get_account(ACCOUNT).endpoint
    assert endpoint
    return endpoint


def _all_values(estate: Estate) -> set[str]:
    keys = estate.ports.cognitive.list_keys(ACCOUNT)
    return {keys.key1, keys.key2}


def test_scheduled_rotation_from_a_key_vault_event_has_zero_downtime(estate: Estate, tmp_path: Path) -> None:
    app = load_app(APP)
    endpoint = _endpoint(estate)
    version = estate.ports.secrets.get_secret(VAULT, SECRET).meta.version
    assert version
    keys_before = estate.ports.cognitive.list_keys(ACCOUNT)
    # Slow the control plane down a little so the application's requests interleave with every step.
    estate.emulator.inject_fault("arm.accounts.regenerateKey", "latency", latency=0.05)
    estate.emulator.inject_fault("keyvault.setSecret", "latency", latency=0.05)
    consumer = Consumer(estate.emulator, endpoint)
    clock = ManualClock()
    iid = rotation_instance_id(ACCOUNT, version)
    marks: dict[str, int] = {}

    async def scenario() -> dict[str, Any]:
        async with durable_host(app, tmp_path / "store.db", clock=clock) as host:
            consumer.start()
            event = near_expiry(vault=VAULT_NAME, secret=SECRET, version=version, cloud=True)
            binding_event = decode_event(event)  # as devhost's Event Grid webhook decodes it
            marks["start"] = consumer.requests
            assert await process_key_vault_event(event_to_dict(binding_event), host.client) == "start"
            # A redelivery of the same event starts nothing new.
            assert await process_key_vault_event(event_to_dict(binding_event), host.client) == "duplicate"
            await host.engine.wait_for_idle()
            status = await host.engine.get_status(iid)
            assert status is not None and status.runtime_status == "Running"  # in its grace period
            marks["rotated"] = consumer.requests
            clock.advance(timedelta(hours=25))
            done = await host.engine.wait_for_completion(iid)
            history = json.dumps(host.engine.get_history(iid))
            assert done.runtime_status == "Completed"
            return {"output": done.output, "history": history, "input": json.dumps(done.input)}

    result = run(scenario())
    for _ in range(20):  # some requests after the rotation too, with the same (old) key
        consumer.request_once()
    consumer.stop()
    output = result["output"]
    assert output["status"] == "rotated" and output["active_slot"] == "key2"
    # Zero downtime: no request failed, none was even refused.
    assert consumer.failed == 0 and consumer.unauthorized == 0
    assert consumer.requests - marks["start"] > 0 and marks["rotated"] > marks["start"]
    # key2 was regenerated and is in Key Vault; key1 (the consumer's) still works.
    keys_after = estate.ports.cognitive.list_keys(ACCOUNT)
    assert keys_after.key1 == keys_before.key1 and keys_after.key2 != keys_before.key2
    latest = estate.ports.secrets.get_secret(VAULT, SECRET)
    assert latest.value == keys_after.key2 and latest.meta.tags["CredentialId"] == "key2"
    assert latest.meta.expires_on is not None
    # No key value ever reached Durable history, inputs or outputs.
    text = result["history"] + result["input"] + json.dumps(output)
    assert not [v for v in _all_values(estate) | {keys_before.key2} if v in text]
    # The data-plane probe ran before the vault write, once per rotation; one regeneration.
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 1
    assert estate.emulator.calls("keyvault.setSecret") == 1
    print(f"\nzero-downtime: {consumer.requests} requests, {consumer.failed} failed, {consumer.unauthorized} refused")


def test_emergency_rotation_after_approval_refuses_the_leaked_key_at_once(estate: Estate, tmp_path: Path) -> None:
    app = load_app(APP)
    endpoint = _endpoint(estate)
    leaked = estate.ports.secrets.get_secret(VAULT, SECRET).value  # key1, the one consumers hold
    consumer = Consumer(estate.emulator, endpoint)
    iid = emergency_instance_id(ACCOUNT, "inc-credential-theft-1")

    async def scenario() -> dict[str, Any]:
        async with durable_host(app, tmp_path / "store.db") as host:
            payload = {
                "account_id": str(ACCOUNT),
                "exposure": "active",
                "incident_id": "inc-1",
                "requires_approval": True,
            }
            await host.client.start_new(EMERGENCY_ORCHESTRATOR, iid, payload)
            await host.engine.wait_for_idle()
            waiting = await host.engine.get_status(iid)
            assert waiting is not None and waiting.runtime_status == "Running"
            assert estate.emulator.calls("arm.accounts.regenerateKey") == 0  # nothing before approval
            # An on-call engineer approves through the approvals API (the gate every step asks).
            answer = await decide_via_api(container().approvals_deps, host.client, "inc-1", GATE_STEP_ID)
            assert answer.status == 200, answer.body
            done = await host.engine.wait_for_completion(iid)
            assert done.runtime_status == "Completed", done.output
            return {"output": done.output, "history": json.dumps(host.engine.get_history(iid))}

    result = run(scenario())
    output = result["output"]
    assert output["status"] == "rotated" and output["active_slot"] == "key2"
    steps = output["steps"]
    first_regeneration = next(s for s in steps if s["regenerated"])
    assert first_regeneration["slot"] == "key1" and first_regeneration["old_key_refused"] is True
    try:
        estate.ports.probe.check_key(endpoint, leaked)
        refused = False
    except KeyRejectedError:
        refused = True
    assert refused
    # The consumer holding the leaked key recovers with one re-read of Key Vault.
    assert consumer.request_once() is True
    assert consumer.unauthorized == 1 and consumer.failed == 0
    assert leaked not in result["history"] and not [v for v in _all_values(estate) if v in result["history"]]


def test_emergency_rotation_without_approval_changes_nothing(estate: Estate, tmp_path: Path) -> None:
    app = load_app(APP)
    iid = emergency_instance_id(ACCOUNT, "inc-2")
    clock = ManualClock()

    async def scenario() -> Any:
        async with durable_host(app, tmp_path / "store.db", clock=clock) as host:
            payload = {"account_id": str(ACCOUNT), "requires_approval": True, "approval_timeout_seconds": 3600}
            await host.client.start_new(EMERGENCY_ORCHESTRATOR, iid, payload)
            await host.engine.wait_for_idle()
            clock.advance(timedelta(hours=2))
            return (await host.engine.wait_for_completion(iid)).output

    assert run(scenario())["status"] == "expired"
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 0


def test_a_rotation_event_for_a_superseded_version_is_an_audited_no_op(estate: Estate, tmp_path: Path) -> None:
    old = estate.ports.secrets.get_secret(VAULT, SECRET).meta.version
    assert old
    estate.ports.secrets.set_secret(
        VAULT,
        SECRET,
        estate.ports.cognitive.list_keys(ACCOUNT).key2,
        tags={"CredentialId": "key2", "ProviderAddress": str(ACCOUNT), "ValidityPeriodDays": "60"},
        expires_on=None,
    )
    app = load_app(APP)

    async def scenario() -> str:
        async with durable_host(app, tmp_path / "store.db") as host:
            event = near_expiry(vault=VAULT_NAME, secret=SECRET, version=old)
            return await process_key_vault_event(event_to_dict(decode_event(event)), host.client)

    assert run(scenario()) == "ignore"
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 0
    assert KeySlot.KEY2.value == estate.ports.secrets.get_secret(VAULT, SECRET).meta.tags["CredentialId"]
