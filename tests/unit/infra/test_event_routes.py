"""Event Grid and Defender routes: every subscription dead-letters and retries; filters are exact."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.infra.bicep import Resource, rel, resources

SUBSCRIPTION_TYPES = (
    "Microsoft.EventGrid/topics/eventSubscriptions",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    "Microsoft.EventGrid/eventSubscriptions",
    "Microsoft.EventGrid/domains/eventSubscriptions",
    "Microsoft.EventGrid/domains/topics/eventSubscriptions",
)


def _subscriptions() -> list[Resource]:
    return [r for t in SUBSCRIPTION_TYPES for r in resources(t)]


def _by_function() -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for sub in _subscriptions():
        target = sub.properties["destination"]["properties"]["resourceId"]
        found[target.rsplit("/", 1)[-1]] = sub
    return found


def test_each_warden_function_has_one_subscription() -> None:
    assert set(_by_function()) == {"on_defender_alert_event", "on_key_vault_event", "on_resource_event"}
    assert len(_subscriptions()) == 3


@pytest.mark.parametrize("sub", _subscriptions(), ids=lambda s: f"{rel(s.file)}:{s.symbol}")
def test_subscription_has_a_dead_letter_destination(sub: Resource) -> None:
    dead_letter: Any = sub.resolve(sub.properties.get("deadLetterWithResourceIdentity"))
    assert isinstance(dead_letter, dict), f"{sub.symbol} has no dead-letter destination"
    assert dead_letter["identity"] == {"type": "SystemAssigned"}, "dead-letter with the topic identity (no keys)"
    destination = dead_letter["deadLetterDestination"]
    assert destination["endpointType"] == "StorageBlob"
    assert destination["properties"]["blobContainerName"] == "deadLetterContainerName"


@pytest.mark.parametrize("sub", _subscriptions(), ids=lambda s: f"{rel(s.file)}:{s.symbol}")
def test_subscription_has_a_bounded_retry_policy(sub: Resource) -> None:
    policy: Any = sub.resolve(sub.properties.get("retryPolicy"))
    assert isinstance(policy, dict), f"{sub.symbol} has no retry policy"
    assert set(policy) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}


@pytest.mark.parametrize("sub", _subscriptions(), ids=lambda s: f"{rel(s.file)}:{s.symbol}")
def test_subscription_delivers_one_event_at_a_time_to_a_function(sub: Resource) -> None:
    destination = sub.properties["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["maxEventsPerBatch"] == 1


@pytest.mark.parametrize("sub", _subscriptions(), ids=lambda s: f"{rel(s.file)}:{s.symbol}")
def test_function_subscriptions_wait_for_the_code_deploy(sub: Resource) -> None:
    assert sub.conditional, f"{sub.symbol} must be gated by wireSubscriptions (endpoint validated on create)"


def test_key_vault_subscription_takes_only_expiry_events() -> None:
    event_filter = _by_function()["on_key_vault_event"].properties["filter"]
    assert event_filter["includedEventTypes"] == [
        "Microsoft.KeyVault.SecretNearExpiry",
        "Microsoft.KeyVault.SecretExpired",
    ]


def test_resource_events_are_filtered_to_cognitive_services() -> None:
    event_filter = _by_function()["on_resource_event"].properties["filter"]
    assert event_filter["includedEventTypes"] == [
        "Microsoft.Resources.ResourceWriteSuccess",
        "Microsoft.Resources.ResourceActionSuccess",
    ]
    assert event_filter["advancedFilters"] == [
        {"operatorType": "StringIn", "key": "data.resourceProvider", "values": ["Microsoft.CognitiveServices"]}
    ]


def test_system_topics_watch_the_vault_and_the_subscription() -> None:
    topics = {t.properties["topicType"]: t for t in resources("Microsoft.EventGrid/systemTopics")}
    assert set(topics) == {"Microsoft.KeyVault.vaults", "Microsoft.Resources.Subscriptions"}
    assert all(t.body["identity"] == {"type": "SystemAssigned"} for t in topics.values())


def test_defender_automation_forwards_only_ai_alerts_to_the_logic_app() -> None:
    automations = {a.symbol: a for a in resources("Microsoft.Security/automations")}
    workflow = automations["workflowAutomation"]
    (source,) = workflow.properties["sources"]
    assert source["eventSource"] == "Alerts"
    rule_sets = workflow.resolve(source["ruleSets"])
    rule = rule_sets["config"]["rules"][0]
    assert rule == {
        "propertyJPath": "AlertType",
        "propertyType": "String",
        "expectedValue": "prefix",
        "operator": "StartsWith",
    }
    (action,) = workflow.properties["actions"]
    assert action["actionType"] == "LogicApp"


def test_continuous_export_uses_the_same_alert_filter() -> None:
    export = {a.symbol: a for a in resources("Microsoft.Security/automations")}["continuousExport"]
    (source,) = export.properties["sources"]
    assert source["ruleSets"] == "alertRuleSets"
