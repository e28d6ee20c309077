"""Event Grid topic publish through the real EventGridPublisherClient, via the loopback server.

The basic-topic client drops ``transport=``, so these always go over the loopback server with
the topic endpoint ``http://127.0.0.1:PORT/{topic host}/api/events``.
"""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent

from emulator.services.eventgrid import MAX_PUBLISH_BYTES
from shared.azure.clients import AzureClients, StaticTokenCredential
from tests.functional.emulator.conftest import TOPIC_HOST, Env


@pytest.fixture
def endpoint(loopback: Env) -> str:
    return f"{loopback.url}/{TOPIC_HOST}/api/events"


def _publisher(loopback: Env, endpoint: str, settings_factory, key: str | None):
    settings = settings_factory(emulator_url=loopback.url, notify_topic_endpoint=endpoint, notify_topic_key=key)
    return AzureClients(settings, credential=StaticTokenCredential()).event_grid_publisher()


def test_cloud_events_published_with_the_topic_key_are_stored(loopback: Env, endpoint: str, settings_factory) -> None:
    key = loopback.emulator.topic_key("warden-notifications")
    publisher = _publisher(loopback, endpoint, settings_factory, key)
    publisher.send([CloudEvent(source="/warden/incidents", type="Warden.Incident.Opened", data={"id": "inc-1"})])
    events = loopback.emulator.published_events("warden-notifications")
    assert len(events) == 1
    assert events[0]["schema"] == "CloudEventSchemaV1_0"
    assert events[0]["auth"] == "key"
    assert events[0]["event"]["type"] == "Warden.Incident.Opened"
    assert events[0]["event"]["data"] == {"id": "inc-1"}
    assert events[0]["event"]["specversion"] == "1.0"


def test_event_grid_schema_events_get_the_topic_stamped(loopback: Env, endpoint: str, settings_factory) -> None:
    key = loopback.emulator.topic_key("warden-notifications")
    publisher = _publisher(loopback, endpoint, settings_factory, key)
    publisher.send([EventGridEvent(subject="incidents/1", event_type="Warden.Test", data={"n": 1}, data_version="1.0")])
    (event,) = loopback.emulator.published_events()
    assert event["schema"] == "EventGridSchema"
    assert event["event"]["subject"] == "incidents/1"
    assert event["event"]["topic"].endswith("/providers/Microsoft.EventGrid/topics/warden-notifications")


def test_bearer_token_is_accepted(loopback: Env, endpoint: str, settings_factory) -> None:
    publisher = _publisher(loopback, endpoint, settings_factory, None)
    # A token credential over plain http needs enforce_https=False (loopback only).
    publisher.send([CloudEvent(source="/warden", type="Warden.Bearer", data={})], enforce_https=False)
    (event,) = loopback.emulator.published_events()
    assert event["auth"] == "bearer"


def test_wrong_key_is_rejected(loopback: Env, endpoint: str, settings_factory) -> None:
    publisher = _publisher(loopback, endpoint, settings_factory, "not-the-topic-key-0000")
    with pytest.raises(ClientAuthenticationError):
        publisher.send([CloudEvent(source="/warden", type="Warden.Test", data={})])
    assert loopback.emulator.published_events() == []


def test_request_without_credentials_is_rejected(endpoint: str) -> None:
    response = requests.post(f"{endpoint}?api-version=2018-01-01", json=[], timeout=10)
    assert response.status_code == 401


def test_malformed_event_is_rejected_naming_the_field(loopback: Env, endpoint: str) -> None:
    key = loopback.emulator.topic_key("warden-notifications")
    event = {"id": "1", "eventType": "T", "eventTime": "2026-11-25T00:00:00Z", "data": {}}
    response = requests.post(
        f"{endpoint}?api-version=2018-01-01", json=[event], headers={"aeg-sas-key": key}, timeout=10
    )
    assert response.status_code == 400
    assert "'subject'" in response.json()["error"]["message"]


def test_cloud_event_with_wrong_specversion_is_rejected(loopback: Env, endpoint: str) -> None:
    key = loopback.emulator.topic_key("warden-notifications")
    event = {"id": "1", "source": "/s", "type": "T", "specversion": "0.3"}
    response = requests.post(
        f"{endpoint}?api-version=2018-01-01",
        data=json.dumps([event]),
        headers={"aeg-sas-key": key, "Content-Type": "application/cloudevents-batch+json; charset=utf-8"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "specversion" in response.json()["error"]["message"]


def test_body_over_one_megabyte_is_rejected(loopback: Env, endpoint: str) -> None:
    key = loopback.emulator.topic_key("warden-notifications")
    big = {
        "id": "1",
        "subject": "s",
        "eventType": "T",
        "eventTime": "2026-11-25T00:00:00Z",
        "data": "x" * MAX_PUBLISH_BYTES,
    }
    response = requests.post(f"{endpoint}?api-version=2018-01-01", json=[big], headers={"aeg-sas-key": key}, timeout=10)
    assert response.status_code == 413
    assert loopback.emulator.published_events() == []
