"""Key hygiene: the estate-wide key scan and Key Vault events, which start scheduled rotations.

- ``take_key_vault_event`` (Event Grid, both schemas): ``SecretNearExpiry`` / ``SecretExpired``
  for a dual-credential secret starts ``keys_rotate_scheduled`` as
  ``rotation_instance_id(account, version)``; other events are ignored with a logged reason;
  malformed or oversized ones are quarantined (and acknowledged, so Event Grid does not retry).
- ``scan_keys_and_rotate`` (timer ``key_age_scan``, ``WARDEN_KEY_SCAN_SCHEDULE``, daily by
  default): the scan's findings are logged, and keys past max age get a scheduled rotation when
  the policy answers ``key:age_exceeded`` with one.

Costs: ``run_key_scan`` is ceil(N/1000) Resource Graph pages + 1 Log Analytics query + 1 listing
per vault; ``classify_key_vault_event`` is 1 secret read for a rotation-triggering event, none
otherwise. A rotation is started once per secret version (``start_rotation``): a redelivered
event, or the scan and an event for the same version, start nothing new.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.contracts.rotation import SCHEDULED_ORCHESTRATOR, RotationRequest
from shared.keys.activity import parse_key_operations
from shared.keys.config import KeysConfig
from shared.keys.events import EventEnvelope, KeyVaultEventError, KeyVaultObjectData, parse_envelope
from shared.keys.policy import KeyPolicy
from shared.keys.scan import KeyScanInput, KeyScanResult, scan_keys
from shared.keys.tags import TagError, parse_dual_credential_tags
from shared.observability import log_context
from shared.ports.durable import LIVE, Orchestrations
from shared.ports.secrets import SecretMeta, SecretNotFoundError
from shared.resource_ids import AccountId
from shared.usecases.key_rotation import KeysPorts, RotationError

__all__ = [
    "EventDecision",
    "KeyHygieneDeps",
    "classify_key_vault_event",
    "rotation_request_for",
    "run_key_scan",
    "scan_keys_and_rotate",
    "start_rotation",
    "take_key_vault_event",
]

_log = logging.getLogger("warden.keys")
_audit = logging.getLogger("warden.audit.keys")

QUARANTINE_SOURCE = "key_vault_event"


@dataclass(frozen=True, slots=True)
class KeyHygieneDeps:
    """What the key scan and the Key Vault trigger need (``shared.bootstrap.Container.key_hygiene_deps``)."""

    ports: KeysPorts
    config: KeysConfig
    orchestrations: Orchestrations
    subscriptions: tuple[str, ...]
    warden_principal_id: str | None
    max_bytes: int


def run_key_scan(
    ports: KeysPorts,
    *,
    subscriptions: Sequence[str],
    vaults: Sequence[str],
    window: timedelta,
    policy: KeyPolicy,
    warden_principal_id: str | None,
) -> KeyScanResult:
    """Inventory + one AzureActivity query + one listing per vault, then the pure scan.

    Raises the ports' errors (``InventoryError``, ``LogQueryError``, ``VaultError``) when a source
    cannot be read: a scan on partial data would report keys as unmanaged or old by mistake.
    """
    now = ports.clock()
    accounts = list(ports.inventory.list_ai_accounts(subscriptions, policy.kinds))
    since = now - window
    rows = ports.logs.run("key_operations", timespan=(since, now), since=since)
    operations, problems = parse_key_operations(rows)
    secrets: list[SecretMeta] = []
    for vault in vaults:
        secrets.extend(ports.secrets.list_properties(vault))
    result = scan_keys(
        KeyScanInput(
            accounts=accounts,
            operations=operations,
            secrets=secrets,
            vaults=tuple(vaults),
            now=now,
            window=window,
            policy=policy,
            warden_principal_id=warden_principal_id,
        )
    )
    result.problems[:0] = problems
    return result


def rotation_request_for(
    ports: KeysPorts,
    *,
    account: AccountId,
    vault_url: str,
    secret_name: str,
    reason: str,
    source: str,
    policy: KeyPolicy,
) -> RotationRequest:
    """A scheduled-rotation request for the secret's CURRENT version (1 secret read)."""
    current = ports.secrets.get_secret(vault_url, secret_name)
    if current.meta.version is None:
        raise RotationError(f"secret {secret_name!r} in {vault_url} has no version")
    return RotationRequest(
        account_id=account,
        vault_url=vault_url,
        secret_name=secret_name,
        secret_version=current.meta.version,
        reason=reason,
        source=source,
        grace_seconds=int(policy.grace_period.total_seconds()),
        validity_days=policy.validity_days,
    )


@dataclass(frozen=True, slots=True)
class EventDecision:
    """What to do with one Key Vault event.

    ``action`` is ``start`` (``request`` set), ``ignore`` or ``quarantine``; ``reason_code`` is
    a stable token for logs and the quarantine record; ``reason`` says it in words.
    """

    action: str
    reason_code: str
    reason: str
    request: RotationRequest | None = None
    envelope: EventEnvelope | None = None


