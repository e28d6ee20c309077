"""Usage anomalies, the model allowlist and posture: what the two timers and the ARM
resource-event trigger ask.

- ``detect_anomalies`` (timer ``anomaly_detectors``, ``WARDEN_ANOMALY_SCHEDULE``, every 15
  minutes by default): runs every enabled KQL detector once and ingests the findings. One timer
  for all detectors rather than one per detector: they share one cadence and one ``now`` (their
  windows are aligned to their own bins, and each run re-examines the last few buckets, so the
  cadence only bounds detection latency), a failing detector is isolated inside the run and
  reported, and the Log Analytics budget (six queries per run, against 200 per 30 s) does not
  call for spreading them out.
- ``sweep_estate`` (timer ``posture_sweep``, ``WARDEN_POSTURE_SCHEDULE``, daily by default):
  inventory, model allowlist and posture (``shared.usecases.estate_sweep``), ARM-heavy and
  slow-changing, hence its own schedule. Posture findings are gated by ``WARDEN_POSTURE_INGEST``.
- ``take_resource_event`` (Event Grid, subscription system topic): ``ResourceWriteSuccess`` of a
  deployment -> read it back -> ``model:unapproved_deployment`` when off the allowlist;
  ``ResourceActionSuccess`` listKeys/regenerateKey by anyone but Warden ->
  ``anomaly:key_operation_by_other``. Malformed events are quarantined and acknowledged (never
  retried); an operational failure raises so Event Grid redelivers (intake dedupes).

Every finding goes through ``shared.usecases.intake.ingest``, the same incident orchestration as
Defender alerts.

``run_detectors`` runs each enabled detector's named query once (one Log Analytics query per
detector per run) and turns the rows into findings; a failing query or a bad row never stops
the other detectors, it is reported. ``ingest_findings`` sends findings to
``shared.intake.ingest`` (the same incident orchestration as Defender alerts); duplicates of a
bucket already ingested by an earlier run come back ``duplicate``.

Partial Log Analytics results are not used: a baseline computed from part of the rows could
raise spikes that are not there, so the detector is reported as failed for that run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from shared.anomalies.allowlist import unapproved_deployment_finding
from shared.anomalies.detectors import DETECTORS, Detector, RowProblemError
from shared.anomalies.events import classify_resource_event
from shared.finding import Finding
from shared.kql import KqlError
from shared.policy.schema import Policy
from shared.ports.cognitive import CognitiveNotFoundError, CognitivePort
from shared.ports.inventory import InventoryPort
from shared.ports.logs import LogQueryError, LogsPort, PartialLogQueryError
from shared.ports.posture import PosturePort
from shared.ports.stores import QuarantineStore
from shared.usecases.estate_sweep import run_sweep, select_for_ingest
from shared.usecases.intake import IngestResult, IntakeDeps, ingest

__all__ = [
    "AnomalyDeps",
    "DetectionReport",
    "IngestReport",
    "detect_anomalies",
    "ingest_findings",
    "run_detectors",
    "sweep_estate",
    "take_resource_event",
]

_log = logging.getLogger("warden.anomalies")

QUARANTINE_SOURCE = "resource_event"


@dataclass(frozen=True, slots=True)
class AnomalyDeps:
    """What the detectors, the sweep and the resource-event trigger need
    (``shared.bootstrap.Container.anomaly_deps``)."""

    intake: IntakeDeps
    quarantine: QuarantineStore
    policy: Policy
    cognitive: CognitivePort
    inventory: InventoryPort
    posture: PosturePort
    logs: LogsPort | None
    """``None`` when no Log Analytics workspace is configured."""
    subscriptions: tuple[str, ...]
    warden_principal_id: str | None
    max_bytes: int
    posture_ingest: Literal["matched", "all", "none"] = "matched"


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


# --------------------------------------------------------------------------------------------
# the three triggers
# --------------------------------------------------------------------------------------------
async def detect_anomalies(deps: AnomalyDeps, *, now: datetime, past_due: bool = False) -> dict[str, Any]:
    """Run the detectors at ``now`` and ingest what they find; returns a summary.

    Requires Log Analytics Reader on the workspace (``WARDEN_LOG_ANALYTICS_WORKSPACE_ID``).
    """
    if past_due:
        _log.info("anomaly_detectors is past due; each run re-examines the last buckets")
    if deps.logs is None:
        _log.info("WARDEN_LOG_ANALYTICS_WORKSPACE_ID is not set; the anomaly detectors are off")
        return {"skipped": "no workspace"}
    report = await asyncio.to_thread(
        run_detectors, deps.logs, deps.policy, now=now, warden_principal_id=deps.warden_principal_id
    )
    for problem in report.problems:
        _log.warning("anomaly detectors: %s", problem)
    ingested = await ingest_findings(report.findings, deps.intake, now=now)
    summary = {
        "findings": report.kinds(),
        "ran": report.ran,
        "skipped": report.skipped,
        "errors": report.errors,
        "queries": report.queries,
        "ingest": ingested.statuses(),
        "ingest_errors": len(ingested.errors),
    }
    _log.info("anomaly detectors: %s", json.dumps(summary, sort_keys=True))
    return summary


async def sweep_estate(deps: AnomalyDeps, *, now: datetime) -> dict[str, Any]:
    """Sweep the estate (allowlist + posture) and ingest the findings the gate lets through.

    Requires Reader on the subscriptions (Resource Graph, deployments, diagnostic settings,
    Defender pricings) and Log Analytics Reader on the workspace when one is configured.
    """
    report = await asyncio.to_thread(
        run_sweep,
        inventory=deps.inventory,
        cognitive=deps.cognitive,
        posture=deps.posture,
        logs=deps.logs,
        policy=deps.policy,
        subscriptions=deps.subscriptions,
        now=now,
    )
    for problem in report.problems:
        _log.warning("posture sweep: %s", problem)
    chosen, held = select_for_ingest(deps.policy, report.findings, report.tags, deps.posture_ingest)
    ingested = await ingest_findings(chosen, deps.intake, now=now)
    summary = {
        "accounts": report.accounts,
        "findings": report.kinds(),
        "held_back": len(held),
        "calls": dict(report.calls),
        "problems": len(report.problems),
        "ingest": ingested.statuses(),
        "ingest_errors": len(ingested.errors),
    }
    _log.info("posture sweep: %s", json.dumps(summary, sort_keys=True))
    return summary


async def take_resource_event(raw: Any, deps: AnomalyDeps, *, now: datetime) -> str:
    """Classify one resource event and act; returns what was done (``quarantine``, ``ignore``,
    ``opened`` / ``joined`` / ``duplicate``, ``allowed``, ``gone``).

    Raises when reading the deployment or routing the finding fails (Event Grid retries).
    Requires ``Microsoft.CognitiveServices/accounts/deployments/read`` for deployment writes.
    """
    policy = deps.policy
    detector = policy.anomalies.key_operation_by_other
    decision = classify_resource_event(
        raw,
        warden_principal_id=deps.warden_principal_id,
        key_operation_severity=detector.severity,
        detect_key_operations=detector.enabled,
        max_bytes=deps.max_bytes,
    )
    event_id = decision.event.id if decision.event else str(raw.get("id") if isinstance(raw, dict) else "")[:100]
    if decision.action == "quarantine":
        record = deps.quarantine.put(
            source=QUARANTINE_SOURCE,
            reason_code=decision.reason_code,
            message=decision.reason,
            raw=json.dumps(raw, default=str).encode("utf-8"),
            received_at=now,
        )
        _log.warning("quarantined resource event %s as %s: %s", event_id, record.id, decision.reason)
        return "quarantine"
    if decision.action == "ignore":
        _log.info("ignored resource event %s (%s): %s", event_id, decision.reason_code, decision.reason)
        return "ignore"
    finding = decision.finding
    if decision.action == "check_deployment" and decision.deployment is not None:
        if not policy.models.allowlist:
            return "allowed"
        try:
            deployment = await asyncio.to_thread(deps.cognitive.get_deployment, decision.deployment)
        except CognitiveNotFoundError:
            _log.info("deployment %s no longer exists; nothing to check", decision.deployment)
            return "gone"
        finding = unapproved_deployment_finding(policy, deployment, now=now, seen_by="event")
        if finding is None:
            return "allowed"
    if finding is None:  # pragma: no cover - every "finding" decision carries one
        return "ignore"
    result = await ingest(finding, deps.intake, now=now)
    _log.info("resource event %s: %s %s", event_id, finding.kind, result.status.value)
    return result.status.value
