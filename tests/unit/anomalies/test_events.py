"""ARM resource events: deployment writes, key operations by anyone but Warden, bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.anomalies.events import classify_resource_event
from shared.resource_ids import DeploymentId
from tests.unit.anomalies.conftest import ACCOUNT, WARDEN

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "eventgrid_subscription_ResourceActionSuccess_listKeys.json"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def sample() -> dict[str, Any]:
    events = json.loads(SAMPLE.read_text())
    return dict(events[0])


def cognitive_list_keys(caller: str, operation: str = "listKeys") -> dict[str, Any]:
    """The documented sample, moved to a Cognitive Services account (the shape is inferred)."""
    event = copy.deepcopy(sample())
    action = f"Microsoft.CognitiveServices/accounts/{operation}/action"
    event["subject"] = str(ACCOUNT)
    data = event["data"]
    data["authorization"]["scope"] = str(ACCOUNT)
    data["authorization"]["action"] = action
    data["authorization"]["evidence"]["principalId"] = caller
    data["claims"][OID] = caller
    data["resourceProvider"] = "Microsoft.CognitiveServices"
    data["resourceUri"] = str(ACCOUNT)
    data["operationName"] = action
    data["correlationId"] = "7c2b6f0e-0000-4000-8000-000000000042"
    return event


def classify(raw: Any, **kw: Any) -> Any:
    return classify_resource_event(raw, warden_principal_id=kw.pop("warden", WARDEN), **kw)


def test_the_documented_event_hubs_sample_is_ignored_not_quarantined() -> None:
    decision = classify(sample())
    assert decision.action == "ignore" and decision.reason_code == "other_operation"


def test_list_keys_by_someone_else_is_a_finding() -> None:
    decision = classify(cognitive_list_keys("6d7e8f90-0000-4000-8000-0000000000aa"))
    assert decision.action == "finding" and decision.finding is not None
    finding = decision.finding
    assert finding.kind == "anomaly:key_operation_by_other" and finding.resource == ACCOUNT
    assert finding.evidence["caller"] == "6d7e8f90-0000-4000-8000-0000000000aa"
    assert finding.evidence["seen_by"] == "event_grid"
    # the same dedupe key as the AzureActivity detector (operation and correlation id)
    assert finding.dedupe_key.endswith("|listkeys|7c2b6f0e-0000-4000-8000-000000000042")


def test_regenerate_key_by_warden_itself_is_ignored() -> None:
    decision = classify(cognitive_list_keys(WARDEN.upper(), "regenerateKey"))
    assert decision.action == "ignore" and decision.reason_code == "warden_itself"


def test_without_wardens_identity_key_operations_are_ignored() -> None:
    decision = classify(cognitive_list_keys("someone"), warden=None)
    assert decision.action == "ignore" and decision.reason_code == "warden_identity_unknown"


def test_a_deployment_write_asks_for_the_deployment_to_be_read() -> None:
    event = cognitive_list_keys("someone")
    uri = f"{ACCOUNT}/deployments/experiment"
    event["eventType"] = "Microsoft.Resources.ResourceWriteSuccess"
    event["data"].update(operationName="Microsoft.CognitiveServices/accounts/deployments/write", resourceUri=uri)
    decision = classify(event)
    assert decision.action == "check_deployment"
    assert decision.deployment == DeploymentId.parse(uri)


def test_an_account_write_is_ignored() -> None:
    event = cognitive_list_keys("someone")
    event["eventType"] = "Microsoft.Resources.ResourceWriteSuccess"
    event["data"]["operationName"] = "Microsoft.CognitiveServices/accounts/write"
    assert classify(event).action == "ignore"


def test_a_cloud_event_is_read_too() -> None:
    event = cognitive_list_keys("someone")
    cloud = {
        "specversion": "1.0",
        "id": "1",
        "type": event["eventType"],
        "source": event["topic"],
        "time": event["eventTime"],
        "subject": event["subject"],
        "data": event["data"],
    }
    assert classify(cloud).action == "finding"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda e: e.pop("data"), "invalid_event"),
        (lambda e: e.update(data="text"), "invalid_event"),
        (lambda e: e.pop("eventType"), "invalid_event"),
        (lambda e: e.update(eventTime="yesterday"), "invalid_event"),
        (lambda e: e["data"].update(resourceUri="/subscriptions/nope/x"), "invalid_resource"),
        (lambda e: e["data"].update(resourceUri=""), "invalid_resource"),
    ],
    ids=["no-data", "data-not-object", "no-type", "bad-time", "bad-resource", "empty-resource"],
)
def test_malformed_events_are_quarantined(mutate: Any, code: str) -> None:
    event = cognitive_list_keys("someone")
    event.pop("subject")
    mutate(event)
    decision = classify(event)
    assert decision.action == "quarantine" and decision.reason_code == code


@pytest.mark.parametrize("raw", [None, [], "text", 42, {"id": object()}])
def test_non_objects_are_quarantined_and_never_raise(raw: Any) -> None:
    assert classify(raw).action == "quarantine"


def test_an_oversized_event_is_quarantined() -> None:
    event = cognitive_list_keys("someone")
    event["data"]["padding"] = "x" * 5000
    assert classify(event, max_bytes=2048).reason_code == "oversized_event"
