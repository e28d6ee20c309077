"""Typed models of the three documented Defender for Cloud alert formats, and format detection.

A raw dict stops here: ``parse_alert_payload`` validates it into one of

- ``RestAlertResource``: the ARM resource ``Microsoft.Security/locations/alerts`` (alerts REST
  API 2022-01-01, camelCase under ``properties``). Continuous export to Event Hubs sends "the
  same schema as the alerts API"; whether an Event Hubs message holds one object or an array is
  NOT CONFIRMED, so the batch helper in ``normalize`` accepts both. A bare ``properties`` object
  (camelCase, no envelope) is accepted too, in case an exporter drops the envelope (NOT
  CONFIRMED either way).
- ``WorkflowAutomationAlert``: the PascalCase object a workflow automation passes to a Logic
  App (schema at aka.ms/ASCAutomationSchemas). Quirk: the schema's ``required`` list names
  ``ReportedSeverity`` while its property is ``Severity``; both are read, ``Severity`` first.
  ``ExtendedProperties``, ``Entities`` and ``RemediationSteps`` may also arrive JSON-encoded in a
  string (a Logic App can forward them that way); both forms are accepted.
- ``SecurityAlertRow``: a row of the Log Analytics ``SecurityAlert`` table; ``Entities``,
  ``ExtendedProperties``, ``ExtendedLinks`` and ``RemediationSteps`` are JSON held in strings,
  ``Tactics`` a comma-separated string.

Unknown fields are ignored (the formats grow); documented fields are type-checked. Times are
parsed as tz-aware UTC: up to 7 fractional digits (.NET ticks) are accepted and a naive time is
taken as UTC (every documented time field is UTC by name or by definition).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel, to_pascal

from shared.finding import Severity

__all__ = [
    "ALERT_RESOURCE_TYPE",
    "AlertFormat",
    "FormatError",
    "NotAnAlertError",
    "ParsedAlert",
    "ResourceIdentifier",
    "RestAlertProperties",
    "RestAlertResource",
    "SecurityAlertRow",
    "WorkflowAutomationAlert",
    "detect_format",
    "parse_alert_payload",
    "parse_utc",
    "peek_alert_type",
]

ALERT_RESOURCE_TYPE = "Microsoft.Security/Locations/alerts"
"""The ARM ``type`` of an alert resource (compared case-insensitively)."""


class AlertFormat(StrEnum):
    """Which documented shape an alert arrived in."""

    REST_RESOURCE = "rest_resource"
    WORKFLOW_AUTOMATION = "workflow_automation"
    SECURITY_ALERT_ROW = "security_alert_row"


class FormatError(ValueError):
    """The object matches none of the three alert formats; the message says what was seen."""


class NotAnAlertError(FormatError):
    """A well-formed ARM resource of another type (e.g. a recommendation on the same Event Hub)."""

    def __init__(self, resource_type: str) -> None:
        super().__init__(f"ARM resource of type {resource_type[:120]!r} is not {ALERT_RESOURCE_TYPE}")
        self.resource_type = resource_type


# ---------------------------------------------------------------------------------------------
# Field parsers (shared by the models)

_FRACTION = re.compile(r"(\.\d{6})\d+")
_TIME_EXPECTED = "expected an ISO 8601 date-time such as 2024-05-01T12:00:00Z"


def parse_utc(value: object) -> datetime:
    """A tz-aware UTC datetime from an ISO 8601 string or a ``datetime``.

    Accepts ``Z`` or an offset, up to 7 fractional digits (extra digits are dropped) and naive
    values (taken as UTC). Raises ``ValueError`` naming the expected form otherwise.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            raise ValueError(_TIME_EXPECTED)
        try:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", text))
        except ValueError:
            raise ValueError(_TIME_EXPECTED) from None
    else:
        raise ValueError(f"{_TIME_EXPECTED}, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _optional_time(value: object) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_utc(value)


def _optional_severity(value: object) -> Severity | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a severity string, got {type(value).__name__}")
    return Severity.parse(value)


def _loads(value: str, expected: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise ValueError(f"expected {expected}") from None


def _json_list(value: object) -> object:
    """JSON-in-string columns: ``"[...]"`` -> list; empty or null -> ``[]``."""
    if value is None:
        return []
    if isinstance(value, str):
        return [] if not value.strip() else _loads(value, "JSON text of an array")
    return value


def _json_object(value: object) -> object:
    if value is None:
        return {}
    if isinstance(value, str):
        return {} if not value.strip() else _loads(value, "JSON text of an object")
    return value


def _steps(value: object) -> object:
    """Remediation steps: a list, JSON text of a list, or one plain-text step."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return _loads(text, "JSON text of an array of strings")
        return [text]
    return value


def _names(value: object) -> object:
    """Tactics / techniques: a list, JSON text of a list, or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return _loads(text, "JSON text of an array of strings")
        return [p.strip() for p in text.split(",") if p.strip()]
    return value


UtcTime = Annotated[datetime | None, BeforeValidator(_optional_time)]
OptionalSeverity = Annotated[Severity | None, BeforeValidator(_optional_severity)]
JsonList = Annotated[list[Any], BeforeValidator(_json_list)]
JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object)]
Steps = Annotated[list[str], BeforeValidator(_steps)]
Names = Annotated[list[str], BeforeValidator(_names)]


