"""The emulated diagnostic-settings and Defender-pricing APIs, through Warden's posture port and
the real ARM pipeline (auth, api-version, counters)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from emulator import Emulator
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.azure.posture import AzurePosture
from shared.ports.posture import PostureError
from shared.resource_ids import AccountId
from shared.settings import load_settings

SUB = "1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11"
RG = "rg-ai"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/law-sec"
MONITORED = AccountId.parse(
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/watched"
)
BARE = AccountId.parse(
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/unwatched"
)
MISSING = AccountId.parse(
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/ghost"
)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(
        {
            "subscriptions": [
                {
                    "id": SUB,
                    "defender_plans": {"AI": "Standard", "VirtualMachines": "Free"},
                    "resource_groups": [
                        {
                            "name": RG,
                            "accounts": [
                                {
                                    "name": "watched",
                                    "diagnostic_settings": [
                                        {"name": "to-sec", "workspace": WORKSPACE, "log_category_groups": ["audit"]}
                                    ],
                                },
                                {"name": "unwatched"},
                            ],
                        }
                    ],
                }
            ]
        }
    )


@pytest.fixture
def clients(emulator: Emulator) -> Iterator[AzureClients]:
    from emulator.transport import EmulatorTransport

    built = AzureClients(
        load_settings(subscription_ids=[SUB], emulator_url=None, notify_topic_endpoint=None, notify_topic_key=None),
        credential=StaticTokenCredential(),
        transport=EmulatorTransport(emulator),
    )
    try:
        yield built
    finally:
        built.close()


def test_diagnostic_settings_list_returns_the_accounts_settings(clients: AzureClients, emulator: Emulator) -> None:
    posture = AzurePosture(clients)
    (setting,) = posture.diagnostic_settings(MONITORED)
    assert setting.name == "to-sec" and setting.workspace_id == WORKSPACE
    assert setting.enabled_logs == ("audit",) and setting.metrics_enabled and setting.exports_anything
    assert posture.diagnostic_settings(BARE) == []
    assert emulator.calls("arm.diagnosticSettings.list") == 2
    assert emulator.counts()["arm"][SUB]["reads"] == 2


def test_diagnostic_settings_of_a_missing_account_is_an_error(clients: AzureClients) -> None:
    with pytest.raises(PostureError, match="not found"):
        AzurePosture(clients).diagnostic_settings(MISSING)


def test_defender_plan_reads_the_ai_pricing(clients: AzureClients, emulator: Emulator) -> None:
    plan = AzurePosture(clients).defender_plan(SUB)
    assert plan is not None and plan.name == "AI" and plan.enabled
    assert emulator.calls("arm.pricings.get") == 1


def test_a_plan_the_api_does_not_show_is_none(clients: AzureClients, emulator: Emulator) -> None:
    emulator.state.subscriptions[SUB].pricings.clear()
    assert AzurePosture(clients).defender_plan(SUB) is None


def test_pricings_list_and_auth_are_emulated(emulator: Emulator) -> None:
    url = (
        f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Security/pricings?api-version=2024-01-01"
    )
    status, _, body = emulator.handle("GET", url, {"Authorization": "Bearer x"})
    assert status == 200
    assert sorted(p["name"] for p in json.loads(body)["value"]) == ["AI", "VirtualMachines"]
    assert emulator.handle("GET", url, {})[0] == 401
    assert emulator.handle("GET", url.split("?", maxsplit=1)[0], {"Authorization": "Bearer x"})[0] == 400


def test_access_denied_names_the_permission(clients: AzureClients, emulator: Emulator) -> None:
    emulator.inject_fault("arm.pricings.get", "error", status=403, code="AuthorizationFailed")
    with pytest.raises(PostureError, match=r"Microsoft\.Security/pricings/read"):
        AzurePosture(clients).defender_plan(SUB)
