"""From a validated input model (any of the three formats) to one ``DefenderAlert``.

Field mapping (REST ``properties`` / workflow automation / ``SecurityAlert`` row):

| DefenderAlert | REST | workflow | row |
|---|---|---|---|
| system_alert_id | systemAlertId | SystemAlertId | SystemAlertId |
| alert_type | alertType | AlertType | AlertType |
| display_name | alertDisplayName | AlertDisplayName | AlertName, else DisplayName |
| severity | severity | Severity, else ReportedSeverity | AlertSeverity |
| start/end | startTimeUtc/endTimeUtc | StartTimeUtc/EndTimeUtc | StartTime/EndTime |
| tactics | intent (comma-split) | Intent (comma-split) | Tactics |
| resource_ids | resourceIdentifiers[AzureResource] | ResourceIdentifiers, AzureResourceId | ResourceId |
| alert_uri | alertUri | AlertUri | AlertLink |

Rules: severity falls back to the catalogue default when the payload has none (an unknown
``AI.`` type without a severity is rejected); a missing start time falls back to the time
generated; a missing or earlier end time becomes the start time. Text is cleaned and bounded
(``shared.alerts.sanitize``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.alerts.alert import AlertStatus, DefenderAlert
from shared.alerts.catalogue import AlertCategory, Classification
from shared.alerts.formats import (
    AlertFormat,
    ParsedAlert,
    RestAlertResource,
    SecurityAlertRow,
    WorkflowAutomationAlert,
)
from shared.alerts.sanitize import JsonLimits, bound_json, clean, truncate
from shared.finding import Severity

__all__ = ["AlertFieldError", "show_value", "to_defender_alert"]

_SYSTEM_ALERT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,256}$")
_ALERT_TYPE = re.compile(r"^[A-Za-z0-9_.\-]{1,150}$")
_ENTITY_LIMITS = JsonLimits(max_depth=5, max_items=40, max_string_chars=1024)
_MAX_ENTITIES = 50
_MAX_EXTENDED_PROPERTIES = 100
_MAX_LIST = 20


def show_value(value: object, max_chars: int = 80) -> str:
    """A short, safe rendering of a received value for error messages (never the whole thing)."""
    if isinstance(value, str):
        return repr(clean(value, max_chars))
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**20 else "a very large integer"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} items"
    return f"a {type(value).__name__}"


class AlertFieldError(ValueError):
    """A field of an otherwise well-shaped alert is missing or unusable.

    ``field`` is the name as it appears in the payload (e.g. ``properties.systemAlertId``).
    """

    def __init__(self, field: str, value: object, expected: str, *, missing: bool = False) -> None:
        if missing:
            message = f"{field} is missing; expected {expected}"
        else:
            message = f"{field}={show_value(value)}: expected {expected}"
        super().__init__(message)
        self.field = field
        self.missing = missing


@dataclass
class _Fields:
    """The format-independent raw values, with the payload's own field names for errors."""

    fmt: AlertFormat
    id_field: str
    system_alert_id: str | None
    type_field: str
    alert_type: str
    severity_field: str
    severity: Severity | None
    start_field: str
    start: datetime | None
    end: datetime | None
    generated: datetime | None
    display_name: str | None = None
    description: str | None = None
    status: str | None = None
    tactics: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    compromised_entity: str | None = None
    resource_ids: list[str] = field(default_factory=list)
    entities: list[Any] = field(default_factory=list)
    extended_properties: dict[str, Any] = field(default_factory=dict)
    remediation_steps: list[str] = field(default_factory=list)
    alert_uri: str | None = None
    product_name: str | None = None
    vendor_name: str | None = None


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _from_rest(parsed: RestAlertResource) -> _Fields:
    p = parsed.properties
    ids = [
        r.azure_resource_id
        for r in p.resource_identifiers
        if r.azure_resource_id and (r.type is None or r.type.lower() == "azureresource")
    ]
    return _Fields(
        fmt=AlertFormat.REST_RESOURCE,
        id_field="properties.systemAlertId",
        system_alert_id=p.system_alert_id,
        type_field="properties.alertType",
        alert_type=p.alert_type,
        severity_field="properties.severity",
        severity=p.severity,
        start_field="properties.startTimeUtc",
        start=p.start_time_utc,
        end=p.end_time_utc,
        generated=p.time_generated_utc,
        display_name=p.alert_display_name,
        description=p.description,
        status=p.status,
        tactics=_split(p.intent),
        techniques=[*p.techniques, *p.sub_techniques],
        compromised_entity=p.compromised_entity,
        resource_ids=ids,
        entities=p.entities,
        extended_properties=p.extended_properties,
        remediation_steps=p.remediation_steps,
        alert_uri=p.alert_uri,
        product_name=p.product_name,
        vendor_name=p.vendor_name,
    )


