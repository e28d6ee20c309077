"""Usage anomalies, model allowlist and posture: two timers and the ARM resource-event trigger.

- ``anomaly_detectors`` (timer, ``WARDEN_ANOMALY_SCHEDULE``, every 15 minutes by default): runs
  every enabled KQL detector once (``shared.anomalies.run_detectors``: one Log Analytics query
  each) and ingests the findings. One timer for all detectors rather than one per detector:
  they share one cadence and one ``now`` (their windows are aligned to their own bins, and each
  run re-examines the last few buckets, so the cadence only bounds detection latency), a
  failing detector is isolated inside the run and reported, and the Log Analytics budget (six
  queries per run, against 200 per 30 s) does not call for spreading them out.
- ``posture_sweep`` (timer, ``WARDEN_POSTURE_SCHEDULE``, daily by default): inventory, model
  allowlist and posture (``shared.anomalies.run_sweep``), ARM-heavy and slow-changing, hence
  its own schedule. Posture findings are gated by ``WARDEN_POSTURE_INGEST``.
- ``on_resource_event`` (Event Grid, subscription system topic): ``ResourceWriteSuccess`` of a
  deployment -> read it back -> ``model:unapproved_deployment`` when off the allowlist;
  ``ResourceActionSuccess`` listKeys/regenerateKey by anyone but Warden ->
  ``anomaly:key_operation_by_other``. Malformed events are quarantined and acknowledged (never
  retried); an operational failure raises so Event Grid redelivers (intake dedupes).

Every finding goes through ``shared.intake.ingest`` (``handlers.incidents.intake_deps``), the
same incident orchestration as Defender alerts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from handlers.incidents import intake_deps
from handlers.keys import event_to_dict
from shared.anomalies.allowlist import unapproved_deployment_finding
from shared.anomalies.events import classify_resource_event
from shared.anomalies.runner import ingest_findings, run_detectors
from shared.anomalies.sweep import run_sweep, select_for_ingest
from shared.azure.cognitive import AzureCognitive
from shared.azure.inventory import AzureInventory
from shared.azure.logs import AzureLogs
from shared.azure.posture import AzurePosture
from shared.bootstrap import container
from shared.intake import IntakeDeps, ingest
from shared.ports.cognitive import CognitiveNotFoundError
from shared.settings import get_settings

bp = df.Blueprint()

_log = logging.getLogger("warden.anomalies")

QUARANTINE_SOURCE = "resource_event"


# --------------------------------------------------------------------------------------------
# the detectors
# --------------------------------------------------------------------------------------------
async def detect_and_ingest(deps: IntakeDeps, *, now: datetime) -> dict[str, Any]:
    """Run the detectors at ``now`` and ingest what they find; returns a summary.

    Requires Log Analytics Reader on the workspace (``WARDEN_LOG_ANALYTICS_WORKSPACE_ID``).
    """
    c = container()
    if not c.settings.log_analytics_workspace_id:
        _log.info("WARDEN_LOG_ANALYTICS_WORKSPACE_ID is not set; the anomaly detectors are off")
        return {"skipped": "no workspace"}
    policy = c.policy
    report = await asyncio.to_thread(
        run_detectors,
        AzureLogs(c.clients),
        policy,
        now=now,
        warden_principal_id=c.settings.identity_principal_id,
    )
    for problem in report.problems:
        _log.warning("anomaly detectors: %s", problem)
    ingested = await ingest_findings(report.findings, deps, now=now)
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


@bp.timer_trigger(schedule=get_settings().anomaly_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def anomaly_detectors(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The usage anomaly detectors (``WARDEN_ANOMALY_SCHEDULE``)."""
    if timer.past_due:
        _log.info("anomaly_detectors is past due; each run re-examines the last buckets")
    await detect_and_ingest(intake_deps(client), now=datetime.now(UTC))


# --------------------------------------------------------------------------------------------
# the estate sweep
# --------------------------------------------------------------------------------------------
async def sweep_and_ingest(deps: IntakeDeps, *, now: datetime) -> dict[str, Any]:
    """Sweep the estate (allowlist + posture) and ingest the findings the gate lets through.

    Requires Reader on the subscriptions (Resource Graph, deployments, diagnostic settings,
    Defender pricings) and Log Analytics Reader on the workspace when one is configured.
    """
    c = container()
    settings = c.settings
    policy = c.policy
    report = await asyncio.to_thread(
        run_sweep,
        inventory=AzureInventory(c.clients),
        cognitive=AzureCognitive(c.clients),
        posture=AzurePosture(c.clients),
        logs=AzureLogs(c.clients) if settings.log_analytics_workspace_id else None,
        policy=policy,
        subscriptions=settings.subscription_ids,
        now=now,
    )
    for problem in report.problems:
        _log.warning("posture sweep: %s", problem)
    chosen, held = select_for_ingest(policy, report.findings, report.tags, settings.posture_ingest)
    ingested = await ingest_findings(chosen, deps, now=now)
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


@bp.timer_trigger(schedule=get_settings().posture_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def posture_sweep(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The model allowlist and posture sweep (``WARDEN_POSTURE_SCHEDULE``)."""
    await sweep_and_ingest(intake_deps(client), now=datetime.now(UTC))


# --------------------------------------------------------------------------------------------
# ARM resource events
# --------------------------------------------------------------------------------------------
async def process_resource_event(raw: Any, deps: IntakeDeps, *, now: datetime) -> str:
    """Classify one resource event and act; returns what was done (``quarantine``, ``ignore``,
    ``opened`` / ``joined`` / ``duplicate``, ``allowed``, ``gone``).

    Raises when reading the deployment or routing the finding fails (Event Grid retries).
    Requires ``Microsoft.CognitiveServices/accounts/deployments/read`` for deployment writes.
    """
    c = container()
    policy = c.policy
    detector = policy.anomalies.key_operation_by_other
    decision = classify_resource_event(
        raw,
        warden_principal_id=c.settings.identity_principal_id,
        key_operation_severity=detector.severity,
        detect_key_operations=detector.enabled,
        max_bytes=c.settings.max_event_bytes,
    )
    event_id = decision.event.id if decision.event else str(raw.get("id") if isinstance(raw, dict) else "")[:100]
    if decision.action == "quarantine":
        record = c.quarantine.put(
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
            deployment = await asyncio.to_thread(AzureCognitive(c.clients).get_deployment, decision.deployment)
        except CognitiveNotFoundError:
            _log.info("deployment %s no longer exists; nothing to check", decision.deployment)
            return "gone"
        finding = unapproved_deployment_finding(policy, deployment, now=now, seen_by="event")
        if finding is None:
            return "allowed"
    if finding is None:  # pragma: no cover - every "finding" decision carries one
        return "ignore"
    result = await ingest(finding, deps, now=now)
    _log.info("resource event %s: %s %s", event_id, finding.kind, result.status.value)
    return result.status.value


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_resource_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Cognitive Services ARM events from the subscription topic (see the module docstring)."""
    await process_resource_event(event_to_dict(event), intake_deps(client), now=datetime.now(UTC))


__all__ = ["bp", "detect_and_ingest", "process_resource_event", "sweep_and_ingest"]
