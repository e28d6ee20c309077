"""Defender alerts over devhost's real Event Grid webhook: one incident per alert, storms absorbed,
bad payloads quarantined, non-AI alerts skipped. Storage is real Azurite; orchestrations run on
devhost's Durable engine (the real azure-functions-durable replay)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from devhost.server import DevHostThread
from shared.bootstrap import container, reset_container
from shared.finding import incident_instance_id
from tests.alertgen import alert_id_for, deployment_resource_id, make_alert
from tests.conftest import SUBSCRIPTION

ROOT = Path(__file__).resolve().parents[2]
JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


@pytest.fixture(scope="module")
def warden(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)
        patch.setenv("WARDEN_TABLES_CONNECTION_STRING", azurite.table_connection_string)
        for table in TableServiceClient.from_connection_string(azurite.table_connection_string).list_tables():
            TableServiceClient.from_connection_string(azurite.table_connection_string).delete_table(table.name)
        reset_container()
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host
        reset_container()


def eventgrid_event(alert: dict[str, Any]) -> dict[str, Any]:
    """What the Logic App publishes: one alert per Event Grid event, id = SystemAlertId."""
    return {
        "id": alert.get("SystemAlertId", str(uuid.uuid4())),
        "eventType": "Warden.DefenderForCloud.Alert",
        "subject": alert.get("AzureResourceId") or "defender",
        "eventTime": datetime.now(UTC).isoformat(),
        "data": alert,
        "dataVersion": "1.0",
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/warden-alerts",
    }


def cloud_event(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "Warden.DefenderForCloud.Alert",
        "source": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/warden-alerts",
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": alert,
    }


def deliver(host: DevHostThread, events: list[dict[str, Any]], *, cloud: bool = False) -> requests.Response:
    headers = {"aeg-event-type": "Notification"}
    if cloud:
        headers["Content-Type"] = "application/cloudevents-batch+json; charset=utf-8"
    return requests.post(
        f"{host.url}/runtime/webhooks/eventgrid",
        params={"functionName": "on_defender_alert_event", "code": host.system_key("eventgrid_extension")},
        json=events,
        headers=headers,
        timeout=120,
    )


def status(host: DevHostThread, instance_id: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{host.url}/runtime/webhooks/durabletask/instances/{instance_id}",
        params={"code": host.system_key("durabletask_extension")},
        timeout=30,
    )
    # The extension answers 202 while an instance runs and 200 once it has finished.
    return response.json() if response.status_code in (200, 202) else None


def alert(seed: str, deployment: str, fmt: str = "workflow_automation", **kw: Any) -> dict[str, Any]:
    return make_alert(
        kw.pop("alert_type", JAILBREAK),
        fmt,
        system_alert_id=alert_id_for(seed),
        resource_id=deployment_resource_id(deployment=deployment),
        **kw,
    )


def test_subscription_validation_handshake(warden: DevHostThread) -> None:
    response = requests.post(
        f"{warden.url}/runtime/webhooks/eventgrid",
        params={"functionName": "on_defender_alert_event", "code": warden.system_key("eventgrid_extension")},
        headers={"aeg-event-type": "SubscriptionValidation"},
        json=[
            {
                "id": "1",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "subject": "",
                "eventTime": "2026-11-25T00:00:00Z",
                "dataVersion": "2",
                "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            }
        ],
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_jailbreak_alert_opens_one_incident_and_redelivery_in_either_schema_adds_nothing(
    warden: DevHostThread,
) -> None:
    first = alert("e2e-jb-1", "dep-jb")
    instance = incident_instance_id("defender:" + alert_id_for("e2e-jb-1").lower())
    assert deliver(warden, [eventgrid_event(first)]).status_code == 202
    state = status(warden, instance)
    assert state is not None
    assert state["runtimeStatus"] in {"Running", "Pending"}
    assert state["name"] == "incident_orchestrator"
    assert deliver(warden, [eventgrid_event(first)]).status_code == 202
    assert deliver(warden, [cloud_event(first)], cloud=True).status_code == 202
    assert container().incident_findings.count(instance) == 1
    # The orchestration audits the opening in its first activity: wait for it (bounded).
    actions: list[str] = []
    for _ in range(300):
        actions = [r.action for r in container().audit.records(incident_id=instance)]
        if "incident.opened" in actions:
            break
        time.sleep(0.05)
    assert actions.count("incident.opened") == 1


def test_storm_of_1000_alerts_on_one_deployment_yields_one_incident_recording_all(warden: DevHostThread) -> None:
    alerts = [alert(f"e2e-storm-{i}", "dep-storm") for i in range(1000)]
    for start in range(0, 1000, 100):  # Event Grid batches of 100
        assert deliver(warden, [eventgrid_event(a) for a in alerts[start : start + 100]]).status_code == 202
    instance = incident_instance_id("defender:" + alert_id_for("e2e-storm-0").lower())
    assert container().incident_findings.count(instance) == 1000
    for i in (1, 500, 999):
        other = incident_instance_id("defender:" + alert_id_for(f"e2e-storm-{i}").lower())
        assert status(warden, other) is None  # no second incident was started


def test_malformed_alert_is_quarantined_and_acknowledged(warden: DevHostThread) -> None:
    bad = {"AlertType": JAILBREAK, "Severity": "Medium", "Description": "<script>alert(1)</script>"}
    before = len(container().quarantine.list(source="eventgrid"))
    assert deliver(warden, [eventgrid_event(bad)]).status_code == 202
    records = container().quarantine.list(source="eventgrid")
    assert len(records) == before + 1
    assert records[0].reason_code == "missing_field"
    assert b"<script>alert(1)</script>" in records[0].raw  # kept verbatim, as data


def test_non_ai_alert_is_skipped_without_an_incident(warden: DevHostThread) -> None:
    eicar = alert("e2e-eicar", "dep-x", alert_type="VM_EICAR")
    assert deliver(warden, [eventgrid_event(eicar)]).status_code == 202
    assert status(warden, incident_instance_id("defender:" + alert_id_for("e2e-eicar").lower())) is None


def _catalogue_cases() -> list[Any]:
    from shared.alerts import default_catalogue

    cases = []
    for index, entry in enumerate(default_catalogue().entries):
        alert_type = entry.alert_type or "AI.Azure_ExposedKubernetesService"
        display = entry.display_name if entry.alert_type is None else None
        cases.append(pytest.param(index, alert_type, display, id=alert_type))
    return cases


@pytest.mark.parametrize(("index", "alert_type", "display_name"), _catalogue_cases())
def test_every_catalogue_alert_in_every_format_and_both_schemas_is_one_incident(
    warden: DevHostThread, index: int, alert_type: str, display_name: str | None
) -> None:
    """Each documented alert type, sent as all three formats in both Event Grid schemas (six
    deliveries of one alert), opens exactly one incident holding exactly one finding."""
    seed = f"catalogue-{index}"
    variants = [
        make_alert(
            alert_type,
            fmt,
            system_alert_id=alert_id_for(seed),
            resource_id=deployment_resource_id(deployment=f"dep-cat-{index}"),
            display_name=display_name,
        )
        for fmt in ("rest_resource", "workflow_automation", "security_alert_row")
    ]
    assert deliver(warden, [eventgrid_event(v) for v in variants]).status_code == 202
    assert deliver(warden, [cloud_event(v) for v in variants], cloud=True).status_code == 202
    instance = incident_instance_id("defender:" + alert_id_for(seed).lower())
    state = status(warden, instance)
    assert state is not None, f"no incident for {alert_type}"
    assert container().incident_findings.count(instance) == 1
    (finding,) = container().incident_findings.list(instance)
    assert finding.kind.lower().startswith("defender:")
    assert finding.resource is not None
