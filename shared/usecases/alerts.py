"""Defender for AI alert intake: the three paths and what they share.

- ``take_alert_event``: one Event Grid event from the Defender workflow automation's custom topic
  (a Logic App publishes each alert as an event whose ``data`` is the alert; both schemas). Bad
  alerts are quarantined and acknowledged (Event Grid must not retry them); an operational
  failure raises, so Event Grid redelivers and the routed alerts dedupe.
- ``take_alert_batch``: a batch of Event Hub messages (continuous export; each one alert or an
  array). One bad message never fails the batch; on the last retry, messages that still cannot
  be routed are quarantined with reason ``routing_failed`` so nothing is lost when the
  checkpoint moves on.
- ``poll_security_alerts``: the ``SecurityAlert`` table through Log Analytics, with a watermark
  and an overlap window (see its docstring).

All three call ``take_alerts``: normalize a payload (one alert or an array), quarantine what
cannot be read, count and log what is not ours, and route every accepted alert through
``shared.usecases.intake`` so that one alert is one incident whichever path it came by, however
often it is delivered. Bad input never raises; operational failures (storage, the durable
client) do, after every other alert of the payload was handled, so the source's own retry
re-delivers the payload and the alerts already routed dedupe.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.normalize import Accepted, Rejected, Skipped, normalize_batch
from shared.ports.logs import LogsPort
from shared.ports.stores import ConcurrentUpdateError, QuarantineStore, Watermark, WatermarkStore
from shared.usecases.intake import IngestResult, IngestStatus, IntakeDeps, ingest

__all__ = [
    "DEFAULT_OVERLAP",
    "WATERMARK_NAME",
    "AlertDeps",
    "AlertIntakeReport",
    "PollReport",
    "UndecodableEvent",
    "poll_security_alerts",
    "take_alert_batch",
    "take_alert_event",
    "take_alerts",
]

_log = logging.getLogger("warden.alerts")
_poll_log = logging.getLogger("warden.alerts.poller")

EVENTHUB_RETRIES = 5
"""How often the Functions host retries a failed Event Hub batch (``handlers/alerts.py``)."""

try:  # OpenTelemetry metrics reach Application Insights when it is configured; no-ops otherwise.
    from opentelemetry import metrics as _otel_metrics

    _COUNTER: Any = _otel_metrics.get_meter("warden").create_counter(
        "warden.alerts", unit="{alert}", description="Defender alerts taken in, by source and outcome"
    )
except ImportError:  # pragma: no cover - opentelemetry-api ships with azure-monitor-opentelemetry
    _COUNTER = None


@dataclass(frozen=True, slots=True)
class AlertDeps:
    """What the alert intake needs (``shared.bootstrap.Container.alert_deps``)."""

    intake: IntakeDeps
    quarantine: QuarantineStore
    watermarks: WatermarkStore
    logs: LogsPort | None
    """``None`` when no Log Analytics workspace is configured (no polling)."""
    max_bytes: int
    poll_overlap: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class UndecodableEvent:
    """An Event Grid event whose ``data`` is not JSON (kept raw for the quarantine)."""

    event_id: str
    raw: bytes
    error: str


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
    payload: bytes | str | dict[str, Any] | list[Any], *, source: str, deps: AlertDeps, now: datetime
) -> AlertIntakeReport:
    """Take every alert in ``payload`` (see the module docstring).

    Raises the first operational error (after handling every alert) so the caller's source
    retries; the report of what succeeded is on the exception as ``report``.
    """
    report = AlertIntakeReport(source=source)
    outcomes = normalize_batch(payload, source=source, max_bytes=deps.max_bytes)
    elements: list[Any] | None = None
    first_error: BaseException | None = None
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Rejected):
            if len(outcomes) == 1 and not isinstance(payload, dict | list):
                raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
            else:
                elements = elements if elements is not None else _elements(payload)
                raw = _raw(elements[index]) if elements is not None and index < len(elements) else _raw(payload)
            record = deps.quarantine.put(
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
                result = await ingest(outcome.finding, deps.intake, now=now)
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


async def take_alert_event(data: Any, deps: AlertDeps, *, now: datetime) -> AlertIntakeReport | None:
    """One Event Grid event's ``data`` (the alert the Logic App forwards); an ``UndecodableEvent``
    is quarantined (``invalid_json``) and acknowledged. Raises an operational failure (Event Grid
    redelivers)."""
    if isinstance(data, UndecodableEvent):
        deps.quarantine.put(
            source="eventgrid",
            reason_code="invalid_json",
            message=f"event {data.event_id}: data is not JSON ({data.error})",
            raw=data.raw,
            received_at=now,
        )
        return None
    return await take_alerts(data if data is not None else b"", source="eventgrid", deps=deps, now=now)


async def take_alert_batch(bodies: Sequence[bytes], deps: AlertDeps, *, now: datetime, last_try: bool) -> None:
    """A batch of Event Hub messages: every message is taken; if some could not be routed, the
    first failure is raised (the host retries the batch and the routed alerts dedupe) unless this
    is the last try, when they are quarantined as ``routing_failed`` instead."""
    failures: list[tuple[bytes, Exception]] = []
    for body in bodies:
        try:
            await take_alerts(body, source="eventhub", deps=deps, now=now)
        except Exception as exc:
            failures.append((body, exc))
    if not failures:
        return
    if last_try:
        for body, error in failures:
            deps.quarantine.put(
                source="eventhub",
                reason_code="routing_failed",
                message=f"routing failed after {EVENTHUB_RETRIES} retries: {type(error).__name__}: {error}",
                raw=body,
                received_at=now,
            )
        return
    raise failures[0][1]


# --------------------------------------------------------------------------------------------
# the SecurityAlert poller
# --------------------------------------------------------------------------------------------
WATERMARK_NAME = "security-alerts"
DEFAULT_OVERLAP = timedelta(minutes=30)
DEFAULT_FIRST_LOOKBACK = timedelta(hours=24)
MAX_BOUNDARY_IDS = 2000


@dataclass
class PollReport:
    since: datetime
    until: datetime
    rows: int = 0
    taken: int = 0
    already_handled: int = 0
    watermark: datetime | None = None
    saved: bool = False
    reports: list[AlertIntakeReport] = field(default_factory=list)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


async def poll_security_alerts(deps: AlertDeps, *, now: datetime, past_due: bool = False) -> PollReport | None:
    """One poll of the ``SecurityAlert`` table (needs Log Analytics Reader); ``None`` when no
    workspace is configured (polling is off).

    Each run reads ``[watermark - overlap, now)`` with the named query ``security_alerts`` and
    takes every row it has not handled yet. The watermark (Table Storage, ETag-guarded) stores
    the end of the last successful read and the ids of the rows taken inside the overlap window,
    so late rows (ingested after a run, stamped inside the overlap) are still read; rows in the
    overlap handled already are not taken again; a crash or an error before the watermark is
    saved loses nothing (the next run reads the same window; routed rows are duplicates); partial
    query results never advance the watermark. Rows older than ``watermark - overlap`` that
    arrive later than the overlap are missed: pick the overlap above the workspace's ingestion
    latency (default 30 minutes; Microsoft documents typical latency of 20 s to 3 minutes).

    Raises ``LogQueryError`` (incl. partial results) or the first routing error; the watermark
    is then left where it was.
    """
    if deps.logs is None:
        _log.info("WARDEN_LOG_ANALYTICS_WORKSPACE_ID is not set; SecurityAlert polling is off")
        return None
    if past_due:
        _log.info("SecurityAlert poll is past due; the watermark covers the gap")
    report = await _poll(deps, deps.logs, now=now)
    _log.info("SecurityAlert poll: %s", json.dumps({"rows": report.rows, "taken": report.taken}))
    return report


async def _poll(
    deps: AlertDeps, logs: LogsPort, *, now: datetime, first_lookback: timedelta = DEFAULT_FIRST_LOOKBACK
) -> PollReport:
    watermarks, overlap = deps.watermarks, deps.poll_overlap
    mark = watermarks.get(WATERMARK_NAME)
    since = (mark.value - overlap) if mark is not None else now - first_lookback
    report = PollReport(since=since, until=now)
    rows = logs.run("security_alerts", since=since, until=now)
    report.rows = len(rows)
    handled = set(mark.boundary_ids) if mark is not None else set()
    for row in rows:
        alert_id = str(row.get("SystemAlertId") or "")
        if alert_id and alert_id in handled:
            report.already_handled += 1
            continue
        result = await take_alerts(_jsonable(row), source="poller", deps=deps, now=now)
        report.reports.append(result)
        report.taken += 1
    # The read succeeded up to ``now``: that is the new watermark. The next poll re-reads
    # [now - overlap, ...), so it needs the ids of the rows already taken in that window.
    window_start = now - overlap
    boundary = [
        str(r["SystemAlertId"])
        for r in rows
        if r.get("SystemAlertId")
        and isinstance(r.get("TimeGenerated"), datetime)
        and r["TimeGenerated"] >= window_start
    ]
    updated = Watermark(
        name=WATERMARK_NAME,
        value=now,
        boundary_ids=tuple(boundary[-MAX_BOUNDARY_IDS:]),
        etag=mark.etag if mark is not None else None,
    )
    report.watermark = now
    try:
        watermarks.save(updated)
        report.saved = True
    except ConcurrentUpdateError:
        # Another instance polled at the same time; its rows were routed idempotently.
        _poll_log.warning("security alert watermark moved under us; leaving it to the other poller")
    _poll_log.info(
        "polled SecurityAlert [%s, %s): %d rows, %d taken, %d already handled",
        since.isoformat(),
        now.isoformat(),
        report.rows,
        report.taken,
        report.already_handled,
    )
    return report