def _from_workflow(parsed: WorkflowAutomationAlert) -> _Fields:
    ids = [
        r.azure_resource_id
        for r in parsed.resource_identifiers
        if r.azure_resource_id and (r.type is None or r.type.lower() == "azureresource")
    ]
    if parsed.azure_resource_id:
        ids.append(parsed.azure_resource_id)
    return _Fields(
        fmt=AlertFormat.WORKFLOW_AUTOMATION,
        id_field="SystemAlertId",
        system_alert_id=parsed.system_alert_id,
        type_field="AlertType",
        alert_type=parsed.alert_type,
        severity_field="Severity",
        severity=parsed.severity or parsed.reported_severity,
        start_field="StartTimeUtc",
        start=parsed.start_time_utc,
        end=parsed.end_time_utc,
        generated=parsed.time_generated,
        display_name=parsed.alert_display_name,
        description=parsed.description,
        status=parsed.status,
        tactics=_split(parsed.intent),
        techniques=parsed.techniques,
        compromised_entity=parsed.compromised_entity,
        resource_ids=ids,
        entities=parsed.entities,
        extended_properties=parsed.extended_properties,
        remediation_steps=parsed.remediation_steps,
        alert_uri=parsed.alert_uri,
        product_name=parsed.product_name,
        vendor_name=parsed.vendor_name,
    )


def _from_row(parsed: SecurityAlertRow) -> _Fields:
    return _Fields(
        fmt=AlertFormat.SECURITY_ALERT_ROW,
        id_field="SystemAlertId",
        system_alert_id=parsed.system_alert_id,
        type_field="AlertType",
        alert_type=parsed.alert_type,
        severity_field="AlertSeverity",
        severity=parsed.alert_severity,
        start_field="StartTime",
        start=parsed.start_time,
        end=parsed.end_time,
        generated=parsed.time_generated,
        display_name=parsed.alert_name or parsed.display_name,
        description=parsed.description,
        status=parsed.status,
        tactics=parsed.tactics,
        techniques=[*parsed.techniques, *parsed.sub_techniques],
        compromised_entity=parsed.compromised_entity,
        resource_ids=[parsed.resource_id] if parsed.resource_id else [],
        entities=parsed.entities,
        extended_properties=parsed.extended_properties,
        remediation_steps=parsed.remediation_steps,
        alert_uri=parsed.alert_link,
        product_name=parsed.product_name,
        vendor_name=parsed.vendor_name,
    )


def _optional(value: str | None, max_chars: int) -> str | None:
    if value is None:
        return None
    text = clean(value, max_chars)
    return text or None


def _names(values: list[str], max_chars: int = 100) -> tuple[str, ...]:
    out = [clean(v, max_chars) for v in values[:_MAX_LIST]]
    return tuple(dict.fromkeys(v for v in out if v))


