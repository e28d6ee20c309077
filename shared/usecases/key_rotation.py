"""Zero-downtime key rotation against Azure: read and locate the secret, apply one key step, and
the emergency rotation's policy and record (the key activities of ``shared.contracts.rotation``).

Each function takes a ``KeysPorts`` bundle (real adapters in Azure, fakes in unit tests, real
adapters over the emulator in functional tests) and does as few calls as it can:

- ``read_rotation_state``: 1 secret read (value discarded).
- ``locate_account_secret``: 1 listing per vault until found, then 1 secret read.
- ``apply_key_step``: get account, [list keys], regenerate or list keys, probe, [read + write secret].

Key values exist only inside ``apply_key_step`` (local variables, registered with the log
redactor by the adapters) and are never returned.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.audit.chain import AuditEvent
from shared.contracts.rotation import (
    KEY_STEP_LEASE_SECONDS,
    EmergencyPolicy,
    EmergencyRotationRequest,
    KeyStepOutcome,
    KeyStepRequest,
    KeyStepStatus,
    RotationResult,
    RotationState,
)
from shared.keys.config import KeysConfig
from shared.keys.rotation import expiry_for
from shared.keys.slots import KeySlot
from shared.keys.tags import (
    CREDENTIAL_ID,
    PROVIDER_ADDRESS,
    ROTATION_ID,
    VALIDITY_PERIOD_DAYS,
    TagError,
    find_tag,
    parse_dual_credential_tags,
)
from shared.observability import log_context
from shared.ports.cognitive import CognitivePort
from shared.ports.inventory import InventoryPort
from shared.ports.logs import LogsPort
from shared.ports.probe import KeyProbe, KeyRejectedError
from shared.ports.secrets import SecretsPort
from shared.ports.stores import (
    AlreadyCompletedError,
    AlreadyInProgressError,
    AuditStore,
    IdempotencyStore,
    QuarantineStore,
)
from shared.resource_ids import AccountId
from shared.usecases.audit_trail import audit_once
from shared.usecases.claimed_step import Claim, run_claimed

__all__ = [
    "IDEMPOTENCY_TTL_SECONDS",
    "KeyNotProvenError",
    "KeysPorts",
    "RotationError",
    "apply_key_step",
    "emergency_policy",
    "locate_account_secret",
    "locate_secret",
    "read_rotation_state",
    "record_rotation",
]

_log = logging.getLogger("warden.keys")
_audit = logging.getLogger("warden.audit.keys")

IDEMPOTENCY_TTL_SECONDS = 90 * 86_400
_CONVENTION_TAGS = {CREDENTIAL_ID.lower(), PROVIDER_ADDRESS.lower(), VALIDITY_PERIOD_DAYS.lower(), ROTATION_ID.lower()}


class RotationError(RuntimeError):
    """A rotation step cannot proceed (the message says which resource and why)."""


class KeyNotProvenError(RotationError):
    """The regenerated key was not accepted by the data plane; Key Vault was NOT written."""


@dataclass
class KeysPorts:
    """Everything the key code talks to, plus a clock and a sleep (tests pass instant ones)."""

    cognitive: CognitivePort
    secrets: SecretsPort
    inventory: InventoryPort
    logs: LogsPort
    probe: KeyProbe
    idempotency: IdempotencyStore
    quarantine: QuarantineStore
    audit: AuditStore
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=time.sleep)


# --------------------------------------------------------------------------------------------
# rotation
# --------------------------------------------------------------------------------------------
def read_rotation_state(
    ports: KeysPorts, vault_url: str, secret_name: str, *, default_validity_days: int
) -> RotationState:
    """The secret's current version and its dual-credential tags (the value is read and dropped).

    Requires secrets/get. Raises ``SecretNotFoundError`` when the secret does not exist.
    """
    current = ports.secrets.get_secret(vault_url, secret_name)
    meta = current.meta
    problem: str | None = None
    try:
        tags = parse_dual_credential_tags(meta.tags, default_validity_days=default_validity_days)
    except TagError as exc:
        tags, problem = None, str(exc)
    return RotationState(
        vault_url=vault_url,
        secret_name=secret_name,
        current_version=meta.version or "",
        enabled=meta.enabled,
        active_slot=tags.credential_id if tags else None,
        provider_address=tags.provider_address if tags else None,
        validity_days=tags.validity_days if tags else None,
        expires_on=meta.expires_on,
        problem=problem,
    )


def locate_account_secret(
    ports: KeysPorts, account: AccountId, vaults: Sequence[str], *, default_validity_days: int
) -> RotationState | None:
    """The enabled dual-credential secret whose ``ProviderAddress`` is ``account`` (first vault
    wins), with its current state; ``None`` when the key is not in any configured vault."""
    for vault in vaults:
        for meta in ports.secrets.list_properties(vault):
            try:
                tags = parse_dual_credential_tags(meta.tags, default_validity_days=default_validity_days)
            except TagError:
                continue
            if tags is not None and meta.enabled and tags.provider_address == account:
                return read_rotation_state(ports, vault, meta.name, default_validity_days=default_validity_days)
    return None


def apply_key_step(
    ports: KeysPorts, request: KeyStepRequest, *, probe_attempts: int, probe_delay: timedelta
) -> KeyStepOutcome:
    """Run one key step exactly once per (rotation, step), guarded by the idempotency store.

    Order, never changed: [read the secret and check its version] -> regenerate (or read) the
    key -> prove it on the data plane -> only then write the new secret version. A retried
    activity whose step already completed returns the stored outcome; one whose vault write
    already happened (found by the ``WardenRotationId`` tag) reports ``already_done``. A key is
    regenerated at most once per step: before regenerating, the step records the SHA-256 of the
    key it replaces (never a value). A retry that finds the account holding another key knows
    the regeneration happened, even when its response was lost with a host that died while the
    request was in flight, and proves and writes the account's key instead of regenerating again.

    Requires: accounts/read, accounts/listKeys/action, accounts/regenerateKey/action, and for
    vault writes secrets/get + secrets/set. Raises ``KeyNotProvenError`` (nothing written),
    ``RotationError``, the ports' errors, ``AlreadyInProgressError`` when another execution
    holds the step, and ``LeaseLostError`` when another execution took the step over from this
    one (nothing written; Durable retries the activity, which then finds the other's outcome).
    """

    def run(claim: Claim) -> KeyStepOutcome:
        lease = _Lease(claim, ports.sleep)
        return _apply(ports, request, lease, probe_attempts=probe_attempts, probe_delay=probe_delay)

    claimed = run_claimed(
        ports.idempotency,
        request.idempotency_key,
        run,
        clock=ports.clock,
        lease_seconds=KEY_STEP_LEASE_SECONDS,
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
        encode=lambda outcome: outcome.model_dump(mode="json"),
        decode=KeyStepOutcome.model_validate,
    )
    if not claimed.fresh:
        _audit.info(
            "key step %s of rotation %s already completed (%s); not repeated",
            request.step.index,
            request.rotation_id,
            claimed.result.status.value,
        )
    return claimed.result


def _fingerprint(value: str | None) -> str | None:
    """SHA-256 of a key value: enough to recognise the key later, nothing to use it with."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else None


def _replaces_key(request: KeyStepRequest) -> str:
    return f"{request.idempotency_key}:replaces"


def _replaced_fingerprint(ports: KeysPorts, request: KeyStepRequest) -> str | None:
    """The fingerprint of the key an earlier attempt of this step set out to replace, if any."""
    key = _replaces_key(request)
    try:
        probe = ports.idempotency.begin(key, now=ports.clock(), lease_seconds=1)
    except AlreadyCompletedError as done:
        value = done.result.get("sha256")
        return str(value) if value else None
    except AlreadyInProgressError:
        return None
    ports.idempotency.release(key, owner=probe.owner)
    return None


def _remember_replacing(ports: KeysPorts, request: KeyStepRequest, value: str | None) -> None:
    """Record (as a fingerprint, never the value) which key this step is about to replace, before
    the regenerate request is sent: a host can die after Azure applied it but before the answer
    came back, and only this record tells the retry that the key already changed."""
    ports.idempotency.complete(
        _replaces_key(request),
        {"sha256": _fingerprint(value)},
        now=ports.clock(),
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
    )


@dataclass(frozen=True, slots=True)
class _Lease:
    """This execution's claim on a key step; ``renew`` raises ``LeaseLostError`` once another
    execution has taken the step over."""

    claim: Claim
    pause: Callable[[float], None]

    def renew(self) -> None:
        self.claim.renew()

    def sleep(self, seconds: float) -> None:
        """Wait between probes, keeping the claim."""
        self.pause(seconds)
        self.renew()


def _apply(
    ports: KeysPorts, request: KeyStepRequest, lease: _Lease, *, probe_attempts: int, probe_delay: timedelta
) -> KeyStepOutcome:
    account = request.account_id
    step = request.step
    base_tags: dict[str, str] = {}
    validity = request.validity_days
    content_type: str | None = None
    if step.write_vault:
        current = ports.secrets.get_secret(request.vault_url, request.secret_name).meta
        if (current.version or "").lower() != request.expected_version.lower():
            mine = find_tag(current.tags, ROTATION_ID) == request.rotation_id and (
                (find_tag(current.tags, CREDENTIAL_ID) or "").lower() == step.slot.value
            )
            if mine:
                return KeyStepOutcome(
                    index=step.index,
                    slot=step.slot,
                    status=KeyStepStatus.ALREADY_DONE,
                    vault_version=current.version,
                    expires_on=current.expires_on,
                    detail="this rotation already wrote the secret version",
                )
            _audit.info(
                "secret %s in %s moved from %s to %s before step %s: superseded, nothing changed",
                request.secret_name,
                request.vault_url,
                request.expected_version,
                current.version,
                step.index,
            )
            return KeyStepOutcome(
                index=step.index,
                slot=step.slot,
                status=KeyStepStatus.SUPERSEDED,
                vault_version=current.version,
                detail=f"the secret is at version {current.version}, not {request.expected_version}",
            )
        try:
            tags = parse_dual_credential_tags(current.tags, default_validity_days=request.validity_days)
        except TagError as exc:
            raise RotationError(f"secret {request.secret_name!r} in {request.vault_url}: {exc}") from None
        if tags is None or tags.provider_address != account:
            raise RotationError(
                f"secret {request.secret_name!r} in {request.vault_url} does not hold a key of {account} "
                "(ProviderAddress tag)"
            )
        validity = tags.validity_days
        content_type = current.content_type
        base_tags = {k: v for k, v in current.tags.items() if k.strip().lower() not in _CONVENTION_TAGS}
        base_tags |= tags.with_credential(step.slot).as_tags(rotation_id=request.rotation_id)

    info = ports.cognitive.get_account(account)
    if not info.endpoint:
        raise RotationError(f"account {account} has no endpoint; cannot prove a key works")
    old_value: str | None = None
    held = ports.cognitive.list_keys(account) if step.regenerate else None
    replaces = _replaced_fingerprint(ports, request) if held is not None else None
    if held is not None and replaces is not None and replaces != _fingerprint(held.get(step.slot)):
        # An earlier attempt of this step regenerated the key (its answer may have been lost with
        # its host) and died before writing Key Vault: the key it set out to replace is gone.
        # Prove and store the account's key; never regenerate twice.
        keys = held
        _audit.info(
            "%s of %s was regenerated by an earlier attempt of rotation %s; not regenerated again",
            step.slot.value,
            account,
            request.rotation_id,
        )
    elif held is not None:
        if step.verify_old_refused:
            old_value = held.get(step.slot)
        lease.renew()  # still this execution's step: no other attempt is regenerating it
        if replaces is None:
            _remember_replacing(ports, request, held.get(step.slot))
        keys = ports.cognitive.regenerate_key(account, step.slot)
        _audit.info("regenerated %s of %s (rotation %s)", step.slot.value, account, request.rotation_id)
    else:
        keys = ports.cognitive.list_keys(account)
    new_value = keys.get(step.slot)
    attempts = _prove(
        ports,
        lease,
        endpoint=info.endpoint,
        value=new_value,
        slot=step.slot,
        account=account,
        attempts=probe_attempts,
        delay=probe_delay,
    )
    old_refused: bool | None = None
    if old_value is not None and old_value != new_value:
        old_refused = _refused(ports.probe, lease, info.endpoint, old_value, attempts=probe_attempts, delay=probe_delay)
    version: str | None = None
    expires: datetime | None = None
    if step.write_vault:
        expires = expiry_for(request.now, validity)
        lease.renew()  # still this execution's step: the key just proven is the account's key
        written = ports.secrets.set_secret(
            request.vault_url,
            request.secret_name,
            new_value,
            tags=base_tags,
            expires_on=expires,
            content_type=content_type,
        )
        version = written.version
        _audit.info(
            "wrote %s of %s to secret %s version %s in %s, expires %s (rotation %s)",
            step.slot.value,
            account,
            request.secret_name,
            version,
            request.vault_url,
            expires.isoformat(),
            request.rotation_id,
        )
    return KeyStepOutcome(
        index=step.index,
        slot=step.slot,
        status=KeyStepStatus.SUCCEEDED,
        regenerated=step.regenerate,
        probed=True,
        probe_attempts=attempts,
        vault_version=version,
        expires_on=expires,
        old_key_refused=old_refused,
        detail=step.label,
    )


def _prove(
    ports: KeysPorts,
    lease: _Lease,
    *,
    endpoint: str,
    value: str,
    slot: KeySlot,
    account: AccountId,
    attempts: int,
    delay: timedelta,
) -> int:

    for attempt in range(1, attempts + 1):
        try:
            ports.probe.check_key(endpoint, value)
            return attempt
        except KeyRejectedError:
            if attempt == attempts:
                break
            lease.sleep(delay.total_seconds())
    raise KeyNotProvenError(
        f"{slot.value} of {account} was refused by {endpoint} {attempts} time(s); Key Vault was not written"
    )


def _refused(probe: KeyProbe, lease: _Lease, endpoint: str, value: str, *, attempts: int, delay: timedelta) -> bool:

    for attempt in range(1, attempts + 1):
        try:
            probe.check_key(endpoint, value)
        except KeyRejectedError:
            return True
        if attempt < attempts:
            lease.sleep(delay.total_seconds())
    return False


# --------------------------------------------------------------------------------------------
# the emergency rotation's policy, and the record of every rotation
# --------------------------------------------------------------------------------------------
def emergency_policy(config: KeysConfig, request: EmergencyRotationRequest) -> EmergencyPolicy:
    """The approval and exposure policy of one emergency rotation: the request's values, else the
    policy file's (``keys`` and ``approvals`` sections)."""
    policy = config.policy
    return EmergencyPolicy(
        requires_approval=policy.emergency_rotation_requires_approval
        if request.requires_approval is None
        else request.requires_approval,
        both_exposed=policy.both_keys_exposed if request.both_exposed is None else request.both_exposed,
        approval_timeout_seconds=request.approval_timeout_seconds or int(policy.approval_timeout.total_seconds()),
    )


def record_rotation(ports: KeysPorts, result: RotationResult) -> dict[str, Any]:
    """Append the rotation's outcome to the audit trail, once (no key values exist in it).

    Needs Table Storage (Storage Table Data Contributor) for the audit table.
    """
    action = f"rotation.{result.status.value}"
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
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
        ),
        action,
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


def locate_secret(ports: KeysPorts, config: KeysConfig, request: EmergencyRotationRequest) -> RotationState | None:
    """The account's dual-credential secret: the one the request names, else the one whose
    ``ProviderAddress`` tag is the account in the configured vaults; ``None`` when the key is not
    in a vault. Requires secrets/get and secrets/list."""
    validity = request.validity_days
    if request.vault_url and request.secret_name:
        return read_rotation_state(ports, request.vault_url, request.secret_name, default_validity_days=validity)
    return locate_account_secret(ports, request.account_id, config.vault_urls, default_validity_days=validity)
