"""Key hygiene and rotation glue: Event Grid trigger, timer scan, rotation orchestrators, activities.

Glue only: every function binds, validates the contract's model (``shared.contracts.rotation``)
and calls one use case.

- ``on_key_vault_event`` (Event Grid, both schemas) and ``key_age_scan`` (timer,
  ``WARDEN_KEY_SCAN_SCHEDULE``): ``shared.usecases.key_hygiene`` (start scheduled rotations);
- ``keys_rotate_scheduled`` / ``keys_rotate_emergency``: orchestrators
  (``shared.orchestrations.rotation``); the emergency one is meant to be called as a
  sub-orchestration;
- ``keys_*`` activities: ``shared.usecases.key_rotation``; none returns a key value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from handlers.bindings import event_to_dict, retry_options
from shared.bootstrap import container
from shared.contracts import rotation as contract
from shared.observability import log_context
from shared.orchestrations.rotation import emergency_rotation, scheduled_rotation
from shared.settings import get_settings
from shared.usecases.key_hygiene import scan_keys_and_rotate, take_key_vault_event
from shared.usecases.key_rotation import (
    apply_key_step,
    emergency_policy,
    locate_secret,
    read_rotation_state,
    record_rotation,
)

bp = df.Blueprint()

_RETRY = retry_options(contract.KEY_STEP_RETRY)


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_key_vault_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Key Vault ``SecretNearExpiry`` / ``SecretExpired`` -> scheduled rotation."""
    await take_key_vault_event(event_to_dict(event), container().key_hygiene_deps(client), now=datetime.now(UTC))


@bp.timer_trigger(schedule=get_settings().key_scan_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def key_age_scan(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The daily key-age scan (``WARDEN_KEY_SCAN_SCHEDULE``)."""
    await scan_keys_and_rotate(container().key_hygiene_deps(client), past_due=timer.past_due)


@bp.orchestration_trigger(context_name="context", orchestration=contract.SCHEDULED_ORCHESTRATOR)
def keys_rotate_scheduled(context: df.DurableOrchestrationContext) -> Any:
    """Zero-downtime scheduled rotation."""
    return (yield from scheduled_rotation(context, retry=_RETRY))


@bp.orchestration_trigger(context_name="context", orchestration=contract.EMERGENCY_ORCHESTRATOR)
def keys_rotate_emergency(context: df.DurableOrchestrationContext) -> Any:
    """Emergency rotation of leaked keys."""
    return (yield from emergency_rotation(context, retry=_RETRY))


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_READ_STATE)
def keys_read_rotation_state(payload: dict[str, Any]) -> dict[str, Any]:
    """The secret's current version and tags. Requires Key Vault secrets/get."""
    request = contract.ReadStateRequest.model_validate(payload)
    c = container()
    state = read_rotation_state(
        c.keys_ports,
        request.vault_url,
        request.secret_name,
        default_validity_days=request.validity_days or c.keys.policy.validity_days,
    )
    return state.model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_LOCATE_SECRET)
def keys_locate_secret(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The account's dual-credential secret. Requires secrets/get and secrets/list."""
    c = container()
    state = locate_secret(c.keys_ports, c.keys, contract.EmergencyRotationRequest.model_validate(payload))
    return state.model_dump(mode="json") if state is not None else None


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_APPLY_STEP)
def keys_apply_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Regenerate / prove / store one key, once per (rotation, step).

    Requires accounts/read, listKeys/action, regenerateKey/action, secrets/get, secrets/set.
    """
    request = contract.KeyStepRequest.model_validate(payload)
    c = container()
    with log_context(incident_id=request.rotation_id, resource_id=str(request.account_id)):
        outcome = apply_key_step(
            c.keys_ports, request, probe_attempts=c.keys.probe_attempts, probe_delay=c.keys.probe_delay
        )
    return outcome.model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_EMERGENCY_POLICY)
def keys_emergency_policy(payload: dict[str, Any]) -> dict[str, Any]:
    """The approval and exposure policy for an emergency rotation (request overrides policy)."""
    request = contract.EmergencyRotationRequest.model_validate(payload)
    return emergency_policy(container().keys, request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=contract.ACTIVITY_RECORD)
def keys_record_rotation(payload: dict[str, Any]) -> dict[str, Any]:
    """Append the rotation's outcome to the audit trail, once. Needs Table Storage."""
    return record_rotation(container().keys_ports, contract.RotationResult.model_validate(payload))


__all__ = ["bp"]