def _extended_properties(raw: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in list(raw.items())[:_MAX_EXTENDED_PROPERTIES]:
        name = clean(str(key), 100)
        if not name:
            continue
        if isinstance(value, str):
            text = clean(value, 2048)
        elif value is None or isinstance(value, bool | int | float):
            text = clean(json.dumps(bound_json(value)), 2048)
        else:
            text = truncate(json.dumps(bound_json(value, _ENTITY_LIMITS), ensure_ascii=False), 2048)
        out[name] = text
    return out


def _entities(raw: list[Any]) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for item in raw[:_MAX_ENTITIES]:
        if isinstance(item, dict):
            bounded = bound_json(item, _ENTITY_LIMITS)
            if isinstance(bounded, dict):
                out.append(bounded)
    return tuple(out)


def _https_uri(value: str | None) -> str | None:
    if value is None:
        return None
    text = clean(value, 2048)
    return text if text.lower().startswith("https://") and " " not in text else None


def to_defender_alert(
    parsed: ParsedAlert, classification: Classification, *, received_via: str | None = None
) -> DefenderAlert:
    """Build the ``DefenderAlert`` of a validated payload already classified as an AI alert.

    Raises ``AlertFieldError`` for a missing or unusable system alert id, alert type, severity or
    start time, and ``ValueError`` if ``classification`` is not an AI classification.
    """
    if not classification.is_ai or classification.canonical_type is None:
        raise ValueError(f"{classification.received_type!r} is not an AI alert type")
    if isinstance(parsed, RestAlertResource):
        f = _from_rest(parsed)
    elif isinstance(parsed, WorkflowAutomationAlert):
        f = _from_workflow(parsed)
    else:
        f = _from_row(parsed)

    system_alert_id = (f.system_alert_id or "").strip()
    if not system_alert_id:
        raise AlertFieldError(f.id_field, f.system_alert_id, "the alert's unique id (SystemAlertId)", missing=True)
    if not _SYSTEM_ALERT_ID.match(system_alert_id):
        raise AlertFieldError(f.id_field, f.system_alert_id, "1-256 letters, digits, '_', '.', ':' or '-'")

    received_type = clean(f.alert_type, 160)
    canonical = classification.canonical_type.strip()
    if not received_type or not _ALERT_TYPE.match(canonical):
        raise AlertFieldError(f.type_field, f.alert_type, "an alert type of 1-150 letters, digits, '_', '.' or '-'")

    entry = classification.entry
    severity = f.severity or (entry.severity if entry is not None else None)
    if severity is None:
        raise AlertFieldError(f.severity_field, None, "one of Informational, Low, Medium, High", missing=True)

    start = f.start or f.generated
    if start is None:
        raise AlertFieldError(f.start_field, None, "the alert's start time (ISO 8601, UTC)", missing=True)
    end = f.end if f.end is not None and f.end >= start else start

    display = _optional(f.display_name, 500) or (entry.display_name if entry else None) or canonical
    tactics = _names(f.tactics) or (entry.tactics if entry is not None else ())
    resource_ids = tuple(dict.fromkeys(clean(r, 1024) for r in f.resource_ids[:_MAX_LIST] if r.strip()))
    category = classification.category or AlertCategory.AI_OTHER

    return DefenderAlert(
        system_alert_id=system_alert_id,
        alert_type=canonical,
        alert_type_received=received_type,
        catalogue_entry=entry,
        category=category,
        display_name=display,
        description=clean(f.description or "", 4096),
        severity=severity,
        status=AlertStatus.from_received(f.status),
        start_time=start,
        end_time=end,
        time_generated=f.generated,
        tactics=tactics,
        techniques=_names(f.techniques, 40),
        compromised_entity=_optional(f.compromised_entity, 1024),
        resource_ids=tuple(r for r in resource_ids if r),
        entities=_entities(f.entities),
        extended_properties=_extended_properties(f.extended_properties),
        remediation_steps=tuple(s for s in (clean(s, 1024) for s in f.remediation_steps[:_MAX_LIST]) if s),
        alert_uri=_https_uri(f.alert_uri),
        product_name=_optional(f.product_name, 200),
        vendor_name=_optional(f.vendor_name, 200),
        source_format=f.fmt,
        received_via=received_via,
    )
