"""Defender for AI alert intake: Event Grid, Event Hub (continuous export) and the SecurityAlert poller.

Glue only: each trigger binds its payload and calls one use case of ``shared.usecases.alerts``
(whose docstring has the rules: quarantine, dedupe, correlation, retries).

- ``on_defender_alert_event``: Event Grid custom topic fed by Defender workflow automation;
- ``on_defender_alert_hub``: Event Hub continuous export (registered only when
  ``WARDEN_EVENTHUB_NAME`` is set; see ``handlers/__init__.py``);
- ``poll_security_alerts``: every 5 minutes, the ``SecurityAlert`` table through Log Analytics.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.bootstrap import container
from shared.usecases.alerts import EVENTHUB_RETRIES, UndecodableEvent, take_alert_batch, take_alert_event
from shared.usecases.alerts import poll_security_alerts as poll

bp = df.Blueprint()
eventhub_bp = df.Blueprint()


def _event_data(event: func.EventGridEvent) -> Any:
    """The event's ``data`` as decoded JSON (the Logic App forwards the alert object)."""
    try:
        return event.get_json()
    except ValueError as exc:
        return UndecodableEvent(event_id=str(event.id), raw=repr(event).encode("utf-8"), error=str(exc))


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_defender_alert_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Take one Defender alert from the Event Grid custom topic."""
    await take_alert_event(_event_data(event), container().alert_deps(client), now=datetime.now(UTC))


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
    last_try = context.retry_context is not None and context.retry_context.retry_count >= EVENTHUB_RETRIES
    await take_alert_batch(
        [event.get_body() for event in events],
        container().alert_deps(client),
        now=datetime.now(UTC),
        last_try=last_try,
    )


@bp.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def poll_security_alerts(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Poll Defender for AI alerts exported to Log Analytics (needs Log Analytics Reader)."""
    await poll(container().alert_deps(client), now=datetime.now(UTC), past_due=timer.past_due)
