"""Generate Defender alerts in each documented format, for tests at every tier.

``make_alert(alert_type, fmt, system_alert_id=..., resource_id=...)`` returns the dict a trigger
would receive: the alerts-API resource (what continuous export sends to Event Hubs), the
workflow-automation object (what a Logic App forwards) or a ``SecurityAlert`` row (what the
poller reads from Log Analytics). The shapes follow the public samples in ``tests/samples/``
(alerts API example, workflow-automation JSON schema) and the ``SecurityAlert`` column list;
AI-specific extended properties are invented (NOT CONFIRMED: no public AI alert payload).

The same arguments give the same alert in all three formats, so tests can check that the three
paths normalize to one finding. ``to_bytes`` serialises a payload (or a list of them).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.alerts import AlertFormat, default_catalogue

__all__ = [
    "FORMATS",
    "START",
    "SUBSCRIPTION",
    "account_resource_id",
    "alert_id_for",
    "deployment_resource_id",
    "make_alert",
    "make_rest_alert",
    "make_security_alert_row",
    "make_workflow_alert",
    "to_bytes",
]

FORMATS: tuple[AlertFormat, ...] = tuple(AlertFormat)
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RESOURCE_GROUP = "rg-ai"
START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
_UNSET: Any = object()


def account_resource_id(
    name: str = "contoso-openai", *, subscription: str = SUBSCRIPTION, resource_group: str = RESOURCE_GROUP
) -> str:
    """The ARM id of a Cognitive Services account."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{name}"
    )


def deployment_resource_id(account: str = "contoso-openai", deployment: str = "gpt-4o", **kw: str) -> str:
    """The ARM id of a model deployment."""
    return f"{account_resource_id(account, **kw)}/deployments/{deployment}"


def alert_id_for(seed: str) -> str:
    """A Defender-shaped system alert id (``<ticks>_<GUID>``), deterministic in ``seed``."""
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "warden-alert:" + seed)).upper()
    return f"2518298467986649999_{guid}"


