"""Anomalies end to end on devhost hosting the real function_app.py: an ARM ResourceWriteSuccess
event for an unapproved deployment through the Event Grid webhook, and a timer run of the
detectors over the labeled dataset, each open an incident. Azure is the emulator (loopback
server, real SDK clients), storage is real Azurite, orchestrations run on devhost's engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from devhost.server import DevHostThread
from emulator import Emulator
from emulator.datasets import AnomalyDataset, generate_anomaly_dataset
from emulator.datasets.anomalies import SUBSCRIPTION_ID, WARDEN_PRINCIPAL_ID, WORKSPACE_ID
from emulator.datasets.events import resource_write_success
from emulator.server import EmulatorServer
from emulator.state import Deployment
from shared.bootstrap import container, reset_container
from shared.finding import incident_instance_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset() -> AnomalyDataset:
    return generate_anomaly_dataset(seed=11, now=datetime.now(UTC))


@pytest.fixture(scope="module")
def emulator(dataset: AnomalyDataset) -> Iterator[Emulator]:
    emu = Emulator(dataset.tenant(), seed=5)
    yield emu


@pytest.fixture(scope="module")
def warden(azurite: Azurite, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with EmulatorServer(emulator) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION_ID)
        patch.setenv("WARDEN_TABLES_CONNECTION_STRING", azurite.table_connection_string)
        patch.setenv("WARDEN_EMULATOR_URL", server.url)
        patch.setenv("WARDEN_LOG_ANALYTICS_WORKSPACE_ID", WORKSPACE_ID)
        patch.setenv("WARDEN_IDENTITY_PRINCIPAL_ID", WARDEN_PRINCIPAL_ID)
        patch.setenv("WARDEN_POLICY_PATH", str(ROOT / "policy.yaml"))
        service = TableServiceClient.from_connection_string(azurite.table_connection_string)
        for table in service.list_tables():
            service.delete_table(table.name)
        reset_container()
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host
        reset_container()


def status(host: DevHostThread, instance_id: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{host.url}/runtime/webhooks/durabletask/instances/{instance_id}",
        params={"code": host.system_key("durabletask_extension")},
        timeout=30,
    )
    return response.json() if response.status_code in (200, 202) else None


def resource_write_event(resource_uri: str) -> dict[str, Any]:
    """A subscription-topic ResourceWriteSuccess event, shaped like the documented ones."""
    return resource_write_success(
        resource_uri,
        "6d7e8f90-0000-4000-8000-0000000000aa",
        subscription=SUBSCRIPTION_ID,
        event_id="5f1c2e3d-0000-4000-8000-00000000d3b1",
        correlation_id="0c0ffee0-0000-4000-8000-000000000001",
    )


def deliver(host: DevHostThread, events: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{host.url}/runtime/webhooks/eventgrid",
        params={"functionName": "on_resource_event", "code": host.system_key("eventgrid_extension")},
        json=events,
        headers={"aeg-event-type": "Notification"},
        timeout=120,
    )


def test_unapproved_deployment_event_opens_an_incident(
    warden: DevHostThread, emulator: Emulator, dataset: AnomalyDataset
) -> None:
    account_id = dataset.accounts[2]
    with emulator.lock:  # someone deployed a model that is not on the allowlist
        account = emulator.state.account_by_id(account_id)
        assert account is not None
        account.deployments["experiment"] = Deployment(
            name="experiment", model={"format": "Meta", "name": "llama-3-70b", "version": "1"}, sku={"name": "Standard"}
        )
    deployment_uri = f"{account_id}/deployments/experiment"
    response = deliver(warden, [resource_write_event(deployment_uri)])
    assert response.status_code == 202, response.text  # the webhook answers once the function ran
    key = f"model:unapproved_deployment|{deployment_uri.lower()}|meta/llama-3-70b@1"
    assert status(warden, incident_instance_id(key)) is not None
    # a redelivery starts nothing new
    assert deliver(warden, [resource_write_event(deployment_uri)]).status_code == 202


def test_malformed_resource_event_is_acknowledged(warden: DevHostThread) -> None:
    bad = resource_write_event("/subscriptions/not-a-guid/whatever")
    bad["data"]["resourceUri"] = "/subscriptions/not-a-guid/whatever"
    response = deliver(warden, [bad])
    assert response.status_code == 202, response.text  # quarantined and acknowledged, never retried
    records = container().quarantine.list(source="resource_event")
    assert any(r.reason_code == "invalid_resource" for r in records)


def test_detector_timer_run_opens_an_incident_for_the_injected_token_spike(
    warden: DevHostThread, dataset: AnomalyDataset
) -> None:
    response = requests.post(
        f"{warden.url}/admin/functions/anomaly_detectors",
        params={"wait": "true"},
        json={},
        headers={"x-functions-key": warden.master_key},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    label = dataset.labels_for("token_spike")[0]
    bin_start = label.start.isoformat().replace("+00:00", "Z")
    key = f"anomaly:token_spike|{label.account_id.lower()}|{bin_start}"
    assert status(warden, incident_instance_id(key)) is not None


def test_approved_deployment_event_opens_nothing(warden: DevHostThread, dataset: AnomalyDataset) -> None:
    deployment_uri = f"{dataset.accounts[3]}/deployments/chat"  # gpt-4o: on the shipped allowlist
    assert deliver(warden, [resource_write_event(deployment_uri)]).status_code == 202
    key = f"model:unapproved_deployment|{deployment_uri.lower()}|openai/gpt-4o@2024-11-20"
    assert status(warden, incident_instance_id(key)) is None


def test_list_keys_by_another_identity_opens_or_joins_an_incident(
    warden: DevHostThread, dataset: AnomalyDataset
) -> None:
    account_id = dataset.accounts[3]
    event = resource_write_event(account_id)
    event["eventType"] = "Microsoft.Resources.ResourceActionSuccess"
    event["data"].update(
        operationName="Microsoft.CognitiveServices/accounts/listKeys/action",
        resourceUri=account_id,
        correlationId="0c0ffee0-0000-4000-8000-0000000000c7",
    )
    assert deliver(warden, [event]).status_code == 202
    key = f"anomaly:key_operation_by_other|{account_id.lower()}|listkeys|0c0ffee0-0000-4000-8000-0000000000c7"
    # Alone, the finding opens its own incident; after the timer test the account already has
    # one (opened by its blocked-prompt spike) and the finding joins it. Exactly one records it.
    blocked = dataset.labels_for("blocked_prompt_spike")[0]
    assert blocked.account_id == account_id
    spike_key = f"anomaly:blocked_prompt_spike|{account_id.lower()}|{blocked.start.isoformat().replace('+00:00', 'Z')}"
    candidates = {incident_instance_id(key), incident_instance_id(spike_key)}
    recorded = [iid for iid in candidates if any(f.dedupe_key == key for f in container().incident_findings.list(iid))]
    assert len(recorded) == 1, recorded
    assert status(warden, recorded[0]) is not None
