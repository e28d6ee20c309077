"""Defender alert intake shared by the three paths (Event Grid, Event Hub, SecurityAlert poller).

``take_alerts`` normalizes a payload (one alert or an array), quarantines what cannot be read,
counts and logs what is not ours, and routes every accepted alert through ``shared.intake`` so
that one alert is one incident whichever path it came by, however often it is delivered.

Bad input never raises; operational failures (storage, the durable client) do, after every
other alert of the payload was handled, so the source's own retry re-delivers the payload and
the alerts already routed dedupe.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.alerts.normalize import Accepted, Rejected, Skipped, normalize_batch
from shared.intake import IngestResult, IngestStatus, IntakeDeps, ingest
from shared.ports.stores import QuarantineStore

__all__ = ["AlertIntakeReport", "take_alerts"]

_log = logging.getLogger("warden.alerts")

try:  # OpenTelemetry metrics reach Application Insights when it is configured; no-ops otherwise.
    from opentelemetry import metrics as _otel_metrics

    _COUNTER: Any = _otel_metrics.get_meter("warden").create_counter(
        "warden.alerts", unit="{alert}", description="Defender alerts taken in, by source and outcome"
    )
except ImportError:  # pragma: no cover - opentelemetry-api ships with azure-monitor-opentelemetry
    _COUNTER = None


@dataclass
class AlertIntakeReport:
    """What happened to each alert of one payload."""

    source: str
    outcomes: Counter[str] = field(default_factory=Counter)
    incidents: list[IngestResult] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str, reason: str | None = None) -> None:
        key = outcome if reason is None else f"{outcome}:{reason}"
        self.outcomes[key] += 1
        if _COUNTER is not None:
            _COUNTER.add(1, {"source": self.source, "outcome": outcome, "reason": reason or ""})

    @property
    def ok(self) -> bool:
        return not self.errors


def _raw(item: Any) -> bytes:
    return json.dumps(item, ensure_ascii=False, default=str).encode("utf-8")


def _elements(payload: bytes | str | dict[str, Any] | list[Any]) -> list[Any] | None:
    """The payload's elements, if it is (or decodes to) a JSON array or object."""
    try:
        value = json.loads(payload) if isinstance(payload, bytes | str) else payload
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, list) else [value]


async def take_alerts(
    payload: bytes | str | dict[str, Any] | list[Any],
    *,
    source: str,
    deps: IntakeDeps,
    quarantine: QuarantineStore,
    max_bytes: int,
    now: datetime,
) -> AlertIntakeReport:
    """Take every alert in ``payload`` (see the module docstring).

    Raises the first operational error (after handling every alert) so the caller's source
    retries; the report of what succeeded is on the exception as ``report``.
    """
    report = AlertIntakeReport(source=source)
    outcomes = normalize_batch(payload, source=source, max_bytes=max_bytes)
    elements: list[Any] | None = None
    first_error: BaseException | None = None
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Rejected):
            if len(outcomes) == 1 and not isinstance(payload, dict | list):
                raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
            else:
                elements = elements if elements is not None else _elements(payload)
                raw = _raw(elements[index]) if elements is not None and index < len(elements) else _raw(payload)
            record = quarantine.put(
                source=source,
                reason_code=outcome.reason_code.value,
                message=outcome.message,
                raw=raw,
                received_at=now,
            )
            report.quarantined.append(record.id)
            report.count("rejected", outcome.reason_code.value)
            _log.warning(
                "alert payload from %s quarantined (%s): %s", source, outcome.reason_code.value, outcome.message
            )
        elif isinstance(outcome, Skipped):
            report.count("skipped", outcome.reason.value)
            _log.info(
                "alert from %s skipped (%s): type %s id %s",
                source,
                outcome.reason.value,
                outcome.alert_type,
                outcome.system_alert_id,
            )
        elif isinstance(outcome, Accepted):
            try:
                result = await ingest(outcome.finding, deps, now=now)
            except Exception as exc:  # operational: keep going, then fail the delivery
                report.errors.append(f"{outcome.finding.dedupe_key}: {type(exc).__name__}: {exc}")
                report.count("failed")
                _log.exception("routing alert %s from %s failed", outcome.finding.dedupe_key, source)
                first_error = first_error or exc
                continue
            report.incidents.append(result)
            report.count("accepted", "duplicate" if result.status is IngestStatus.DUPLICATE else None)
    if first_error is not None:
        first_error.report = report  # type: ignore[attr-defined]
        raise first_error
    return report
