"""The composition root's TableServiceClient works against real Azurite.

Conditional inserts (a second create of the same keys fails) are what Warden's idempotency
records, audit chain and quarantine rely on.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import UpdateMode

from devhost.azurite import Azurite
from shared.azure.clients import AzureClients
from shared.settings import load_settings
from tests.conftest import SUBSCRIPTION


@pytest.fixture
def clients(azurite: Azurite) -> AzureClients:
    settings = load_settings(subscription_ids=[SUBSCRIPTION], tables_connection_string=azurite.table_connection_string)
    return AzureClients(settings)


def test_table_round_trip_and_conditional_insert(clients: AzureClients) -> None:
    name = "t" + uuid.uuid4().hex[:12]
    table = clients.tables().create_table_if_not_exists(name)
    table.create_entity({"PartitionKey": "p", "RowKey": "r1", "State": "INPROGRESS"})
    with pytest.raises(ResourceExistsError):
        table.create_entity({"PartitionKey": "p", "RowKey": "r1", "State": "INPROGRESS"})
    entity = table.get_entity("p", "r1")
    table.update_entity({"PartitionKey": "p", "RowKey": "r1", "State": "COMPLETED"}, mode=UpdateMode.MERGE)
    assert entity["State"] == "INPROGRESS"
    assert table.get_entity("p", "r1")["State"] == "COMPLETED"
    assert [e["RowKey"] for e in table.query_entities("PartitionKey eq 'p'")] == ["r1"]


def test_missing_storage_configuration_is_reported() -> None:
    clients = AzureClients(load_settings(subscription_ids=[SUBSCRIPTION]))
    with pytest.raises(ValueError, match="WARDEN_TABLES_ENDPOINT"):
        clients.tables()
