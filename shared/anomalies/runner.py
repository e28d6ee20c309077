"""Run the anomaly detectors through ``LogsPort`` and route their findings through intake.

``run_detectors`` runs each enabled detector's named query once (one Log Analytics query per
detector per run) and turns the rows into findings; a failing query or a bad row never stops
the other detectors, it is reported. ``ingest_findings`` sends findings to
``shared.intake.ingest`` (the same incident orchestration as Defender alerts); duplicates of a
bucket already ingested by an earlier run come back ``duplicate``.

Partial Log Analytics results are not used: a baseline computed from part of the rows could
raise spikes that are not there, so the detector is reported as failed for that run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.anomalies.detectors import DETECTORS, Detector, RowProblemError
from shared.intake import IngestResult, IntakeDeps, ingest
from shared.kql import KqlError
from shared.models import Finding
from shared.policy.schema import Policy
from shared.ports.logs import LogQueryError, LogsPort, PartialLogQueryError

__all__ = ["DetectionReport", "IngestReport", "ingest_findings", "run_detectors"]

_log = logging.getLogger("warden.anomalies")


@dataclass
class DetectionReport:
    """What one run of the detectors found, and what went wrong."""

    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    queries: int = 0

    def kinds(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))


def run_detectors(
    logs: LogsPort,
    policy: Policy,
    *,
    now: datetime,
    warden_principal_id: str | None,
    only: Iterable[str] | None = None,
) -> DetectionReport:
    """Run every enabled detector (or those named in ``only``) at ``now``.

    The key-operation detector needs ``warden_principal_id``; without it, it is skipped (every
    key operation, Warden's own rotations included, would look out of band).
    """
    wanted = set(only) if only is not None else None
    report = DetectionReport()
    for detector in DETECTORS:
        config = detector.settings(policy.anomalies)
        if (wanted is not None and detector.name not in wanted) or not config.enabled:
            report.skipped.append(detector.name)
            continue
        if detector.name == "key_operation_by_other" and not warden_principal_id:
            report.skipped.append(detector.name)
            _log.info("key_operation_by_other skipped: WARDEN_IDENTITY_PRINCIPAL_ID is not set")
            continue
        _run_one(logs, detector, config, now, warden_principal_id, report)
    return report


def _run_one(  # noqa: PLR0917 - private helper
    logs: LogsPort,
    detector: Detector,
    config: object,
    now: datetime,
    warden: str | None,
    report: DetectionReport,
) -> None:
    run = detector.build(config, now)
    run = replace(run, context={"warden": (warden or "").lower()})
    report.queries += 1
    try:
        rows = logs.run(detector.query, timespan=run.timespan, **run.params)
    except PartialLogQueryError as exc:
        report.errors[detector.name] = f"partial result ignored: {exc}"
        _log.warning("detector %s: %s", detector.name, report.errors[detector.name])
        return
    except (LogQueryError, KqlError) as exc:
        report.errors[detector.name] = str(exc)
        _log.warning("detector %s failed: %s", detector.name, exc)
        return
    report.ran.append(detector.name)
    for index, row in enumerate(rows):
        try:
            finding = detector.parse(row, config, run)
        except (RowProblemError, ValueError) as exc:
            report.problems.append(f"{detector.query} row {index}: {exc}")
            continue
        if finding is not None:
            report.findings.append(finding)


@dataclass
class IngestReport:
    """What intake did with each finding."""

    results: list[IngestResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def statuses(self) -> dict[str, int]:
        return dict(Counter(r.status.value for r in self.results))


async def ingest_findings(findings: Sequence[Finding], deps: IntakeDeps, *, now: datetime) -> IngestReport:
    """Ingest each finding; an operational failure is recorded and the rest still go in.

    Raises nothing for one failed finding (the next timer run retries it: its dedupe key was
    released by ``ingest``); the caller logs ``errors``.
    """
    report = IngestReport()
    for finding in findings:
        try:
            report.results.append(await ingest(finding, deps, now=now))
        except Exception as exc:
            report.errors.append(f"{finding.dedupe_key}: {type(exc).__name__}: {exc}")
            _log.exception("ingesting %s failed", finding.dedupe_key)
    return report
