"""Polling Defender for AI alerts from the Log Analytics ``SecurityAlert`` table.

Each run reads ``[watermark - overlap, now)`` with the named query ``security_alerts`` and takes
every row it has not handled yet. The watermark (Table Storage, ETag-guarded) stores the end
of the last successful read and the ids of the rows taken inside the overlap window, so:

- late rows (ingested after a run, but stamped inside the overlap window) are still read;
- rows in the overlap that were handled already are not taken again;
- a crash or an error before the watermark is saved loses nothing: the next run reads the same
  window again and the rows already routed are duplicates (``shared.intake`` dedupes them);
- partial query results never advance the watermark (missing rows would be skipped for good).

Rows older than ``watermark - overlap`` that arrive later than the overlap are missed; pick the
overlap above the workspace's ingestion latency (default 30 minutes; Microsoft documents typical
latency of 20 s to 3 minutes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.alert_intake import AlertIntakeReport, take_alerts
from shared.intake import IntakeDeps
from shared.ports.logs import LogsPort
from shared.ports.stores import ConcurrentUpdateError, QuarantineStore, Watermark, WatermarkStore

__all__ = ["DEFAULT_OVERLAP", "WATERMARK_NAME", "PollReport", "poll_security_alerts"]

_log = logging.getLogger("warden.alerts.poller")

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


async def poll_security_alerts(
    *,
    logs: LogsPort,
    watermarks: WatermarkStore,
    deps: IntakeDeps,
    quarantine: QuarantineStore,
    now: datetime,
    max_bytes: int,
    overlap: timedelta = DEFAULT_OVERLAP,
    first_lookback: timedelta = DEFAULT_FIRST_LOOKBACK,
) -> PollReport:
    """One poll (see the module docstring).

    Raises ``shared.azure.logs.LogQueryError`` (incl. partial results) or the first routing
    error; the watermark is then left where it was.
    """
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
        result = await take_alerts(
            _jsonable(row), source="poller", deps=deps, quarantine=quarantine, max_bytes=max_bytes, now=now
        )
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
        _log.warning("security alert watermark moved under us; leaving it to the other poller")
    _log.info(
        "polled SecurityAlert [%s, %s): %d rows, %d taken, %d already handled",
        since.isoformat(),
        now.isoformat(),
        report.rows,
        report.taken,
        report.already_handled,
    )
    return report