class ResourceIdentifier(BaseModel):
    """One item of ``resourceIdentifiers``: ``AzureResource`` or ``LogAnalytics`` (discriminator ``type``).

    Both camelCase (REST) and PascalCase spellings are read: the workflow-automation schema
    does not document the item shape (NOT CONFIRMED).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str | None = Field(default=None, validation_alias=AliasChoices("type", "Type"))
    azure_resource_id: str | None = Field(
        default=None, validation_alias=AliasChoices("azureResourceId", "AzureResourceId")
    )
    workspace_id: str | None = Field(default=None, validation_alias=AliasChoices("workspaceId", "WorkspaceId"))
    agent_id: str | None = Field(default=None, validation_alias=AliasChoices("agentId", "AgentId"))


# ---------------------------------------------------------------------------------------------
# (a) The alerts REST API resource


class RestAlertProperties(BaseModel):
    """``properties`` of ``Microsoft.Security/locations/alerts`` (api-version 2022-01-01)."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel)

    alert_type: str
    system_alert_id: str | None = None
    version: str | None = None
    product_component_name: str | None = None
    alert_display_name: str | None = None
    description: str | None = None
    severity: OptionalSeverity = None
    intent: str | None = None
    start_time_utc: UtcTime = None
    end_time_utc: UtcTime = None
    resource_identifiers: list[ResourceIdentifier] = Field(default_factory=list)
    remediation_steps: list[str] = Field(default_factory=list)
    vendor_name: str | None = None
    status: str | None = None
    extended_links: list[Any] = Field(default_factory=list)
    alert_uri: str | None = None
    time_generated_utc: UtcTime = None
    processing_end_time_utc: UtcTime = None
    product_name: str | None = None
    entities: list[Any] = Field(default_factory=list)
    is_incident: bool | None = None
    correlation_key: str | None = None
    extended_properties: dict[str, Any] = Field(default_factory=dict)
    compromised_entity: str | None = None
    techniques: list[str] = Field(default_factory=list)
    sub_techniques: list[str] = Field(default_factory=list)


class RestAlertResource(BaseModel):
    """The ARM envelope: ``id``, ``name``, ``type`` and ``properties``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str | None = None
    name: str | None = None
    type: str | None = None
    properties: RestAlertProperties


# ---------------------------------------------------------------------------------------------
# (b) The workflow-automation (Logic App) object


class WorkflowAutomationAlert(BaseModel):
    """The PascalCase alert object of workflow automation (aka.ms/ASCAutomationSchemas)."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_pascal)

    alert_type: str
    system_alert_id: str | None = None
    vendor_name: str | None = None
    start_time_utc: UtcTime = None
    end_time_utc: UtcTime = None
    processing_end_time: UtcTime = None
    time_generated: UtcTime = None
    is_incident: bool | None = None
    severity: OptionalSeverity = None
    reported_severity: OptionalSeverity = None
    status: str | None = None
    product_name: str | None = None
    product_component_name: str | None = None
    azure_resource_id: str | None = None
    azure_resource_subscription_id: str | None = None
    workspace_id: str | None = None
    workspace_subscription_id: str | None = None
    workspace_resource_group: str | None = None
    agent_id: str | None = None
    compromised_entity: str | None = None
    intent: str | None = None
    alert_display_name: str | None = None
    description: str | None = None
    alert_uri: str | None = None
    remediation_steps: Steps = Field(default_factory=list)
    extended_properties: JsonObject = Field(default_factory=dict)
    entities: JsonList = Field(default_factory=list)
    resource_identifiers: list[ResourceIdentifier] = Field(default_factory=list)
    techniques: Names = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# (c) The Log Analytics SecurityAlert row


