"""The estate sweep (allowlist + posture) through the real ARM, Resource Graph and Log Analytics
clients against the emulator, with its call budget counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator import Emulator
from emulator.datasets import generate_anomaly_dataset
from emulator.datasets.anomalies import SUBSCRIPTION_ID, WORKSPACE_ID
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.azure.cognitive import AzureCognitive
from shared.azure.inventory import AzureInventory
from shared.azure.logs import AzureLogs
from shared.azure.posture import AzurePosture
from shared.finding import FindingSource
from shared.policy import Policy
from shared.settings import load_settings
from shared.usecases.estate_sweep import SweepReport, run_sweep, select_for_ingest
from tests.functional.anomalies.conftest import NOW

WORKSPACE_ARM = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-ai-usage"
    "/providers/Microsoft.OperationalInsights/workspaces/law"
)


def _tenant() -> dict[str, Any]:
    tenant = generate_anomaly_dataset(seed=7, now=NOW, inject=False).tenant(
        disable_local_auth=True,
        public_network_access="Disabled",
        diagnostic_settings=[{"name": "to-warden", "workspace": WORKSPACE_ARM}],
    )
    sub = tenant["subscriptions"][0]
    sub["defender_plans"] = {"AI": "Free"}
    group = sub["resource_groups"][0]
    # a quiet account that does export its logs, and an unmonitored, open one
    group["accounts"].append(
        {
            "name": "quiet-openai",
            "disable_local_auth": True,
            "public_network_access": "Disabled",
            "diagnostic_settings": [{"name": "to-warden", "workspace": WORKSPACE_ARM}],
        }
    )
    group["accounts"].append(
        {
            "name": "shadow-openai",
            "kind": "AIServices",
            "network_acls": {"default_action": "Allow"},
            "deployments": [
                {"name": "chat", "model": {"name": "gpt-4o", "version": "2024-11-20"}},
                {"name": "experiment", "model": {"name": "llama-3-70b", "version": "1", "format": "Meta"}},
            ],
        }
    )
    return tenant


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return Emulator(_tenant(), seed=3)


@pytest.fixture
def clients(emulator: Emulator) -> Iterator[AzureClients]:
    settings = load_settings(
        subscription_ids=[SUBSCRIPTION_ID],
        log_analytics_workspace_id=WORKSPACE_ID,
        emulator_url=None,
        notify_topic_endpoint=None,
        notify_topic_key=None,
    )
    built = AzureClients(settings, credential=StaticTokenCredential(), transport=EmulatorTransport(emulator))
    emulator.reset_counters()
    try:
        yield built
    finally:
        built.close()


def _sweep(clients: AzureClients, policy: Policy) -> SweepReport:
    return run_sweep(
        inventory=AzureInventory(clients),
        cognitive=AzureCognitive(clients, polling_interval=0),
        posture=AzurePosture(clients),
        logs=AzureLogs(clients),
        policy=policy,
        subscriptions=[SUBSCRIPTION_ID],
        now=NOW,
    )


def _by_kind(report: SweepReport) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        name = finding.resource.name if finding.resource is not None else str(finding.evidence.get("subscription_id"))
        found.setdefault(finding.kind, set()).add(name)
    return found


def test_sweep_flags_unapproved_models_and_posture(clients: AzureClients, policy: Policy) -> None:
    report = _sweep(clients, policy)
    assert report.problems == []
    assert _by_kind(report) == {
        "model:unapproved_deployment": {"experiment"},
        "posture:public_network_open": {"shadow-openai"},
        "posture:local_auth_enabled": {"shadow-openai"},
        "posture:no_diagnostic_settings": {"shadow-openai"},
        "posture:defender_for_ai_disabled": {SUBSCRIPTION_ID},
    }
    unapproved = next(f for f in report.findings if f.kind == "model:unapproved_deployment")
    assert unapproved.evidence["model"] == {"name": "llama-3-70b", "version": "1", "format": "Meta"}
    assert str(unapproved.resource).endswith("/accounts/shadow-openai/deployments/experiment")


def test_sweep_call_budget(clients: AzureClients, emulator: Emulator, policy: Policy) -> None:
    report = _sweep(clients, policy)
    accounts = report.accounts
    assert accounts == 6
    # one Resource Graph page, one deployments list per account, one Log Analytics query, one
    # pricing read per subscription, and diagnostic settings only for the two silent accounts
    assert emulator.calls("resourcegraph.query") == 1
    assert emulator.calls("arm.deployments.list") == accounts
    assert emulator.calls("logs.query") == 1
    assert emulator.calls("arm.diagnosticSettings.list") == 2
    assert emulator.calls("arm.pricings.get") == 1
    assert dict(report.calls) == {
        "inventory": 1,
        "deployments.list": accounts,
        "logs.query": 1,
        "diagnosticSettings.list": 2,
        "pricings.get": 1,
    }


def test_posture_findings_are_held_back_unless_a_rule_names_them(clients: AzureClients, policy: Policy) -> None:
    report = _sweep(clients, policy)
    chosen, held = select_for_ingest(policy, report.findings, report.tags, "matched")
    # the shipped policy has a `posture` rule (source: posture), so every posture finding matches it
    assert held == [] and len(chosen) == len(report.findings)
    no_rule = policy.model_copy(update={"rules": tuple(r for r in policy.rules if r.name != "posture")})
    chosen, held = select_for_ingest(no_rule, report.findings, report.tags, "matched")
    assert [f.kind for f in chosen] == ["model:unapproved_deployment"]
    assert all(f.source is FindingSource.POSTURE for f in held)
    assert select_for_ingest(no_rule, report.findings, report.tags, "all")[1] == []


def test_a_subscription_whose_api_hides_the_ai_plan_raises_no_defender_finding(
    clients: AzureClients, emulator: Emulator, policy: Policy
) -> None:
    saved = dict(emulator.state.subscriptions[SUBSCRIPTION_ID].pricings)
    emulator.state.subscriptions[SUBSCRIPTION_ID].pricings.clear()
    try:
        report = _sweep(clients, policy)
    finally:
        emulator.state.subscriptions[SUBSCRIPTION_ID].pricings.update(saved)
    assert "posture:defender_for_ai_disabled" not in report.kinds()
    assert report.problems == []
