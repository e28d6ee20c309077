"""Fault injection as a reliability suite uses it: seeded random faults against the real SDKs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError

from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from tests.functional.emulator.conftest import ACCOUNT_PROD, RG_PROD, SUB_PROD, Env


def _outcomes(seed: int, settings_factory) -> list[str]:
    emulator = Emulator(load_tenant(DEMO_TENANT), seed=1)
    emulator.inject_fault("arm.accounts.get", "error", status=409, probability=0.5, seed=seed)
    clients = AzureClients(
        settings_factory(), credential=StaticTokenCredential(), transport=EmulatorTransport(emulator)
    )
    outcomes = []
    for _ in range(20):
        try:
            clients.cognitive(SUB_PROD).accounts.get(RG_PROD, ACCOUNT_PROD)
            outcomes.append("ok")
        except HttpResponseError as exc:
            outcomes.append(str(exc.status_code))
    return outcomes


def test_probabilistic_faults_are_reproducible_with_a_seed(settings_factory) -> None:
    first = _outcomes(42, settings_factory)
    assert first == _outcomes(42, settings_factory)
    assert {"ok", "409"} == set(first)


def test_next_n_calls_fault_then_recovers(inprocess: Env) -> None:
    inprocess.emulator.inject_fault("arm.deployments.list", "error", status=400, code="Boom", count=2)
    deployments = inprocess.clients.cognitive(SUB_PROD).deployments
    for _ in range(2):
        with pytest.raises(HttpResponseError) as info:
            list(deployments.list(RG_PROD, ACCOUNT_PROD))
        assert info.value.error is not None and info.value.error.code == "Boom"
    assert len(list(deployments.list(RG_PROD, ACCOUNT_PROD))) == 2
    assert inprocess.emulator.list_faults() == []  # exhausted rules are dropped


def test_latency_fault_delays_but_does_not_fail(inprocess: Env) -> None:
    inprocess.emulator.inject_fault("dataplane.probe", "latency", latency=0.01, count=1)
    key = inprocess.emulator.account_keys(
        f"/subscriptions/{SUB_PROD}/resourceGroups/{RG_PROD}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT_PROD}"
    )["key1"]
    inprocess.clients.data_plane().check_key(f"https://{ACCOUNT_PROD}.openai.azure.com", key)
    assert inprocess.emulator.counts()["status"]["dataplane.probe"] == {"200": 1}


def test_persistent_server_errors_surface_after_sdk_retries(inprocess: Env) -> None:
    inprocess.emulator.inject_fault("arm.accounts.get", "error", status=503, count=10)
    with pytest.raises((HttpResponseError, ServiceResponseError)):
        inprocess.clients.cognitive(SUB_PROD).accounts.get(RG_PROD, ACCOUNT_PROD)
    assert inprocess.emulator.calls("arm.accounts.get") == 4  # 1 try + azure-core's 3 retries


def test_throttling_on_resource_graph_is_retried(inprocess: Env) -> None:
    from azure.mgmt.resourcegraph.models import QueryRequest

    from shared import kql

    inprocess.emulator.inject_fault("resourcegraph.query", "throttle", count=1, retry_after=5)
    result = inprocess.clients.resource_graph().resources(
        QueryRequest(subscriptions=[SUB_PROD], query=kql.render("ai_accounts"))
    )
    assert result.total_records == 2
    assert inprocess.emulator.calls("resourcegraph.query") == 2
