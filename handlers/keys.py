"""Key hygiene and rotation glue: Event Grid trigger, timer scan, rotation orchestrators, activities.

- ``on_key_vault_event`` (Event Grid, both schemas): ``SecretNearExpiry`` / ``SecretExpired`` for a
  dual-credential secret starts ``keys_rotate_scheduled`` with instance id
  ``rotation_instance_id(account, version)``; other events are ignored with a logged reason;
  malformed ones are quarantined (and acknowledged, so Event Grid does not retry them).
- ``key_age_scan`` (timer, ``WARDEN_KEY_SCAN_SCHEDULE``, daily by default): the estate-wide key
  scan; starts scheduled rotations for keys past max age when policy says so.
- ``keys_rotate_scheduled`` / ``keys_rotate_emergency``: orchestrators (bodies in
  ``shared.keys.orchestration``); the emergency one is meant to be called as a sub-orchestration.
- ``keys_*`` activities: thin wrappers over ``shared.keys.service``; none returns a key value.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared.audit.chain import AuditEvent
from shared.bootstrap import container
from shared.keys.config import keys_config
from shared.keys.orchestration import (
    ORCHESTRATOR_EMERGENCY,
    ORCHESTRATOR_SCHEDULED,
    emergency_rotation,
    scheduled_rotation,
)
from shared.keys.rotation import EmergencyRotationRequest, RotationResult, RotationState, StepRequest
from shared.keys.service import (
    IDEMPOTENCY_LEASE_SECONDS,
    apply_key_step,
    classify_key_vault_event,
    locate_account_secret,
    read_rotation_state,
    rotation_request_for,
    run_key_scan,
)
from shared.observability import log_context
from shared.settings import get_settings

bp = df.Blueprint()

_log = logging.getLogger("warden.keys")
_audit = logging.getLogger("warden.audit.keys")

QUARANTINE_SOURCE = "key_vault_event"
# Retries must outlast an activity's idempotency lease: if the host dies inside keys_apply_step,
# its claim blocks every retry until the lease (IDEMPOTENCY_LEASE_SECONDS, 90 s) expires, and a
# shorter retry window would lose the rotation (found by the reliability suite for emergency
# rotations). The lease is short because a live step renews it (shared.keys.service._Lease) and
# checks it is still its own just before writing Key Vault: a dead step's claim frees the key
# within 90 s. Before regenerating, a step records the SHA-256 of the key it replaces (never a
# value), so a retry that finds another key on the account proves and stores it instead of
# regenerating again, even when the dead host never saw Azure's answer: once per step.
# As for incident steps (handlers.incidents): the lease's worth of attempts, plus TRANSIENT_ATTEMPTS.
RETRY_INTERVAL_S = 15
TRANSIENT_ATTEMPTS = 8
_RETRY = df.RetryOptions(
    first_retry_interval_in_milliseconds=RETRY_INTERVAL_S * 1000,
    max_number_of_attempts=IDEMPOTENCY_LEASE_SECONDS // RETRY_INTERVAL_S + TRANSIENT_ATTEMPTS + 1,
)
_LIVE_STATES = {"Running", "Pending", "Completed", "ContinuedAsNew"}


# --------------------------------------------------------------------------------------------
# starting orchestrations once
# --------------------------------------------------------------------------------------------
async def start_once(client: Any, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> bool:
    """Start ``orchestrator`` as ``instance_id`` unless that instance exists and is not failed.

    Returns ``True`` when started. A running or completed instance means this rotation is
    already under way or done (a redelivered event, or the scan and an event for the same
    version): a logged no-op. Failed / terminated instances are restarted.
    """
    try:
        status = await client.get_status(instance_id)
    except Exception:  # the 1.x SDK raises on some not-found bodies; treat as absent. Safe: the
        # extension refuses start_new for a Pending/Running id (NonRunningStates default).
        status = None
    runtime = getattr(getattr(status, "runtime_status", None), "value", getattr(status, "runtime_status", None))
    if runtime in _LIVE_STATES:
        _audit.info("%s %s is already %s; not started again", orchestrator, instance_id, runtime)
        return False
    await client.start_new(orchestrator, instance_id, payload)
    _audit.info("started %s %s", orchestrator, instance_id)
    return True


# --------------------------------------------------------------------------------------------
# Event Grid: Key Vault events
# --------------------------------------------------------------------------------------------
def event_to_dict(event: Any) -> dict[str, Any]:
    """A ``func.EventGridEvent`` or ``func.CloudEvent`` back to its wire shape."""
    try:
        data = event.get_json()
    except Exception:
        data = None
    when = getattr(event, "time", None) if hasattr(event, "specversion") else getattr(event, "event_time", None)
    time_text = when.isoformat() if isinstance(when, datetime) else when
    if hasattr(event, "specversion"):
        return {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "time": time_text,
            "subject": event.subject,
            "data": data,
        }
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": time_text,
        "dataVersion": event.data_version,
        "data": data,
    }


async def process_key_vault_event(raw: dict[str, Any], client: Any) -> str:
    """Classify one event and act: quarantine, ignore, or start a rotation. Returns the action."""
    ports = container().keys_ports
    config = keys_config()
    body = json.dumps(raw, default=str).encode("utf-8")
    limit = container().settings.max_event_bytes
    if len(body) > limit:
        ports.quarantine.put(
            source=QUARANTINE_SOURCE,
            reason_code="oversized_event",
            message=f"event of {len(body)} bytes exceeds WARDEN_MAX_EVENT_BYTES={limit}",
            raw=body,
            received_at=datetime.now(UTC),
        )
        _log.warning("quarantined an oversized Key Vault event (%d bytes)", len(body))
        return "quarantine"
    decision = await asyncio.to_thread(
        classify_key_vault_event, ports, raw, policy=config.policy, vaults=config.vault_urls
    )
    event_id = decision.envelope.id if decision.envelope else str(raw.get("id"))[:100]
    if decision.action == "quarantine":
        record = ports.quarantine.put(
            source=QUARANTINE_SOURCE,
            reason_code=decision.reason_code,
            message=decision.reason,
            raw=body,
            received_at=datetime.now(UTC),
        )
        _log.warning("quarantined Key Vault event %s as %s: %s", event_id, record.id, decision.reason)
        return "quarantine"
    if decision.action == "ignore" or decision.request is None:
        _log.info("ignored Key Vault event %s (%s): %s", event_id, decision.reason_code, decision.reason)
        if decision.reason_code == "already_rotated":
            _audit.info("no-op for Key Vault event %s: %s", event_id, decision.reason)
        return "ignore"
    request = decision.request
    with log_context(resource_id=str(request.account_id)):
        started = await start_once(client, ORCHESTRATOR_SCHEDULED, request.instance_id, request.model_dump(mode="json"))
    return "start" if started else "duplicate"


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_key_vault_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Key Vault ``SecretNearExpiry`` / ``SecretExpired`` -> scheduled rotation (see module doc)."""
    await process_key_vault_event(event_to_dict(event), client)


