"""``normalize``: raw alert payload in, exactly one outcome out. Never raises for bad input.

Outcomes:

- ``Accepted(alert, finding, resolution)``: a Defender for AI alert, ready for the policy;
- ``Skipped(reason, alert_type)``: well-formed but not ours (a non-AI alert, or another ARM
  resource type on the same Event Hub); the caller counts and logs it;
- ``Rejected(reason_code, message)``: oversized, undecodable, not JSON, no known format, or a
  field missing / of the wrong type. ``message`` names the field, shows the value (truncated)
  and says what was expected; ``field`` holds the field name when there is one.

Order of checks: size (before any parsing), decoding, JSON, format detection, the alert type
(non-AI alerts are skipped before the rest of them is validated, so an odd non-AI alert is
never "rejected"), full validation, conversion, resource resolution, finding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from shared.alerts.alert import DefenderAlert
from shared.alerts.catalogue import AlertCatalogue, default_catalogue
from shared.alerts.convert import AlertFieldError, show_value, to_defender_alert
from shared.alerts.finding import to_finding
from shared.alerts.formats import (
    AlertFormat,
    FormatError,
    NotAnAlertError,
    alert_type_field,
    detect_format,
    parse_alert_payload,
    peek_alert_type,
)
from shared.alerts.resources import ResourceResolution, resolve_resource
from shared.alerts.sanitize import clean, json_size
from shared.finding import Finding

__all__ = [
    "Accepted",
    "NormalizeOutcome",
    "RejectReason",
    "Rejected",
    "SkipReason",
    "Skipped",
    "normalize",
    "normalize_batch",
    "normalize_object",
]


class SkipReason(StrEnum):
    """Why a well-formed payload is not Warden's business."""

    NOT_AI_ALERT = "not_ai_alert"
    """A Defender alert whose type is not a Defender for AI type (e.g. ``VM_EICAR``)."""
    NOT_AN_ALERT = "not_an_alert"
    """An ARM resource of another type (continuous export also sends recommendations, scores)."""


class RejectReason(StrEnum):
    """Why a payload could not be read as an alert."""

    TOO_LARGE = "too_large"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    EMPTY = "empty"
    MULTIPLE_ALERTS = "multiple_alerts"
    UNKNOWN_FORMAT = "unknown_format"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"


@dataclass(frozen=True, slots=True)
class Accepted:
    """A Defender for AI alert and its finding (``resolution`` explains ``finding.resource``)."""

    alert: DefenderAlert
    finding: Finding
    resolution: ResourceResolution = field(default_factory=lambda: ResourceResolution(None))


@dataclass(frozen=True, slots=True)
class Skipped:
    """Not ours. ``alert_type`` / ``system_alert_id`` are cleaned and truncated, for logs."""

    reason: SkipReason
    alert_type: str | None
    system_alert_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    """Unreadable input; ``message`` is safe to log (values are cleaned and truncated)."""

    reason_code: RejectReason
    message: str
    field: str | None = None


NormalizeOutcome = Accepted | Skipped | Rejected

_SOURCE = re.compile(r"^[A-Za-z0-9_.:/\-]{1,64}$")
_FIELD_EXPECTATIONS = {
    "alertType": "the Defender alert type, e.g. 'AI.Azure_AccessFromSuspiciousIP'",
    "AlertType": "the Defender alert type, e.g. 'AI.Azure_AccessFromSuspiciousIP'",
    "properties": "the alert's properties object",
}


