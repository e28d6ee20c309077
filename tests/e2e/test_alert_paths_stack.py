"""The other two alert paths, on the full local stack (Azurite, emulator, devhost as processes):

- Defender continuous export through the Event Hub trigger (batches; one bad message never
  fails the batch; the same alert via Event Grid afterwards is a duplicate);
- the SecurityAlert poller reading the emulator's Log Analytics workspace through the real
  LogsQueryClient, restarted between polls (the watermark lives in Table Storage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from cli.stack import LocalStack
from shared.finding import incident_instance_id
from shared.storage.tables import TableIncidentFindingsStore, TableQuarantineStore
from tests.alertgen import account_resource_id, alert_id_for, deployment_resource_id, make_alert

DEMO_SUB = "1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11"
JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    env = {"WARDEN_EVENTHUB_NAME": "defender-export", "WARDEN_EVENTHUB_CONSUMER_GROUP": "warden"}
    with LocalStack(tmp_path_factory.mktemp("stack"), env=env) as running:
        yield running


def tables(stack: LocalStack) -> TableServiceClient:
    assert stack.azurite is not None
    return TableServiceClient.from_connection_string(stack.azurite.table_connection_string)


def instance(stack: LocalStack, instance_id: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{stack.url}/runtime/webhooks/durabletask/instances/{instance_id}",
        params={"code": stack.devhost["systemKeys"]["durabletask_extension"]},
        timeout=30,
    )
    return response.json() if response.status_code in (200, 202) else None


def feed_eventhub(stack: LocalStack, messages: list[Any]) -> dict[str, Any]:
    response = requests.post(
        f"{stack.url}/admin/devhost/eventhub/on_defender_alert_hub",
        headers={"x-functions-key": stack.devhost["masterKey"]},
        json=messages,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_continuous_export_batch_with_a_bad_message_routes_the_rest(stack: LocalStack) -> None:
    good = [
        make_alert(
            JAILBREAK,
            "rest_resource",
            system_alert_id=alert_id_for(f"eh-{i}"),
            resource_id=deployment_resource_id(deployment=f"dep-eh-{i}", subscription=DEMO_SUB),
        )
        for i in range(3)
    ]
    array_message = [good[1], good[2]]  # continuous export may put several alerts in one message
    bad = "{this is not json"
    report = feed_eventhub(stack, [good[0], bad, array_message])
    assert json.dumps(report).count('"Failed"') == 0, report
    findings = TableIncidentFindingsStore(tables(stack))
    for i in range(3):
        iid = incident_instance_id("defender:" + alert_id_for(f"eh-{i}").lower())
        assert instance(stack, iid) is not None
        assert findings.count(iid) == 1
    quarantined = TableQuarantineStore(tables(stack)).list(source="eventhub")
    assert [q.raw for q in quarantined] == [bad.encode()]


def test_poller_survives_restarts_and_takes_each_row_once(stack: LocalStack) -> None:
    account = account_resource_id("contoso-openai-prod", subscription=DEMO_SUB, resource_group="rg-contoso-ai-prod")

    def row(seed: str, minutes_ago: int) -> dict[str, Any]:
        alert = make_alert(
            "AI.Azure_AccessFromSuspiciousIP",
            "security_alert_row",
            system_alert_id=alert_id_for(seed),
            resource_id=account,
        )
        alert["TimeGenerated"] = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
        return {k: v for k, v in alert.items() if k not in {"SubTechniques"}}

    def append(rows: list[dict[str, Any]]) -> None:
        response = requests.post(
            f"{stack.emulator_url}/_emulator/workspaces/law-contoso-security/tables/SecurityAlert",
            json={"rows": rows},
            timeout=30,
        )
        assert response.status_code == 201, response.text

    def poll() -> None:
        response = requests.post(
            f"{stack.url}/admin/functions/poll_security_alerts",
            params={"wait": "true"},
            headers={"x-functions-key": stack.devhost["masterKey"]},
            json={"input": ""},
            timeout=120,
        )
        assert response.status_code == 200, response.text

    append([row("poll-a", 5), row("poll-b", 4)])
    poll()
    first = incident_instance_id("defender:" + alert_id_for("poll-a").lower())
    assert instance(stack, first) is not None
    findings = TableIncidentFindingsStore(tables(stack))
    assert findings.count(first) == 2  # both alerts are on the same account: one incident
    stack.restart_devhost(kill=True)  # the poller's host dies; the watermark is in Table Storage
    append([row("poll-late", 12)])  # ingested late, stamped before the last poll
    poll()
    stack.restart_devhost()
    poll()
    assert findings.count(first) == 3
    counters = requests.get(f"{stack.emulator_url}/_emulator/counters", timeout=30).json()
    assert counters["calls"]["logs.query"] >= 3
