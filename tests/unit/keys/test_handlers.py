"""Key hygiene's triggers (``shared.usecases.key_hygiene``) as the handlers wire them: start once,
ignore with a reason, quarantine malformed input; the Durable client behind its adapter."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

from handlers.bindings import event_to_dict
from shared.bootstrap import container
from shared.contracts.rotation import rotation_instance_id
from shared.keys.slots import KeySlot
from shared.ports.inventory import AiAccount
from shared.usecases.key_hygiene import scan_keys_and_rotate, take_key_vault_event
from tests.unit.keys.conftest import ACCOUNT, NOW, SECRET, WARDEN, World
from tests.unit.keys.samples import near_expiry


@dataclass
class _Status:
    runtime_status: Any


@dataclass
class FakeDurableClient:
    """Records starts; remembers instances like the Durable extension would."""

    instances: dict[str, str] = field(default_factory=dict)
    starts: list[tuple[str, str, Any]] = field(default_factory=list)

    async def get_status(self, instance_id: str) -> _Status | None:
        state = self.instances.get(instance_id)
        return _Status(runtime_status=state) if state else _Status(runtime_status=None)

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        self.starts.append((name, instance_id, payload))
        self.instances[instance_id] = "Running"
        return instance_id


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def process_key_vault_event(event: dict[str, Any], client: FakeDurableClient) -> Any:
    """What ``handlers.keys.on_key_vault_event`` runs for ``event``."""
    return take_key_vault_event(event, container().key_hygiene_deps(client), now=NOW)


def run_scan_and_rotate(client: FakeDurableClient) -> Any:
    """What ``handlers.keys.key_age_scan`` runs."""
    return scan_keys_and_rotate(container().key_hygiene_deps(client))


@pytest.mark.parametrize("cloud", [False, True])
def test_a_near_expiry_event_starts_one_rotation_even_when_redelivered(world: World, cloud: bool) -> None:
    version = world.seed_secret()
    client = FakeDurableClient()
    event = near_expiry(vault="kv-contoso-ai", secret=SECRET, version=version, cloud=cloud)
    assert run(process_key_vault_event(event, client)) == "start"
    assert run(process_key_vault_event(event, client)) == "duplicate"
    assert [(name, iid) for name, iid, _ in client.starts] == [
        ("keys_rotate_scheduled", rotation_instance_id(ACCOUNT, version))
    ]
    payload = client.starts[0][2]
    assert payload["secret_version"] == version and payload["account_id"] == str(ACCOUNT)


def test_a_completed_rotation_is_not_started_again(world: World) -> None:
    version = world.seed_secret()
    client = FakeDurableClient(instances={rotation_instance_id(ACCOUNT, version): "Completed"})
    assert (
        run(process_key_vault_event(near_expiry(vault="kv-contoso-ai", secret=SECRET, version=version), client))
        == "duplicate"
    )


def test_a_failed_rotation_is_restarted(world: World) -> None:
    version = world.seed_secret()
    client = FakeDurableClient(instances={rotation_instance_id(ACCOUNT, version): "Failed"})
    assert (
        run(process_key_vault_event(near_expiry(vault="kv-contoso-ai", secret=SECRET, version=version), client))
        == "start"
    )


def test_malformed_events_are_quarantined_and_acknowledged(world: World) -> None:
    client = FakeDurableClient()
    bad = near_expiry(vault="kv-contoso-ai", secret=SECRET, version="abc")
    bad["data"]["EXP"] = "tomorrow"
    assert run(process_key_vault_event(bad, client)) == "quarantine"
    records = world.quarantine.list(source="key_vault_event")
    assert len(records) == 1 and records[0].reason_code == "malformed_key_vault_data"
    assert "data.EXP" in records[0].message
    assert client.starts == []


def test_oversized_events_are_quarantined_unread(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    event = near_expiry(vault="kv-contoso-ai", secret=SECRET, version="abc")
    event["data"]["padding"] = "x" * 1_100_000
    assert run(process_key_vault_event(event, FakeDurableClient())) == "quarantine"
    assert world.quarantine.list()[0].reason_code == "oversized_event"
    assert world.secrets.calls["get_secret"] == 0


def test_other_events_are_ignored_with_a_logged_reason(world: World, caplog: pytest.LogCaptureFixture) -> None:
    version = world.seed_secret()
    event = near_expiry(
        vault="kv-contoso-ai", secret=SECRET, version=version, event_type="Microsoft.KeyVault.SecretNewVersionCreated"
    )
    with caplog.at_level("INFO", logger="warden.keys"):
        assert run(process_key_vault_event(event, FakeDurableClient())) == "ignore"
    assert any("not_a_rotation_event" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("cloud", [False, True])
def test_binding_objects_are_turned_back_into_wire_events(cloud: bool) -> None:
    from azure.functions import meta
    from azure.functions.eventgrid import EventGridEventInConverter

    event = near_expiry(vault="kv-a", secret="s1", version="abc", cloud=cloud)
    import json

    decoded = EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})
    assert isinstance(decoded, func.CloudEvent if cloud else func.EventGridEvent)
    wire = event_to_dict(decoded)
    assert wire["data"] == event["data"] and wire["subject"] == "s1"
    assert ("specversion" in wire) is cloud


def test_the_timer_scan_reports_and_starts_rotations_for_old_keys(world: World) -> None:
    version = world.seed_secret(KeySlot.KEY1)
    world.inventory.accounts = [AiAccount(id=ACCOUNT, kind="OpenAI")]
    world.logs.answers["key_operations"] = [
        {
            "TimeGenerated": NOW - timedelta(days=120),
            "ResourceId": str(ACCOUNT),
            "OperationNameValue": "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            "Caller": WARDEN,
            "KeyName": "Key1",
            "CorrelationId": "c-1",
        }
    ]
    client = FakeDurableClient()
    summary = run(run_scan_and_rotate(client))
    assert summary["findings"]["key:age_exceeded"] == 2
    assert summary["rotations_started"] == 1
    assert client.starts[0][1] == rotation_instance_id(ACCOUNT, version)
    # one inventory page, one Log Analytics query, one listing per vault
    assert world.inventory.pages == 1 and len(world.logs.calls) == 1
    assert world.secrets.calls["list_properties"] == 1
    # a second scan the same day starts nothing new
    assert run(run_scan_and_rotate(client))["rotations_started"] == 0


def test_activity_retries_outlast_the_idempotency_lease() -> None:
    """A host killed inside keys_apply_step leaves its claim until the lease expires; the
    orchestrator's retries must still be trying then, or the (emergency) rotation is lost."""
    import handlers.keys
    from shared.contracts.rotation import KEY_STEP_LEASE_SECONDS, KEY_STEP_RETRY

    retry = handlers.keys._RETRY
    interval_s = retry.first_retry_interval_in_milliseconds / 1000
    spent_waiting = -(-KEY_STEP_LEASE_SECONDS // interval_s)  # attempts that find the dead claim
    assert retry.max_number_of_attempts - spent_waiting >= KEY_STEP_RETRY.transient_attempts >= 8
