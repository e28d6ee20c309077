"""Fixtures: the demo tenant in an ``Emulator``, and Warden's real SDK clients pointed at it.

``clients`` is parametrized over the two ways in: ``inprocess`` (``EmulatorTransport``) and
``loopback`` (the aiohttp server via ``WARDEN_EMULATOR_URL``, i.e. ``RedirectTransport``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.server import EmulatorServer
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.settings import load_settings

SUB_PROD = "1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11"
SUB_DEV = "8b2e4d17-3c6a-4f90-b5d2-7e1a9c4f0b22"
RG_PROD = "rg-contoso-ai-prod"
RG_DEV = "rg-contoso-ai-dev"
ACCOUNT_PROD = "contoso-openai-prod"
ACCOUNT_AIS = "contoso-aiservices-prod"
ACCOUNT_DEV = "contoso-openai-dev"
ACCOUNT_PROD_ID = (
    f"/subscriptions/{SUB_PROD}/resourceGroups/{RG_PROD}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT_PROD}"
)
ACCOUNT_DEV_ID = (
    f"/subscriptions/{SUB_DEV}/resourceGroups/{RG_DEV}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT_DEV}"
)
VAULT_URL = "https://kv-contoso-ai.vault.azure.net"
WORKSPACE = "6b8f2c1d-4e3a-4b7c-8d9e-0a1b2c3d4e5f"
TOPIC_HOST = "warden-notifications.eastus-1.eventgrid.azure.net"
ENDPOINT_DEV = f"https://{ACCOUNT_DEV}.openai.azure.com/"
ENDPOINT_PROD = f"https://{ACCOUNT_PROD}.openai.azure.com/"
ENDPOINT_AIS = f"https://{ACCOUNT_AIS}.cognitiveservices.azure.com/"


@dataclass
class Env:
    """One way into the emulator: the emulator, Warden's clients, and (loopback) the server URL."""

    mode: str
    emulator: Emulator
    clients: AzureClients
    transport: EmulatorTransport | None
    url: str | None


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(load_tenant(DEMO_TENANT), seed=7)


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    srv = EmulatorServer(emulator).start()
    try:
        yield srv
    finally:
        srv.stop()


def _settings(**overrides: object):
    base: dict[str, object] = {
        "subscription_ids": [SUB_PROD, SUB_DEV],
        "log_analytics_workspace_id": WORKSPACE,
        "emulator_url": None,
        "notify_topic_endpoint": None,
        "notify_topic_key": None,
    }
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
def inprocess(emulator: Emulator) -> Iterator[Env]:
    transport = EmulatorTransport(emulator)
    clients = AzureClients(_settings(), credential=StaticTokenCredential(), transport=transport)
    try:
        yield Env("inprocess", emulator, clients, transport, None)
    finally:
        clients.close()


@pytest.fixture
def loopback(emulator: Emulator, server: EmulatorServer) -> Iterator[Env]:
    clients = AzureClients(_settings(emulator_url=server.url))
    try:
        yield Env("loopback", emulator, clients, None, server.url)
    finally:
        clients.close()


@pytest.fixture(params=["inprocess", "loopback"])
def env(request: pytest.FixtureRequest) -> Env:
    """Both ways in, one test run each."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def settings_factory():
    """Build ``WardenSettings`` for tests with field-name overrides."""
    return _settings
