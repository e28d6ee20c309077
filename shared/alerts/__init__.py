"""Defender for AI alerts: catalogue, typed input formats, one ``DefenderAlert``, and its ``Finding``.

Pure core (no I/O, no Azure SDK, no ``azure.functions``). Triggers (Event Hub, Logic App /
Event Grid custom topic, alerts poller) hand a raw payload to ``normalize`` and act on the
outcome::

    outcome = normalize(body, source="eventhub", max_bytes=256 * 1024)
    match outcome:
        case Accepted(alert=alert, finding=finding): ...   # start / join the incident
        case Skipped(reason=reason, alert_type=t): ...     # count and log
        case Rejected(reason_code=code, message=msg): ...  # log; do not retry

Modules: ``catalogue`` (alert types), ``formats`` (the three input models and detection),
``convert`` (input model -> ``DefenderAlert``), ``resources`` (which account / deployment),
``finding`` (``DefenderAlert`` -> ``Finding``), ``normalize`` (outcomes), ``sanitize`` (bounds).
"""

from shared.alerts.alert import AlertStatus, DefenderAlert
from shared.alerts.catalogue import (
    AlertCatalogue,
    AlertCategory,
    AlertFamily,
    CatalogueEntry,
    Classification,
    default_catalogue,
    load_catalogue,
)
from shared.alerts.convert import AlertFieldError, to_defender_alert
from shared.alerts.finding import entity_summary, finding_category, finding_kind, to_finding
from shared.alerts.formats import (
    AlertFormat,
    FormatError,
    NotAnAlertError,
    RestAlertResource,
    SecurityAlertRow,
    WorkflowAutomationAlert,
    detect_format,
    parse_alert_payload,
)
from shared.alerts.normalize import (
    Accepted,
    NormalizeOutcome,
    Rejected,
    RejectReason,
    Skipped,
    SkipReason,
    normalize,
    normalize_batch,
    normalize_object,
)
from shared.alerts.resources import ResourceResolution, resolve_resource

__all__ = [
    "Accepted",
    "AlertCatalogue",
    "AlertCategory",
    "AlertFamily",
    "AlertFieldError",
    "AlertFormat",
    "AlertStatus",
    "CatalogueEntry",
    "Classification",
    "DefenderAlert",
    "FormatError",
    "NormalizeOutcome",
    "NotAnAlertError",
    "RejectReason",
    "Rejected",
    "ResourceResolution",
    "RestAlertResource",
    "SecurityAlertRow",
    "SkipReason",
    "Skipped",
    "WorkflowAutomationAlert",
    "default_catalogue",
    "detect_format",
    "entity_summary",
    "finding_category",
    "finding_kind",
    "load_catalogue",
    "normalize",
    "normalize_batch",
    "normalize_object",
    "parse_alert_payload",
    "resolve_resource",
    "to_defender_alert",
    "to_finding",
]
