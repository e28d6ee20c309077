"""ARM resource events from the subscription's Event Grid system topic, typed and classified.

The infra subscribes ``on_resource_event`` to ``Microsoft.Resources.ResourceWriteSuccess`` and
``ResourceActionSuccess`` with ``data.resourceProvider`` = Microsoft.CognitiveServices. Per the
event schema (azure-docs ``event-schema-subscriptions.md``) ``data`` carries ``authorization``
(``action``, ``scope``, ``evidence.principalId``), ``claims`` (the caller's token claims),
``correlationId``, ``httpRequest``, ``resourceProvider``, ``resourceUri``, ``operationName``,
``status``, ``subscriptionId`` and ``tenantId``. What Warden does with them:

* ``ResourceWriteSuccess`` of ``Microsoft.CognitiveServices/accounts/deployments/write``: the
  event carries no model, so the deployment is read back (``check_deployment``) and judged
  against the allowlist (``shared.anomalies.allowlist``).
* ``ResourceActionSuccess`` of ``.../accounts/listKeys/action`` or ``regenerateKey/action`` by a
  caller that is not ``WARDEN_IDENTITY_PRINCIPAL_ID``: ``anomaly:key_operation_by_other``
  (inferred shape for Cognitive Services: the only official sample is an Event Hubs listKeys).
* anything else Cognitive Services (account writes, RAI policies...): ``ignore`` with a reason.
* malformed events (not JSON objects, missing ``data``, an unparseable ``resourceUri``,
  oversized): ``quarantine`` (acknowledged, never retried).

``classify_resource_event`` is pure and never raises for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.anomalies.detectors import key_operation_finding
from shared.finding import Finding, Severity
from shared.resource_ids import AccountId, DeploymentId, InvalidResourceIdError, parse_resource_id

__all__ = ["ResourceEvent", "ResourceEventDecision", "classify_resource_event"]

WRITE_SUCCESS = "microsoft.resources.resourcewritesuccess"
ACTION_SUCCESS = "microsoft.resources.resourceactionsuccess"
_DEPLOYMENT_WRITE = "microsoft.cognitiveservices/accounts/deployments/write"
_KEY_ACTIONS = {
    "microsoft.cognitiveservices/accounts/listkeys/action": "listKeys",
    "microsoft.cognitiveservices/accounts/regeneratekey/action": "regenerateKey",
}
_OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    """The fields of a resource event Warden uses."""

    id: str
    event_type: str
    time: datetime
    operation: str
    resource_uri: str
    caller: str
    caller_ip: str | None
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class ResourceEventDecision:
    """What to do with one event."""

    action: Literal["finding", "check_deployment", "ignore", "quarantine"]
    reason_code: str
    reason: str
    event: ResourceEvent | None = None
    finding: Finding | None = None
    deployment: DeploymentId | None = None


def _quarantine(code: str, reason: str) -> ResourceEventDecision:
    return ResourceEventDecision("quarantine", code, reason)


def _text(value: Any, limit: int = 1000) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _when(raw: Mapping[str, Any]) -> datetime | None:
    value = raw.get("eventTime", raw.get("time"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Event Grid writes 7 fractional digits; Python 3.11 reads at most 6
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _caller(data: Mapping[str, Any]) -> str:
    claims = data.get("claims")
    if isinstance(claims, Mapping):
        oid = _text(claims.get(_OID_CLAIM), 100)
        if oid:
            return oid
    authorization = data.get("authorization")
    evidence = authorization.get("evidence") if isinstance(authorization, Mapping) else None
    if isinstance(evidence, Mapping):
        return _text(evidence.get("principalId"), 100)
    return ""


def classify_resource_event(
    raw: Any,
    *,
    warden_principal_id: str | None,
    key_operation_severity: Severity = Severity.HIGH,
    detect_key_operations: bool = True,
    max_bytes: int = 1_048_576,
) -> ResourceEventDecision:
    """Classify one event (Event Grid or CloudEvents schema, as a decoded dict). Never raises."""
    try:
        size = len(json.dumps(raw, default=str).encode("utf-8"))
    except (TypeError, ValueError):
        return _quarantine("invalid_event", "the event is not JSON-serialisable")
    if size > max_bytes:
        return _quarantine("oversized_event", f"event of {size} bytes exceeds {max_bytes}")
    if not isinstance(raw, Mapping):
        return _quarantine("invalid_event", f"expected a JSON object, got {type(raw).__name__}")
    event_type = _text(raw.get("eventType", raw.get("type")), 200)
    data = raw.get("data")
    if not event_type:
        return _quarantine("invalid_event", "the event has no eventType/type")
    if not isinstance(data, Mapping):
        return _quarantine("invalid_event", "the event has no data object")
    when = _when(raw)
    if when is None:
        return _quarantine(
            "invalid_event", f"eventTime {raw.get('eventTime', raw.get('time'))!r} is not an ISO-8601 time"
        )
    operation = _text(data.get("operationName"), 300)
    if not operation:
        authorization = data.get("authorization")
        operation = _text(authorization.get("action"), 300) if isinstance(authorization, Mapping) else ""
    resource_uri = _text(data.get("resourceUri") or raw.get("subject"), 1000)
    http = data.get("httpRequest")
    event = ResourceEvent(
        id=_text(raw.get("id"), 200),
        event_type=event_type,
        time=when,
        operation=operation,
        resource_uri=resource_uri,
        caller=_caller(data),
        caller_ip=_text(http.get("clientIpAddress"), 64) or None if isinstance(http, Mapping) else None,
        correlation_id=_text(data.get("correlationId"), 200) or None,
    )
    kind = event_type.lower()
    op = operation.lower()
    if kind not in (WRITE_SUCCESS, ACTION_SUCCESS):
        return ResourceEventDecision("ignore", "other_event_type", f"event type {event_type} is not handled", event)
    if kind == WRITE_SUCCESS and op == _DEPLOYMENT_WRITE:
        try:
            parsed = parse_resource_id(resource_uri)
        except InvalidResourceIdError as exc:
            return _quarantine("invalid_resource", f"resourceUri {resource_uri[:200]!r}: {exc}")
        if not isinstance(parsed, DeploymentId):
            return _quarantine("invalid_resource", f"resourceUri {resource_uri[:200]!r} is not a model deployment")
        return ResourceEventDecision(
            "check_deployment", "deployment_written", "read the deployment back", event, deployment=parsed
        )
    if kind == ACTION_SUCCESS and op in _KEY_ACTIONS:
        try:
            account = AccountId.parse(resource_uri)
        except InvalidResourceIdError as exc:
            return _quarantine("invalid_resource", f"resourceUri {resource_uri[:200]!r}: {exc}")
        if not detect_key_operations:
            return ResourceEventDecision("ignore", "detector_disabled", "key_operation_by_other is disabled", event)
        warden = (warden_principal_id or "").lower()
        if not warden:
            return ResourceEventDecision(
                "ignore", "warden_identity_unknown", "WARDEN_IDENTITY_PRINCIPAL_ID is not set", event
            )
        if event.caller.lower() == warden:
            return ResourceEventDecision("ignore", "warden_itself", "the caller is Warden's own identity", event)
        finding = key_operation_finding(
            account=account,
            operation=_KEY_ACTIONS[op],
            caller=event.caller,
            caller_ip=event.caller_ip,
            correlation_id=event.correlation_id,
            key=None,
            when=when,
            severity=key_operation_severity,
            expected_caller=warden,
            seen_by="event_grid",
        )
        return ResourceEventDecision("finding", "key_operation_by_other", finding.title, event, finding=finding)
    return ResourceEventDecision(
        "ignore", "other_operation", f"operation {operation or '(none)'} is not handled", event
    )
