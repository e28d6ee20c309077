"""Defender for AI alert intake: Event Grid, Event Hub (continuous export) and the SecurityAlert poller.

Each trigger hands its payload to ``shared.alert_intake.take_alerts`` (normalize, quarantine,
dedupe, correlate, start or join an incident) and holds no rules of its own:

- ``on_defender_alert_event``: Event Grid custom topic fed by Defender workflow automation (a
  Logic App publishes each alert as an event whose ``data`` is the alert). Event Grid and
  CloudEvents schemas. Bad alerts are quarantined and acknowledged (Event Grid must not retry
  them); an operational failure raises, so Event Grid redelivers and the routed alerts dedupe.
- ``on_defender_alert_hub``: Event Hub continuous export (registered only when
  ``WARDEN_EVENTHUB_NAME`` is set; see ``handlers/__init__.py``). One bad message never
  fails the batch; on the last retry, messages that still cannot be routed are quarantined
  with reason ``routing_failed`` so nothing is lost when the checkpoint moves on.
- ``poll_security_alerts``: every 5 minutes, the ``SecurityAlert`` table through Log Analytics
  with a watermark and an overlap window (``shared.alert_poller``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from handlers.incidents import intake_deps
from shared.alert_intake import take_alerts
from shared.alert_poller import poll_security_alerts as poll
from shared.azure.logs import AzureLogs
from shared.bootstrap import container

bp = df.Blueprint()
eventhub_bp = df.Blueprint()

_log = logging.getLogger("warden.alerts")

EVENTHUB_RETRIES = 5


def _event_data(event: func.EventGridEvent | func.CloudEvent) -> Any:
    """The event's ``data`` as decoded JSON (the Logic App forwards the alert object)."""
    return event.get_json()


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_defender_alert_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Take one Defender alert from the Event Grid custom topic."""
    c = container()
    try:
        data = _event_data(event)
    except ValueError as exc:
        c.quarantine.put(
            source="eventgrid",
            reason_code="invalid_json",
            message=f"event {event.id}: data is not JSON ({exc})",
            raw=repr(event).encode("utf-8"),
            received_at=datetime.now(UTC),
        )
        return
    await take_alerts(
        data if data is not None else b"",
        source="eventgrid",
        deps=intake_deps(client),
        quarantine=c.quarantine,
        max_bytes=c.settings.max_event_bytes,
        now=datetime.now(UTC),
    )


@eventhub_bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%WARDEN_EVENTHUB_NAME%",
    connection="WARDEN_EVENTHUB",
    consumer_group="%WARDEN_EVENTHUB_CONSUMER_GROUP%",
    cardinality="many",
)
@eventhub_bp.retry(
    strategy="exponential_backoff",
    max_retry_count=str(EVENTHUB_RETRIES),
    minimum_interval="00:00:05",
    maximum_interval="00:05:00",
)
@eventhub_bp.durable_client_input(client_name="client")
async def on_defender_alert_hub(
    events: list[func.EventHubEvent], client: df.DurableOrchestrationClient, context: func.Context
) -> None:
    """Take a batch of continuous-export messages (each one alert or an array of alerts)."""
    c = container()
    deps = intake_deps(client)
    now = datetime.now(UTC)
    last_try = context.retry_context is not None and context.retry_context.retry_count >= EVENTHUB_RETRIES
    failures: list[tuple[bytes, Exception]] = []
    for event in events:
        body = event.get_body()
        try:
            await take_alerts(
                body,
                source="eventhub",
                deps=deps,
                quarantine=c.quarantine,
                max_bytes=c.settings.max_event_bytes,
                now=now,
            )
        except Exception as exc:
            failures.append((body, exc))
    if not failures:
        return
    if last_try:
        for body, error in failures:
            c.quarantine.put(
                source="eventhub",
                reason_code="routing_failed",
                message=f"routing failed after {EVENTHUB_RETRIES} retries: {type(error).__name__}: {error}",
                raw=body,
                received_at=now,
            )
        return
    raise failures[0][1]


@bp.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def poll_security_alerts(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Poll Defender for AI alerts exported to Log Analytics (needs Log Analytics Reader)."""
    c = container()
    if not c.settings.log_analytics_workspace_id:
        _log.info("WARDEN_LOG_ANALYTICS_WORKSPACE_ID is not set; SecurityAlert polling is off")
        return
    if timer.past_due:
        _log.info("SecurityAlert poll is past due; the watermark covers the gap")
    report = await poll(
        logs=AzureLogs(c.clients),
        watermarks=c.watermarks,
        deps=intake_deps(client),
        quarantine=c.quarantine,
        now=datetime.now(UTC),
        max_bytes=c.settings.max_event_bytes,
        overlap=timedelta(minutes=c.settings.alert_poll_overlap_minutes),
    )
    _log.info("SecurityAlert poll: %s", json.dumps({"rows": report.rows, "taken": report.taken}))
