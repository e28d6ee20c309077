"""Event Grid events as Azure publishes them, for the demo and the tests that deliver them.

``resource_write_success``: the subscription system topic's ``ResourceWriteSuccess`` for a model
deployment PUT (the fields ``shared.anomalies.events`` reads, shaped like the documented
samples). Ids are random unless given, so a caller that redelivers passes fixed ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["DEPLOYMENT_WRITE", "resource_write_success"]

DEPLOYMENT_WRITE = "Microsoft.CognitiveServices/accounts/deployments/write"
_OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_TENANT = "72f988bf-0000-4000-8000-00000000c0de"


def resource_write_success(
    resource_uri: str,
    caller_oid: str,
    *,
    subscription: str | None = None,
    event_id: str | None = None,
    correlation_id: str | None = None,
    tenant_id: str = _TENANT,
) -> dict[str, Any]:
    """A ``ResourceWriteSuccess`` for a deployment PUT on ``resource_uri`` by ``caller_oid``.

    ``subscription`` defaults to the one in ``resource_uri``.
    """
    subscription = subscription or resource_uri.split("/")[2]
    return {
        "id": event_id or str(uuid.uuid4()),
        "topic": f"/subscriptions/{subscription}",
        "subject": resource_uri,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": datetime.now(UTC).isoformat(),
        "dataVersion": "2",
        "metadataVersion": "1",
        "data": {
            "authorization": {
                "scope": resource_uri,
                "action": DEPLOYMENT_WRITE,
                "evidence": {"role": "Contributor", "principalId": caller_oid},
            },
            "claims": {_OID_CLAIM: caller_oid},
            "correlationId": correlation_id or str(uuid.uuid4()),
            "httpRequest": {
                "clientIpAddress": "198.51.100.8",
                "method": "PUT",
                "url": "https://management.azure.com" + resource_uri,
            },
            "resourceProvider": "Microsoft.CognitiveServices",
            "resourceUri": resource_uri,
            "operationName": DEPLOYMENT_WRITE,
            "status": "Succeeded",
            "subscriptionId": subscription,
            "tenantId": tenant_id,
        },
    }