def _check_caller(source: str, max_bytes: int) -> None:
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ValueError(f"source must be 1-64 letters, digits or '_.:/-', got {source!r}")
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode(payload: bytes | str | dict[str, Any] | list[Any], max_bytes: int) -> Any:
    """The parsed JSON value, or a ``Rejected`` (size is checked before anything is parsed)."""
    if isinstance(payload, bytes | bytearray | memoryview):
        raw = bytes(payload)
        if len(raw) > max_bytes:
            return Rejected(RejectReason.TOO_LARGE, f"payload is {len(raw)} bytes; at most {max_bytes} accepted")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Rejected(
                RejectReason.INVALID_ENCODING, f"payload is not UTF-8 (byte {exc.start}); expected UTF-8 JSON"
            )
    elif isinstance(payload, str):
        size = len(payload) if len(payload) > max_bytes else len(payload.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            return Rejected(RejectReason.TOO_LARGE, f"payload is {size} bytes; at most {max_bytes} accepted")
        text = payload.removeprefix("\ufeff")
    elif isinstance(payload, dict | list):
        try:
            size = json_size(payload)
        except (ValueError, TypeError, RecursionError):
            return Rejected(RejectReason.INVALID_JSON, "payload object is not JSON-serialisable (cycle or too deep)")
        if size > max_bytes:
            return Rejected(
                RejectReason.TOO_LARGE, f"payload is about {size} bytes as JSON; at most {max_bytes} accepted"
            )
        return payload
    else:
        return Rejected(
            RejectReason.NOT_AN_OBJECT, f"payload is a {type(payload).__name__}; expected bytes, str or dict"
        )
    if not text.strip():
        return Rejected(RejectReason.EMPTY, "payload is empty; expected a JSON alert object")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return Rejected(RejectReason.INVALID_JSON, "payload JSON is nested too deeply")
    except ValueError as exc:
        return Rejected(RejectReason.INVALID_JSON, f"payload is not valid JSON: {clean(str(exc), 200)}")


def _from_validation_error(exc: ValidationError) -> Rejected:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(payload)"
    if first["type"] == "missing":
        last = str(first["loc"][-1]) if first["loc"] else ""
        expected = _FIELD_EXPECTATIONS.get(last, "a value")
        reason, message = RejectReason.MISSING_FIELD, f"{loc} is missing; expected {expected}"
    else:
        msg = clean(str(first["msg"]), 200).removeprefix("Value error, ")
        if msg.startswith("Input should be "):
            msg = "expected " + msg.removeprefix("Input should be ")
        reason, message = RejectReason.INVALID_FIELD, f"{loc}={show_value(first.get('input'))}: {msg}"
    if len(errors) > 1:
        others = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[1:4])
        more = ", ..." if len(errors) > 4 else ""
        message += f" (also: {others}{more})"
    return Rejected(reason, message, loc)


def normalize_object(obj: object, *, source: str, catalogue: AlertCatalogue | None = None) -> NormalizeOutcome:
    """Normalize one already-parsed (and size-checked) alert object.

    Use ``normalize`` for raw payloads. Raises ``ValueError`` only for a malformed ``source``.
    """
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ValueError(f"source must be 1-64 letters, digits or '_.:/-', got {source!r}")
    cat = catalogue or default_catalogue()
    if not isinstance(obj, dict):
        return Rejected(RejectReason.NOT_AN_OBJECT, f"payload is {show_value(obj)}; expected a JSON object (one alert)")
    try:
        fmt = detect_format(obj)
    except NotAnAlertError as exc:
        return Skipped(SkipReason.NOT_AN_ALERT, None, detail=clean(str(exc), 300))
    except FormatError as exc:
        return Rejected(RejectReason.UNKNOWN_FORMAT, clean(str(exc), 600))

    raw_type, raw_name = peek_alert_type(obj, fmt)
    type_field = alert_type_field(fmt)
    if raw_type is None or (isinstance(raw_type, str) and not raw_type.strip()):
        return Rejected(
            RejectReason.MISSING_FIELD,
            f"{type_field} is missing; expected {_FIELD_EXPECTATIONS['alertType']}",
            type_field,
        )
    if not isinstance(raw_type, str):
        return Rejected(
            RejectReason.INVALID_FIELD,
            f"{type_field}={show_value(raw_type)}: expected a string alert type",
            type_field,
        )
    classification = cat.classify(raw_type, raw_name if isinstance(raw_name, str) else None)
    if not classification.is_ai:
        return _skip_non_ai(obj, fmt, raw_type)

    try:
        parsed = parse_alert_payload(obj, fmt)
    except ValidationError as exc:
        return _from_validation_error(exc)
    except RecursionError:
        return Rejected(RejectReason.INVALID_FIELD, "alert is nested too deeply")
    try:
        alert = to_defender_alert(parsed, classification, received_via=source)
    except AlertFieldError as exc:
        reason = RejectReason.MISSING_FIELD if exc.missing else RejectReason.INVALID_FIELD
        return Rejected(reason, str(exc), exc.field)
    except ValidationError as exc:
        return _from_validation_error(exc)
    resolution = resolve_resource(alert)
    try:
        finding = to_finding(alert, resolution)
    except ValidationError as exc:
        return _from_validation_error(exc)
    return Accepted(alert, finding, resolution)


