"""Fixtures for the key unit tests: a small world of fakes wired into the handlers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.bootstrap import Container, reset_container, set_container
from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId
from shared.settings import load_settings
from shared.storage.memory import MemoryAuditStore, MemoryIdempotencyStore, MemoryQuarantineStore
from shared.usecases.key_rotation import KeysPorts
from tests.fakes import FakeCognitive, FakeInventory, FakeKeyProbe, FakeLogs, FakeSecrets

SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNT = AccountId(SUB, "rg-ai", "contoso-openai")
VAULT = "https://kv-contoso-ai.vault.azure.net"
SECRET = "contoso-openai-key"
WARDEN = "11111111-2222-3333-4444-555555555555"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class World:
    cognitive: FakeCognitive
    secrets: FakeSecrets
    inventory: FakeInventory
    logs: FakeLogs
    probe: FakeKeyProbe
    idempotency: MemoryIdempotencyStore
    quarantine: MemoryQuarantineStore
    clock: Clock
    ports: KeysPorts

    def secret_version(self) -> str:
        version = self.secrets.versions(VAULT, SECRET)[-1].version
        assert version is not None
        return version

    def seed_secret(
        self, slot: KeySlot = KeySlot.KEY1, *, validity: str = "60", extra: dict[str, str] | None = None
    ) -> str:
        tags = {"CredentialId": slot.value, "ProviderAddress": str(ACCOUNT), "ValidityPeriodDays": validity}
        tags |= extra or {}
        meta = self.secrets.set_secret(
            VAULT,
            SECRET,
            self.cognitive.current_key(ACCOUNT, slot),
            tags=tags,
            expires_on=self.clock.now + timedelta(days=20),
        )
        self.secrets.calls.clear()
        assert meta.version is not None
        return meta.version


def make_world() -> World:
    clock = Clock(NOW)
    cognitive = FakeCognitive()
    cognitive.add_account(ACCOUNT)
    secrets = FakeSecrets(clock=clock)
    secrets.add_vault(VAULT)
    probe = cognitive.probe()
    inventory = FakeInventory()
    logs = FakeLogs()
    idem = MemoryIdempotencyStore()
    quarantine = MemoryQuarantineStore()
    ports = KeysPorts(
        cognitive=cognitive,
        secrets=secrets,
        inventory=inventory,
        logs=logs,
        probe=probe,
        idempotency=idem,
        quarantine=quarantine,
        audit=MemoryAuditStore(),
        clock=clock,
        sleep=lambda _s: None,
    )
    return World(cognitive, secrets, inventory, logs, probe, idem, quarantine, clock, ports)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Fakes wired into the container's ``keys_ports``, with key settings from the environment."""
    monkeypatch.setenv("WARDEN_KEY_VAULTS", VAULT)
    monkeypatch.setenv("WARDEN_KEY_PROBE_DELAY_SECONDS", "0")
    monkeypatch.setenv("WARDEN_KEY_PROBE_ATTEMPTS", "3")
    settings = load_settings(subscription_ids=[SUB], identity_principal_id=WARDEN)
    container = Container(settings=settings, clients=AzureClients(settings, credential=StaticTokenCredential()))
    w = make_world()
    container.keys_ports = w.ports
    set_container(container)
    yield w
    reset_container()