def classify_key_vault_event(
    ports: KeysPorts, event: Mapping[str, Any], *, policy: KeyPolicy, vaults: Sequence[str]
) -> EventDecision:
    """Decide what a Key Vault event means for Warden.

    Malformed envelopes or secret-event data -> ``quarantine``. Not a ``SecretNearExpiry`` /
    ``SecretExpired`` event, a vault Warden does not manage, a deleted secret, a secret without
    the dual-credential tags, or a version that is no longer current ("already rotated") ->
    ``ignore``. Otherwise -> ``start`` a scheduled rotation of the named version.
    Raises the vault port's errors other than not-found (transient: let Event Grid redeliver).
    """
    try:
        envelope = parse_envelope(event)
    except KeyVaultEventError as exc:
        return EventDecision("quarantine", "malformed_event", f"malformed event: {exc}")
    if not envelope.triggers_rotation:
        return EventDecision(
            "ignore",
            "not_a_rotation_event",
            f"event type {envelope.event_type} does not start a rotation",
            envelope=envelope,
        )
    try:
        data = KeyVaultObjectData.parse(envelope.data, subject=envelope.subject)
    except KeyVaultEventError as exc:
        return EventDecision(
            "quarantine", "malformed_key_vault_data", f"malformed Key Vault event data: {exc}", envelope=envelope
        )
    if vaults and data.vault_url.lower() not in {v.lower() for v in vaults}:
        return EventDecision(
            "ignore", "vault_not_managed", f"vault {data.vault_url} is not in WARDEN_KEY_VAULTS", envelope=envelope
        )
    try:
        current = ports.secrets.get_secret(data.vault_url, data.object_name).meta
    except SecretNotFoundError:
        return EventDecision(
            "ignore",
            "secret_not_found",
            f"secret {data.object_name!r} no longer exists in {data.vault_url}",
            envelope=envelope,
        )
    try:
        tags = parse_dual_credential_tags(current.tags, default_validity_days=policy.validity_days)
    except TagError as exc:
        return EventDecision(
            "ignore",
            "bad_tags",
            f"secret {data.object_name!r} has malformed dual-credential tags: {exc}",
            envelope=envelope,
        )
    if tags is None:
        return EventDecision(
            "ignore",
            "not_dual_credential",
            f"secret {data.object_name!r} has no CredentialId/ProviderAddress tags; Warden does not rotate it",
            envelope=envelope,
        )
    if (current.version or "").lower() != data.version.lower():
        return EventDecision(
            "ignore",
            "already_rotated",
            f"secret {data.object_name!r} is at version {current.version}; the event named {data.version}: "
            "already rotated",
            envelope=envelope,
        )
    request = RotationRequest(
        account_id=tags.provider_address,
        vault_url=data.vault_url,
        secret_name=data.object_name,
        secret_version=data.version,
        reason=f"{envelope.event_type.rsplit('.', 1)[-1]} for version {data.version}",
        source="key_vault_event",
        grace_seconds=int(policy.grace_period.total_seconds()),
        validity_days=tags.validity_days,
    )
    return EventDecision("start", "rotation_due", request.reason, request=request, envelope=envelope)


# --------------------------------------------------------------------------------------------
# starting rotations once
# --------------------------------------------------------------------------------------------
async def start_rotation(orchestrations: Orchestrations, request: RotationRequest) -> bool:
    """Start the scheduled rotation ``request.instance_id`` unless that instance exists and is not
    failed; ``True`` when started. A running or completed instance means this rotation is under way
    or done (a redelivered event, or the scan and an event for the same version): a logged no-op.
    Failed / terminated instances are started again."""
    instance_id = request.instance_id
    status = await orchestrations.status(instance_id)
    if status is not None and status.runtime_status in LIVE:
        _audit.info(
            "%s %s is already %s; not started again", SCHEDULED_ORCHESTRATOR, instance_id, status.runtime_status
        )
        return False
    await orchestrations.start(SCHEDULED_ORCHESTRATOR, instance_id, request.model_dump(mode="json"))
    _audit.info("started %s %s", SCHEDULED_ORCHESTRATOR, instance_id)
    return True


# --------------------------------------------------------------------------------------------
# the two triggers
# --------------------------------------------------------------------------------------------
async def take_key_vault_event(raw: dict[str, Any], deps: KeyHygieneDeps, *, now: Any) -> str:
    """Classify one Key Vault event and act: ``quarantine``, ``ignore``, ``start`` (a rotation was
    started) or ``duplicate`` (that rotation exists). Raises the vault's errors other than
    not-found (transient: Event Grid redelivers)."""
    ports = deps.ports
    body = json.dumps(raw, default=str).encode("utf-8")
    if len(body) > deps.max_bytes:
        ports.quarantine.put(
            source=QUARANTINE_SOURCE,
            reason_code="oversized_event",
            message=f"event of {len(body)} bytes exceeds WARDEN_MAX_EVENT_BYTES={deps.max_bytes}",
            raw=body,
            received_at=now,
        )
        _log.warning("quarantined an oversized Key Vault event (%d bytes)", len(body))
        return "quarantine"
    decision = await asyncio.to_thread(
        classify_key_vault_event, ports, raw, policy=deps.config.policy, vaults=deps.config.vault_urls
    )
    event_id = decision.envelope.id if decision.envelope else str(raw.get("id"))[:100]
    if decision.action == "quarantine":
        record = ports.quarantine.put(
            source=QUARANTINE_SOURCE,
            reason_code=decision.reason_code,
            message=decision.reason,
            raw=body,
            received_at=now,
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
        started = await start_rotation(deps.orchestrations, request)
    return "start" if started else "duplicate"


async def scan_keys_and_rotate(deps: KeyHygieneDeps, *, past_due: bool = False) -> dict[str, Any]:
    """Run the key scan, log its findings, and start rotations for keys past max age."""
    if past_due:
        _log.warning("key_age_scan is running late")
    config, ports = deps.config, deps.ports
    result = await asyncio.to_thread(
        run_key_scan,
        ports,
        subscriptions=deps.subscriptions,
        vaults=config.vault_urls,
        window=config.activity_window,
        policy=config.policy,
        warden_principal_id=deps.warden_principal_id,
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
            if await start_rotation(deps.orchestrations, request):
                started += 1
    summary = {"findings": result.kinds(), "stats": result.stats, "rotations_started": started}
    _log.info("key scan done: %s", json.dumps(summary, sort_keys=True))
    return summary