def _ts(value: datetime) -> str:
    """.NET-style UTC timestamp with 7 fractional digits, as Defender writes them."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _defaults(alert_type: str, severity: str | None, display_name: str | None) -> tuple[str, str, list[str]]:
    entry = default_catalogue().lookup(alert_type)
    sev = severity or (entry.severity.value if entry else "Medium")
    name = display_name or (entry.display_name if entry else f"Generated alert {alert_type}")
    tactics = list(entry.tactics) if entry else ["Execution"]
    return sev, name, tactics


def _common(
    alert_type: str,
    *,
    system_alert_id: str | None,
    resource_id: str | None,
    severity: str | None,
    display_name: str | None,
    description: str,
    start_time: datetime,
    end_time: datetime | None,
    status: str,
    compromised_entity: Any,
    extended_properties: dict[str, Any] | None,
    entities: list[Any] | None,
    intent: str | None,
    remediation_steps: list[str] | None,
) -> dict[str, Any]:
    sev, name, tactics = _defaults(alert_type, severity, display_name)
    if compromised_entity is _UNSET:
        compromised_entity = resource_id.rstrip("/").split("/")[-1] if resource_id else "contoso-openai"
    if entities is None:
        entities = [{"$id": "1", "address": "192.0.2.10", "type": "ip"}]
    return {
        "alert_type": alert_type,
        "system_alert_id": system_alert_id or alert_id_for(alert_type),
        "resource_id": resource_id,
        "severity": sev,
        "display_name": name,
        "description": description,
        "start": start_time,
        "end": end_time if end_time is not None else start_time + timedelta(minutes=5),
        "generated": start_time + timedelta(minutes=7),
        "status": status,
        "compromised_entity": compromised_entity,
        "extended_properties": dict(extended_properties) if extended_properties is not None else {},
        "entities": entities,
        "intent": intent if intent is not None else ", ".join(tactics),
        "remediation_steps": remediation_steps or ["Review the prompts and the caller of the AI resource."],
    }


def make_rest_alert(c: dict[str, Any]) -> dict[str, Any]:
    """The alerts-API resource ``Microsoft.Security/locations/alerts`` (camelCase properties)."""
    identifiers: list[dict[str, Any]] = []
    if c["resource_id"] is not None:
        identifiers.append({"azureResourceId": c["resource_id"], "type": "AzureResource"})
    identifiers.append(
        {
            "workspaceId": "f419f624-acad-4d89-b86d-f62fa387f019",
            "workspaceSubscriptionId": SUBSCRIPTION,
            "workspaceResourceGroup": RESOURCE_GROUP,
            "agentId": "75724a01-f021-4aa8-9ec2-329792373e6e",
            "type": "LogAnalytics",
        }
    )
    sid = c["system_alert_id"]
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Security/locations/westeurope/alerts/{sid}",
        "name": sid,
        "type": "Microsoft.Security/Locations/alerts",
        "properties": {
            "version": "2022-01-01.2",
            "alertType": c["alert_type"],
            "systemAlertId": sid,
            "productComponentName": "AI",
            "alertDisplayName": c["display_name"],
            "description": c["description"],
            "severity": c["severity"],
            "intent": c["intent"],
            "startTimeUtc": _ts(c["start"]),
            "endTimeUtc": _ts(c["end"]),
            "resourceIdentifiers": identifiers,
            "remediationSteps": c["remediation_steps"],
            "vendorName": "Microsoft",
            "status": c["status"],
            "extendedLinks": [],
            "alertUri": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{sid}",
            "timeGeneratedUtc": _ts(c["generated"]),
            "productName": "Microsoft Defender for Cloud",
            "processingEndTimeUtc": _ts(c["generated"]),
            "entities": c["entities"],
            "isIncident": False,
            "correlationKey": "generated",
            "extendedProperties": c["extended_properties"],
            "compromisedEntity": c["compromised_entity"],
            "techniques": [],
            "subTechniques": [],
        },
    }


def make_workflow_alert(c: dict[str, Any]) -> dict[str, Any]:
    """The PascalCase workflow-automation object (uses ``Severity``, not ``ReportedSeverity``)."""
    identifiers = (
        [{"AzureResourceId": c["resource_id"], "Type": "AzureResource"}] if c["resource_id"] is not None else []
    )
    sid = c["system_alert_id"]
    return {
        "VendorName": "Microsoft",
        "AlertType": c["alert_type"],
        "StartTimeUtc": _ts(c["start"]),
        "EndTimeUtc": _ts(c["end"]),
        "ProcessingEndTime": _ts(c["generated"]),
        "TimeGenerated": _ts(c["generated"]),
        "IsIncident": False,
        "Severity": c["severity"],
        "Status": "New" if c["status"] == "Active" else c["status"],
        "ProductName": "Microsoft Defender for Cloud",
        "SystemAlertId": sid,
        "AzureResourceId": c["resource_id"] or "",
        "AzureResourceSubscriptionId": SUBSCRIPTION,
        "WorkspaceId": "f419f624-acad-4d89-b86d-f62fa387f019",
        "WorkspaceSubscriptionId": SUBSCRIPTION,
        "WorkspaceResourceGroup": RESOURCE_GROUP,
        "AgentId": "75724a01-f021-4aa8-9ec2-329792373e6e",
        "CompromisedEntity": c["compromised_entity"],
        "Intent": c["intent"],
        "AlertDisplayName": c["display_name"],
        "Description": c["description"],
        "RemediationSteps": c["remediation_steps"],
        "ExtendedProperties": c["extended_properties"],
        "Entities": c["entities"],
        "ResourceIdentifiers": identifiers,
        "AlertUri": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{sid}",
    }


def make_security_alert_row(c: dict[str, Any]) -> dict[str, Any]:
    """A ``SecurityAlert`` row: JSON-in-string columns, comma-separated ``Tactics``."""
    sid = c["system_alert_id"]
    return {
        "TenantId": "11111111-1111-1111-1111-111111111111",
        "TimeGenerated": _ts(c["generated"]),
        "DisplayName": c["display_name"],
        "AlertName": c["display_name"],
        "AlertSeverity": c["severity"],
        "Description": c["description"],
        "ProviderName": "Azure Security Center",
        "VendorName": "Microsoft",
        "VendorOriginalId": sid,
        "SystemAlertId": sid,
        "ResourceId": c["resource_id"] or "",
        "SourceComputerId": "",
        "AlertType": c["alert_type"],
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": _ts(c["start"]),
        "EndTime": _ts(c["end"]),
        "ProcessingEndTime": _ts(c["generated"]),
        "RemediationSteps": json.dumps(c["remediation_steps"]),
        "ExtendedProperties": json.dumps(c["extended_properties"]),
        "Entities": json.dumps(c["entities"]),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": SUBSCRIPTION,
        "WorkspaceResourceGroup": RESOURCE_GROUP,
        "ExtendedLinks": "[]",
        "ProductName": "Azure Security Center",
        "ProductComponentName": "AI",
        "AlertLink": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{sid}",
        "Status": "New" if c["status"] == "Active" else c["status"],
        "CompromisedEntity": c["compromised_entity"],
        "Tactics": c["intent"],
        "Techniques": "",
        "SubTechniques": "",
        "Type": "SecurityAlert",
    }


_BUILDERS = {
    AlertFormat.REST_RESOURCE: make_rest_alert,
    AlertFormat.WORKFLOW_AUTOMATION: make_workflow_alert,
    AlertFormat.SECURITY_ALERT_ROW: make_security_alert_row,
}


def make_alert(
    alert_type: str,
    fmt: AlertFormat | str,
    *,
    system_alert_id: str | None = None,
    resource_id: str | None = None,
    severity: str | None = None,
    display_name: str | None = None,
    description: str = "Generated Defender for AI alert for tests.",
    start_time: datetime = START,
    end_time: datetime | None = None,
    status: str = "Active",
    compromised_entity: Any = _UNSET,
    extended_properties: dict[str, Any] | None = None,
    entities: list[Any] | None = None,
    intent: str | None = None,
    remediation_steps: list[str] | None = None,
) -> dict[str, Any]:
    """One alert of ``alert_type`` in format ``fmt`` (an ``AlertFormat`` or its value).

    Defaults: severity, display name and tactics from the catalogue (``Medium`` and a made-up
    name for unknown types); a deterministic system alert id from ``alert_type``; end time five
    minutes after ``start_time``; one IP entity (192.0.2.10); the compromised entity is the last
    segment of ``resource_id``. ``resource_id=None`` leaves the alert without an Azure resource.
    """
    common = _common(
        alert_type,
        system_alert_id=system_alert_id,
        resource_id=resource_id,
        severity=severity,
        display_name=display_name,
        description=description,
        start_time=start_time,
        end_time=end_time,
        status=status,
        compromised_entity=compromised_entity,
        extended_properties=extended_properties,
        entities=entities,
        intent=intent,
        remediation_steps=remediation_steps,
    )
    return _BUILDERS[AlertFormat(fmt)](common)


def to_bytes(payload: dict[str, Any] | list[Any]) -> bytes:
    """UTF-8 JSON bytes, as a trigger receives them."""
    return json.dumps(payload).encode("utf-8")