# --------------------------------------------------------------------------------------------
# Timer: the estate-wide key scan
# --------------------------------------------------------------------------------------------
async def run_scan_and_rotate(client: Any) -> dict[str, Any]:
    """Run the key scan, log its findings, and start rotations for keys past max age."""
    settings = container().settings
    config = keys_config()
    ports = container().keys_ports
    result = await asyncio.to_thread(
        run_key_scan,
        ports,
        subscriptions=settings.subscription_ids,
        vaults=config.vault_urls,
        window=config.activity_window,
        policy=config.policy,
        warden_principal_id=settings.identity_principal_id,
    )
    for problem in result.problems:
        _log.warning("key scan: %s", problem)
    for finding in result.findings:
        _log.info(
            "key finding %s on %s (%s)",
            finding.kind,
            finding.resource,
            finding.severity.value,
            extra={"warden.finding_kind": finding.kind, "warden.dedupe": finding.dedupe_key},
        )
    started = 0
    if config.policy.auto_rotate_on_age:
        for candidate in result.rotations:
            request = await asyncio.to_thread(
                rotation_request_for,
                ports,
                account=candidate.account,
                vault_url=candidate.vault_url,
                secret_name=candidate.secret_name,
                reason=candidate.reason,
                source="key_age_scan",
                policy=config.policy,
            )
            if await start_once(client, ORCHESTRATOR_SCHEDULED, request.instance_id, request.model_dump(mode="json")):
                started += 1
    summary = {"findings": result.kinds(), "stats": result.stats, "rotations_started": started}
    _log.info("key scan done: %s", json.dumps(summary, sort_keys=True))
    return summary


@bp.timer_trigger(schedule=get_settings().key_scan_schedule, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def key_age_scan(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """The daily key-age scan (``WARDEN_KEY_SCAN_SCHEDULE``)."""
    if timer.past_due:
        _log.warning("key_age_scan is running late")
    await run_scan_and_rotate(client)


# --------------------------------------------------------------------------------------------
# Orchestrators
# --------------------------------------------------------------------------------------------
@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_SCHEDULED)
def keys_rotate_scheduled(context: df.DurableOrchestrationContext) -> Any:
    """Zero-downtime scheduled rotation (``shared.keys.orchestration.scheduled_rotation``)."""
    return (yield from scheduled_rotation(context, retry=_RETRY))


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_EMERGENCY)
def keys_rotate_emergency(context: df.DurableOrchestrationContext) -> Any:
    """Emergency rotation of leaked keys (``shared.keys.orchestration.emergency_rotation``)."""
    return (yield from emergency_rotation(context, retry=_RETRY))


