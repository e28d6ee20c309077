"""Key Vault event samples for tests.

The two ``SecretNewVersionCreated`` events are copied verbatim from Azure/azure-rest-api-specs,
``specification/eventgrid/data-plane/Microsoft.KeyVault/stable/2018-01-01/examples/``
``event-grid-schema/secret_new_version_created.json`` (commit 2f9736e6) and
``cloud-events-schema/secret_new_version_created.json`` (commit 3b06a589). No official
``SecretNearExpiry`` sample exists; its data schema is the same (event-schema-key-vault.md), so
``near_expiry`` builds one from the sample with the type changed.
"""

from __future__ import annotations

import copy
from typing import Any

EVENTGRID_SECRET_NEW_VERSION: dict[str, Any] = {
    "id": "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
    "topic": "/subscriptions/{subscription-id}/resourceGroups/sample-rg/providers/Microsoft.KeyVault/vaults/sample-kv",
    "subject": "newsecret",
    "eventType": "Microsoft.KeyVault.SecretNewVersionCreated",
    "eventTime": "2019-07-25T01:08:33.1036736Z",
    "data": {
        "Id": "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
        "VaultName": "sample-kv",
        "ObjectType": "Secret",
        "ObjectName": "newsecret",
        "Version": "ee059b2bb5bc48398a53b168c6cdcb10",
        "NBF": "1559081980",
        "EXP": "1559082102",
    },
    "dataVersion": "1",
    "metadataVersion": "1",
}

CLOUDEVENT_SECRET_NEW_VERSION: dict[str, Any] = {
    "source": "/subscriptions/{subscription-id}/resourceGroups/sample-rg/providers/Microsoft.KeyVault/vaults/sample-kv",
    "subject": "newsecret",
    "type": "Microsoft.KeyVault.SecretNewVersionCreated",
    "time": "2019-07-25T01:08:33.1036736Z",
    "id": "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
    "data": {
        "Id": "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
        "VaultName": "sample-kv",
        "ObjectType": "Secret",
        "ObjectName": "newsecret",
        "Version": "ee059b2bb5bc48398a53b168c6cdcb10",
        "NBF": "1559081980",
        "EXP": "1559082102",
    },
    "specversion": "1.0",
}


def near_expiry(
    *,
    vault: str,
    secret: str,
    version: str,
    cloud: bool = False,
    event_type: str = "Microsoft.KeyVault.SecretNearExpiry",
    event_id: str = "4f1c6a52-1d3e-4b5a-9a77-0c0ffee00001",
) -> dict[str, Any]:
    """A Key Vault secret event for ``vault``/``secret``/``version`` in either schema."""
    event = copy.deepcopy(CLOUDEVENT_SECRET_NEW_VERSION if cloud else EVENTGRID_SECRET_NEW_VERSION)
    event["id"] = event_id
    event["subject"] = secret
    event["type" if cloud else "eventType"] = event_type
    source = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-sec"
        f"/providers/Microsoft.KeyVault/vaults/{vault}"
    )
    event["source" if cloud else "topic"] = source
    event["data"] = {
        "Id": f"https://{vault}.vault.azure.net/secrets/{secret}/{version}",
        "VaultName": vault,
        "ObjectType": "Secret",
        "ObjectName": secret,
        "Version": version,
        "NBF": None,
        "EXP": 1893456000,
    }
    return event