def _skip_non_ai(obj: dict[str, Any], fmt: AlertFormat, raw_type: str) -> Skipped:
    body = obj.get("properties") if fmt is AlertFormat.REST_RESOURCE else obj
    raw_id = body.get("systemAlertId", body.get("SystemAlertId")) if isinstance(body, dict) else None
    return Skipped(
        SkipReason.NOT_AI_ALERT,
        clean(raw_type, 160),
        clean(raw_id, 256) if isinstance(raw_id, str) else None,
        detail=f"alert type is not a Defender for AI type ({fmt.value})",
    )


def normalize(
    payload: bytes | str | dict[str, Any],
    *,
    source: str,
    max_bytes: int,
    catalogue: AlertCatalogue | None = None,
) -> NormalizeOutcome:
    """Exactly one outcome for one alert payload (bytes, text or an already-decoded dict).

    ``source`` names the intake path (``"eventhub"``, ``"logicapp"``, ``"poller"``...); it is
    recorded on the alert. ``max_bytes`` bounds the payload and is checked before parsing (a
    dict is measured as compact JSON). A JSON array of exactly one alert is unwrapped; a longer
    array is rejected with ``MULTIPLE_ALERTS`` (use ``normalize_batch``).

    Never raises for bad input; raises ``ValueError`` only for a malformed ``source`` or a
    non-positive ``max_bytes`` (caller bugs).
    """
    _check_caller(source, max_bytes)
    value = _decode(payload, max_bytes)
    if isinstance(value, Rejected):
        return value
    if isinstance(value, list):
        if not value:
            return Rejected(RejectReason.EMPTY, "payload is an empty array; expected one alert")
        if len(value) > 1:
            return Rejected(
                RejectReason.MULTIPLE_ALERTS,
                f"payload is an array of {len(value)} alerts; expected one (use normalize_batch)",
            )
        value = value[0]
    return normalize_object(value, source=source, catalogue=catalogue)


def normalize_batch(
    payload: bytes | str | dict[str, Any] | list[Any],
    *,
    source: str,
    max_bytes: int,
    catalogue: AlertCatalogue | None = None,
) -> tuple[NormalizeOutcome, ...]:
    """One outcome per alert for a payload that is an array of alerts or a single alert.

    ``max_bytes`` bounds the whole payload. One bad element never spoils the others: each gets
    its own outcome, in order. A payload that cannot be read at all (too large, not JSON, not an
    object or array) gives a single ``Rejected``; an empty array gives no outcomes.
    Raises ``ValueError`` only for a malformed ``source`` or ``max_bytes``.
    """
    _check_caller(source, max_bytes)
    value = _decode(payload, max_bytes)
    if isinstance(value, Rejected):
        return (value,)
    items = value if isinstance(value, list) else [value]
    return tuple(normalize_object(item, source=source, catalogue=catalogue) for item in items)