# --------------------------------------------------------------------------------------------
# Activities (names are shared.keys.orchestration.ACTIVITY_*)
# --------------------------------------------------------------------------------------------
@bp.activity_trigger(input_name="payload")
def keys_read_rotation_state(payload: dict[str, Any]) -> dict[str, Any]:
    """The secret's current version and tags. Requires Key Vault secrets/get."""
    state = read_rotation_state(
        container().keys_ports,
        str(payload["vault_url"]),
        str(payload["secret_name"]),
        default_validity_days=int(payload.get("validity_days") or keys_config().policy.validity_days),
    )
    return state.model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def keys_locate_secret(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The account's dual-credential secret (given, or found by ``ProviderAddress`` in the
    configured vaults). Requires secrets/get and secrets/list; ``None`` when not in a vault."""
    request = EmergencyRotationRequest.model_validate(payload)
    ports = container().keys_ports
    validity = request.validity_days
    state: RotationState | None
    if request.vault_url and request.secret_name:
        state = read_rotation_state(ports, request.vault_url, request.secret_name, default_validity_days=validity)
    else:
        state = locate_account_secret(
            ports, request.account_id, keys_config().vault_urls, default_validity_days=validity
        )
    return state.model_dump(mode="json") if state is not None else None


@bp.activity_trigger(input_name="payload")
def keys_apply_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Regenerate / prove / store one key, once per (rotation, step). See ``apply_key_step``.

    Requires accounts/read, listKeys/action, regenerateKey/action, secrets/get, secrets/set.
    """
    request = StepRequest.model_validate(payload)
    config = keys_config()
    with log_context(incident_id=request.rotation_id, resource_id=str(request.account_id)):
        outcome = apply_key_step(
            container().keys_ports, request, probe_attempts=config.probe_attempts, probe_delay=config.probe_delay
        )
    return outcome.model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def keys_emergency_policy(payload: dict[str, Any]) -> dict[str, Any]:
    """The approval gate and exposure policy for an emergency rotation (request overrides policy).

    ``approval_gate``: ask through the ``approval_gate`` sub-orchestration rather than a raw event.
    """
    request = EmergencyRotationRequest.model_validate(payload)
    policy = keys_config().policy
    return {
        "requires_approval": policy.emergency_rotation_requires_approval
        if request.requires_approval is None
        else request.requires_approval,
        "both_exposed": policy.both_keys_exposed if request.both_exposed is None else request.both_exposed,
        "approval_timeout_seconds": request.approval_timeout_seconds or int(policy.approval_timeout.total_seconds()),
        "approval_gate": _use_approval_gate(),
    }


def _use_approval_gate() -> bool:
    """``WARDEN_EMERGENCY_APPROVAL``: gate, event, or auto (the gate when links can be signed)."""
    settings = container().settings
    if settings.emergency_approval == "auto":
        return settings.link_signing_key is not None
    return settings.emergency_approval == "gate"


@bp.activity_trigger(input_name="payload")
def keys_record_rotation(payload: dict[str, Any]) -> dict[str, Any]:
    """Append the rotation's outcome to the audit trail (no key values exist in it). Idempotent.

    Needs Table Storage (Storage Table Data Contributor) for the audit table.
    """
    result = RotationResult.model_validate(payload)
    audit = container().keys_ports.audit
    action = f"rotation.{result.status.value}"
    if not any(r.action == action for r in audit.records(incident_id=result.rotation_id)):
        audit.append(
            AuditEvent(
                at=datetime.now(UTC),
                actor="warden",
                action=action,
                incident_id=result.rotation_id,
                target=str(result.account_id),
                reason=result.detail or result.status.value,
                before={"secret_version": result.previous_version} if result.previous_version else None,
                after={"secret_version": result.new_version, "active_slot": str(result.active_slot or "")}
                if result.new_version
                else None,
                details={"steps": [step.model_dump(mode="json") for step in result.steps]},
            )
        )
    with log_context(incident_id=result.rotation_id, resource_id=str(result.account_id)):
        _audit.info(
            "rotation %s of %s: %s (%s -> %s) %s",
            result.rotation_id,
            result.account_id,
            result.status.value,
            result.previous_version,
            result.new_version,
            result.detail,
        )
    return {"recorded": True, "status": result.status.value}


__all__ = [
    "bp",
    "event_to_dict",
    "process_key_vault_event",
    "run_scan_and_rotate",
    "start_once",
]
