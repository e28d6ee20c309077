"""Typed Key Vault events: both Event Grid schemas, PascalCase and camelCase, NBF/EXP forms."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.keys.events import (
    EventSchema,
    KeyVaultEventError,
    KeyVaultEventType,
    KeyVaultObjectData,
    parse_envelope,
)
from tests.unit.keys.samples import CLOUDEVENT_SECRET_NEW_VERSION, EVENTGRID_SECRET_NEW_VERSION, near_expiry


@pytest.mark.parametrize(
    ("sample", "schema"),
    [(EVENTGRID_SECRET_NEW_VERSION, EventSchema.EVENT_GRID), (CLOUDEVENT_SECRET_NEW_VERSION, EventSchema.CLOUD_EVENTS)],
)
def test_the_official_samples_parse_in_both_schemas(sample: dict[str, Any], schema: EventSchema) -> None:
    envelope = parse_envelope(sample)
    assert envelope.schema is schema
    assert envelope.key_vault_type is KeyVaultEventType.SECRET_NEW_VERSION_CREATED
    assert envelope.subject == "newsecret"
    assert envelope.time == datetime(2019, 7, 25, 1, 8, 33, 103673, tzinfo=UTC)
    assert not envelope.triggers_rotation
    data = KeyVaultObjectData.parse(envelope.data, subject=envelope.subject)
    assert data.vault_url == "https://sample-kv.vault.azure.net"
    assert data.version == "ee059b2bb5bc48398a53b168c6cdcb10"
    assert data.not_before == datetime.fromtimestamp(1559081980, tz=UTC)
    assert data.expires == datetime.fromtimestamp(1559082102, tz=UTC)


@pytest.mark.parametrize("cloud", [False, True])
@pytest.mark.parametrize("event_type", ["Microsoft.KeyVault.SecretNearExpiry", "Microsoft.KeyVault.SecretExpired"])
def test_near_expiry_and_expired_trigger_rotation(cloud: bool, event_type: str) -> None:
    envelope = parse_envelope(
        near_expiry(vault="kv-a", secret="s1", version="abc123", cloud=cloud, event_type=event_type)
    )
    assert envelope.triggers_rotation


def test_camel_case_data_and_numeric_times_are_accepted() -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123")
    event["data"] = {
        "id": "https://kv-a.vault.azure.net/secrets/s1/abc123",
        "vaultName": "kv-a",
        "objectType": "Secret",
        "objectName": "s1",
        "version": "abc123",
        "nbf": 1559081980,
        "exp": 1559082102.0,
    }
    data = KeyVaultObjectData.parse(parse_envelope(event).data, subject="s1")
    assert data.object_name == "s1" and data.expires == datetime.fromtimestamp(1559082102, tz=UTC)
    assert data.not_before is not None


def test_data_sent_as_a_json_string_is_decoded() -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123", cloud=True)
    event["data"] = json.dumps(event["data"])
    assert KeyVaultObjectData.parse(parse_envelope(event).data).version == "abc123"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("id"), "id"),
        (lambda e: e.pop("eventType"), "eventType"),
        (lambda e: e.__setitem__("eventTime", "yesterday"), "eventTime"),
        (lambda e: e.__setitem__("data", [1, 2]), "data"),
        (lambda e: e.__setitem__("data", "{not json"), "data"),
    ],
)
def test_malformed_envelopes_name_the_field(mutate: Any, field: str) -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123")
    mutate(event)
    with pytest.raises(KeyVaultEventError) as caught:
        parse_envelope(event)
    assert caught.value.field == field


def test_a_non_object_event_is_malformed() -> None:
    with pytest.raises(KeyVaultEventError):
        parse_envelope(["not", "an", "event"])  # type: ignore[arg-type]


def test_a_cloud_event_of_another_spec_version_is_malformed() -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123", cloud=True)
    event["specversion"] = "0.3"
    with pytest.raises(KeyVaultEventError, match="specversion"):
        parse_envelope(event)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"Id": None}, "data.Id"),
        ({"Id": "http://kv-a.vault.azure.net/secrets/s1/abc123"}, "data.Id"),
        ({"Id": "https://kv-a.vault.azure.net/keys/s1/abc123"}, "data.Id"),
        ({"Id": "https://kv-other.vault.azure.net/secrets/s1/abc123"}, "data.Id"),
        ({"Id": "https://kv-a.vault.azure.net/secrets/s2/abc123"}, "data.Id"),
        ({"Version": "abc-123"}, "data.Version"),
        ({"ObjectType": "Key"}, "data.ObjectType"),
        ({"ObjectName": "bad name"}, "data.ObjectName"),
        ({"VaultName": "a"}, "data.VaultName"),
        ({"EXP": "soon"}, "data.EXP"),
        ({"NBF": True}, "data.NBF"),
        ({"EXP": -1}, "data.EXP"),
    ],
)
def test_malformed_secret_data_names_the_field(changes: dict[str, Any], field: str) -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123")
    data = copy.deepcopy(event["data"]) | changes
    with pytest.raises(KeyVaultEventError) as caught:
        KeyVaultObjectData.parse(data, subject="s1")
    assert caught.value.field == field
    assert "expected" in str(caught.value)


def test_a_subject_that_disagrees_with_the_data_is_malformed() -> None:
    event = near_expiry(vault="kv-a", secret="s1", version="abc123")
    with pytest.raises(KeyVaultEventError, match="subject"):
        KeyVaultObjectData.parse(event["data"], subject="another-secret")
