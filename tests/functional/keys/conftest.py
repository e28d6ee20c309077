"""The emulator, real SDK clients through ``EmulatorTransport``, and Warden's real adapters.

Every Azure call in these tests goes through the real azure-mgmt-cognitiveservices,
azure-keyvault-secrets, azure-mgmt-resourcegraph and azure-monitor-query clients (and the real
data-plane probe) into ``emulator.Emulator`` in-process. State stores are the in-memory ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator import Emulator
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.bootstrap import Container, keys_ports_for, reset_container, set_container
from shared.resource_ids import AccountId
from shared.settings import WardenSettings, load_settings
from shared.storage.memory import MemoryAuditStore, MemoryIdempotencyStore, MemoryQuarantineStore
from shared.usecases.key_rotation import KeysPorts
from tests.approvals_support import memory_deps

SUB = "00000000-0000-0000-0000-0000000000a1"
RG = "rg-ai"
WORKSPACE = "9d3a5c1e-0000-4000-8000-00000000ab01"
WARDEN = "5b7e6f0a-0000-4000-8000-00000000beef"
TOKEN = "warden-emulator-token"
VAULT_NAME = "kv-contoso-ai"
VAULT = f"https://{VAULT_NAME}.vault.azure.net"
ACCOUNT = AccountId(SUB, RG, "contoso-openai")
SECRET = "contoso-openai-key"


def tenant(extra_accounts: int = 0, *, local_auth_disabled: tuple[str, ...] = ()) -> dict[str, Any]:
    """One managed account (its key1 in Key Vault) plus ``extra_accounts`` unmanaged ones."""
    accounts: list[dict[str, Any]] = [{"name": ACCOUNT.name, "kind": "OpenAI"}]
    accounts += [
        {
            "name": f"fabrikam-{i:03d}",
            "kind": "AIServices" if i % 2 else "OpenAI",
            "disable_local_auth": f"fabrikam-{i:03d}" in local_auth_disabled,
        }
        for i in range(extra_accounts)
    ]
    accounts.append({"name": "speech-only", "kind": "SpeechServices"})
    return {
        "subscriptions": [
            {
                "id": SUB,
                "activity_log_workspace": "law-security",
                "resource_groups": [
                    {
                        "name": RG,
                        "accounts": accounts,
                        "vaults": [
                            {
                                "name": VAULT_NAME,
                                "secrets": [
                                    {
                                        "name": SECRET,
                                        "value_from": {"account": str(ACCOUNT), "key": "key1"},
                                        "tags": {
                                            "CredentialId": "key1",
                                            "ProviderAddress": str(ACCOUNT),
                                            "ValidityPeriodDays": "60",
                                        },
                                        "expires": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
                                    }
                                ],
                            }
                        ],
                        "workspaces": [{"name": "law-security", "customer_id": WORKSPACE}],
                    }
                ],
            }
        ]
    }


def settings() -> WardenSettings:
    return load_settings(subscription_ids=[SUB], log_analytics_workspace_id=WORKSPACE, identity_principal_id=WARDEN)


def build_clients(emulator: Emulator) -> AzureClients:
    return AzureClients(settings(), credential=StaticTokenCredential(TOKEN), transport=EmulatorTransport(emulator))


def build_ports(clients: AzureClients) -> KeysPorts:
    """The key ports as the app builds them (``shared.bootstrap``), over in-memory stores."""
    ports = keys_ports_for(
        clients,
        idempotency=MemoryIdempotencyStore(),
        quarantine=MemoryQuarantineStore(),
        audit=MemoryAuditStore(),
        polling_interval=0,
    )
    ports.sleep = lambda _s: None
    return ports


@dataclass
class Estate:
    emulator: Emulator
    clients: AzureClients
    ports: KeysPorts


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Estate]:
    """A small tenant in the emulator, with the keys handlers wired to it."""
    monkeypatch.setenv("WARDEN_KEY_VAULTS", VAULT)
    monkeypatch.setenv("WARDEN_KEY_PROBE_DELAY_SECONDS", "0")
    emulator = Emulator(tenant(extra_accounts=3), seed=7)
    emulator.principals[TOKEN] = WARDEN
    clients = build_clients(emulator)
    ports = build_ports(clients)
    container = Container(settings=clients.settings, clients=clients)
    container.keys_ports = ports
    container.approvals_deps = memory_deps()
    set_container(container)
    yield Estate(emulator, clients, ports)
    reset_container()
