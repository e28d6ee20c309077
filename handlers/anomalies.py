"""Usage anomalies, model allowlist and posture: two timers and the ARM resource-event trigger.

Glue only: each trigger calls one use case of ``shared.usecases.anomalies`` (whose docstring has
the rules and the schedules' reasons).

- ``anomaly_detectors`` (timer, ``WARDEN_ANOMALY_SCHEDULE``): the KQL detectors;
- ``posture_sweep`` (timer, ``WARDEN_POSTURE_SCHEDULE``): the allowlist and posture sweep;
- ``on_resource_event`` (Event Grid, subscription system topic): deployment writes and key
  operations by anyone but Warden.
"""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from handlers.bindings import event_to_dict
from shared.bootstrap import container
from shared.settings import get_settings
from shared.usecases.anomalies import detect_anomalies, sweep_estate, take_resource_event

bp = df.Blueprint()


@bp.timer_trigger(schedule=get_settings().anomaly_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def anomaly_detectors(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The usage anomaly detectors (``WARDEN_ANOMALY_SCHEDULE``)."""
    await detect_anomalies(container().anomaly_deps(client), now=datetime.now(UTC), past_due=timer.past_due)


@bp.timer_trigger(schedule=get_settings().posture_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def posture_sweep(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The model allowlist and posture sweep (``WARDEN_POSTURE_SCHEDULE``)."""
    await sweep_estate(container().anomaly_deps(client), now=datetime.now(UTC))


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_resource_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Cognitive Services ARM events from the subscription topic."""
    await take_resource_event(event_to_dict(event), container().anomaly_deps(client), now=datetime.now(UTC))


__all__ = ["bp"]