class SecurityAlertRow(BaseModel):
    """A ``SecurityAlert`` row (Log Analytics table reference, columns as documented)."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_pascal)

    alert_type: str
    system_alert_id: str | None = None
    alert_name: str | None = None
    display_name: str | None = None
    alert_severity: OptionalSeverity = None
    alert_link: str | None = None
    compromised_entity: str | None = None
    confidence_level: str | None = None
    confidence_score: float | None = None
    description: str | None = None
    start_time: UtcTime = None
    end_time: UtcTime = None
    processing_end_time: UtcTime = None
    time_generated: UtcTime = None
    entities: JsonList = Field(default_factory=list)
    extended_links: JsonList = Field(default_factory=list)
    extended_properties: JsonObject = Field(default_factory=dict)
    remediation_steps: Steps = Field(default_factory=list)
    is_incident: bool | None = None
    product_component_name: str | None = None
    product_name: str | None = None
    provider_name: str | None = None
    resource_id: str | None = None
    workspace_resource_id: str | None = Field(default=None, alias="_ResourceId")
    source_computer_id: str | None = None
    status: str | None = None
    tactics: Names = Field(default_factory=list)
    techniques: Names = Field(default_factory=list)
    sub_techniques: Names = Field(default_factory=list)
    type: str | None = None
    vendor_name: str | None = None
    vendor_original_id: str | None = None
    workspace_resource_group: str | None = None
    workspace_subscription_id: str | None = None


ParsedAlert = RestAlertResource | WorkflowAutomationAlert | SecurityAlertRow


# ---------------------------------------------------------------------------------------------
# Detection

_ROW_MARKERS = frozenset(
    {
        "AlertName",
        "AlertSeverity",
        "AlertLink",
        "StartTime",
        "EndTime",
        "DisplayName",
        "ProviderName",
        "ConfidenceLevel",
        "ConfidenceScore",
        "VendorOriginalId",
        "ResourceId",
        "Tactics",
        "SourceComputerId",
    }
)
_WORKFLOW_MARKERS = frozenset(
    {
        "AlertDisplayName",
        "StartTimeUtc",
        "EndTimeUtc",
        "Severity",
        "ReportedSeverity",
        "AzureResourceId",
        "AzureResourceSubscriptionId",
        "ResourceIdentifiers",
        "Intent",
        "AlertUri",
        "AgentId",
        "WorkspaceId",
    }
)
_REST_MARKERS = frozenset({"alertType", "systemAlertId", "alertDisplayName", "startTimeUtc", "severity"})


def _shown_keys(obj: dict[Any, Any]) -> str:
    keys = [str(k)[:40] for k in list(obj)[:8]]
    more = ", ..." if len(obj) > 8 else ""
    return "[" + ", ".join(repr(k) for k in keys) + more + "]"


def detect_format(obj: object) -> AlertFormat:
    """Which of the three alert formats ``obj`` has, judged from its keys.

    - an object with a ``properties`` object (the ARM envelope), or with camelCase
      ``alertType``/``systemAlertId`` at the top, is a REST resource;
    - ``Type == "SecurityAlert"``, or more ``SecurityAlert`` column names (``AlertName``,
      ``AlertSeverity``, ``StartTime``...) than workflow field names, is a table row;
    - PascalCase workflow fields (``AlertDisplayName``, ``StartTimeUtc``, ``Severity``...) make a
      workflow-automation object.

    Raises ``NotAnAlertError`` for an ARM resource whose ``type`` is not an alert, and
    ``FormatError`` (with the keys seen) when nothing fits.
    """
    if not isinstance(obj, dict):
        raise FormatError(f"expected a JSON object (one alert), got {type(obj).__name__}")
    props = obj.get("properties")
    if "properties" in obj and not isinstance(props, dict) and "alerts" in str(obj.get("type", "")).lower():
        raise FormatError(f"'properties' is {type(props).__name__}; expected the alert's properties object")
    if isinstance(props, dict):
        rtype = obj.get("type")
        if isinstance(rtype, str) and rtype.strip().lower() != ALERT_RESOURCE_TYPE.lower():
            raise NotAnAlertError(rtype)
        op = obj.get("operationName")
        if op is not None and "alerts" in str(op).lower():
            raise FormatError(
                "this is an Azure Activity Log record of a Defender alert; it lacks the alert type and "
                "entities, so read the alert itself (alerts API, continuous export, workflow automation "
                "or the SecurityAlert table)"
            )
        if _REST_MARKERS & set(props):
            return AlertFormat.REST_RESOURCE
        raise FormatError(
            f"object has 'properties' but none of the alert fields {sorted(_REST_MARKERS)} in it; "
            f"'properties' keys: {_shown_keys(props)}"
        )
    if "alertType" in obj or "systemAlertId" in obj:
        return AlertFormat.REST_RESOURCE
    if obj.get("Type") == "SecurityAlert":
        return AlertFormat.SECURITY_ALERT_ROW
    keys = set(obj)
    row, workflow = len(_ROW_MARKERS & keys), len(_WORKFLOW_MARKERS & keys)
    if row > workflow:
        return AlertFormat.SECURITY_ALERT_ROW
    if workflow > row:
        return AlertFormat.WORKFLOW_AUTOMATION
    if "AlertType" in keys or "SystemAlertId" in keys:
        raise FormatError(
            "object has PascalCase alert fields but it is unclear whether it is a workflow-automation "
            "alert (AlertDisplayName, StartTimeUtc, Severity) or a SecurityAlert row (AlertName, "
            f"StartTime, AlertSeverity); keys seen: {_shown_keys(obj)}"
        )
    raise FormatError(
        "object is not a Defender alert in any supported format (alerts API resource, workflow "
        f"automation object, SecurityAlert row); keys seen: {_shown_keys(obj)}"
    )


def _alert_body(obj: dict[str, Any], fmt: AlertFormat) -> dict[str, Any]:
    if fmt is AlertFormat.REST_RESOURCE and isinstance(obj.get("properties"), dict):
        props: dict[str, Any] = obj["properties"]
        return props
    return obj


def peek_alert_type(obj: dict[str, Any], fmt: AlertFormat) -> tuple[object, object]:
    """The raw (alert type, display name) of an object of format ``fmt``, unvalidated.

    Lets the caller skip alerts that are not AI alerts before validating the rest of them.
    """
    body = _alert_body(obj, fmt)
    if fmt is AlertFormat.REST_RESOURCE:
        return body.get("alertType"), body.get("alertDisplayName")
    if fmt is AlertFormat.WORKFLOW_AUTOMATION:
        return body.get("AlertType"), body.get("AlertDisplayName")
    return body.get("AlertType"), body.get("AlertName") or body.get("DisplayName")


def alert_type_field(fmt: AlertFormat) -> str:
    """The dotted name of the alert-type field in ``fmt`` (for error messages)."""
    return "properties.alertType" if fmt is AlertFormat.REST_RESOURCE else "AlertType"


def parse_alert_payload(obj: dict[str, Any], fmt: AlertFormat) -> ParsedAlert:
    """Validate ``obj`` as format ``fmt``; raises ``pydantic.ValidationError`` naming the fields."""
    if fmt is AlertFormat.REST_RESOURCE:
        if isinstance(obj.get("properties"), dict):
            return RestAlertResource.model_validate(obj)
        return RestAlertResource.model_validate({"properties": obj})
    if fmt is AlertFormat.WORKFLOW_AUTOMATION:
        return WorkflowAutomationAlert.model_validate(obj)
    return SecurityAlertRow.model_validate(obj)
