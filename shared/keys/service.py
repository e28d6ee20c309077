"""The I/O around the pure key code: scan the estate, read and rotate one secret, classify events.

Each function takes a ``KeysPorts`` bundle (real adapters in Azure, fakes in unit tests, real
adapters over the emulator in functional tests) and does as few calls as it can:

- ``run_key_scan``: ceil(N/1000) Resource Graph pages + 1 Log Analytics query + 1 listing per vault.
- ``read_rotation_state``: 1 secret read (value discarded).
- ``apply_key_step``: get account, [list keys], regenerate or list keys, probe, [read + write secret].
- ``classify_key_vault_event``: 1 secret read for a rotation-triggering event, none otherwise.

Key values exist only inside ``apply_key_step`` (local variables, registered with the log
redactor by the adapters) and are never returned.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.keys.activity import parse_key_operations
from shared.keys.events import EventEnvelope, KeyVaultEventError, KeyVaultObjectData, parse_envelope
from shared.keys.policy import KeyPolicy
from shared.keys.rotation import (
    RotationRequest,
    RotationState,
    StepOutcome,
    StepRequest,
    StepStatus,
    expiry_for,
)
from shared.keys.scan import KeyScanInput, KeyScanResult, scan_keys
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
from shared.ports.cognitive import CognitivePort
from shared.ports.inventory import InventoryPort
from shared.ports.logs import LogsPort
from shared.ports.secrets import SecretMeta, SecretNotFoundError, SecretsPort
from shared.ports.stores import (
    AlreadyCompletedError,
    AlreadyInProgressError,
    AuditStore,
    IdempotencyStore,
    QuarantineStore,
)
from shared.resource_ids import AccountId
from shared.storage.memory import MemoryAuditStore

__all__ = [
    "IDEMPOTENCY_LEASE_SECONDS",
    "IDEMPOTENCY_TTL_SECONDS",
    "EventDecision",
    "KeyNotProvenError",
    "KeyProbe",
    "KeysPorts",
    "RotationError",
    "apply_key_step",
    "classify_key_vault_event",
    "locate_account_secret",
    "read_rotation_state",
    "rotation_request_for",
    "run_key_scan",
]

_log = logging.getLogger("warden.keys")
_audit = logging.getLogger("warden.audit.keys")

IDEMPOTENCY_LEASE_SECONDS = 90
"""The claim a key step holds on its (rotation, step): short, so a host that dies inside the step
frees it within 90 s, and renewed while the step waits (each probe pause), just before
regenerating and just before the Key Vault write, so a step that lost its claim (it stalled past
the lease and a retry took the step over) stops before it changes anything."""
IDEMPOTENCY_TTL_SECONDS = 90 * 86_400
_CONVENTION_TAGS = {CREDENTIAL_ID.lower(), PROVIDER_ADDRESS.lower(), VALIDITY_PERIOD_DAYS.lower(), ROTATION_ID.lower()}


class KeyProbe(Protocol):
    """Proves a key works on an account's data plane (``shared.azure.dataplane.DataPlaneProbe``).

    ``check_key`` returns when the key is accepted and raises ``KeyRejectedError`` on 401/403.
    """

    def check_key(self, endpoint: str, key: str, *, timeout: float = 10.0) -> None: ...


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
    audit: AuditStore = field(default_factory=MemoryAuditStore)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=time.sleep)


# --------------------------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------------------------
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
    ports: KeysPorts, request: StepRequest, *, probe_attempts: int, probe_delay: timedelta
) -> StepOutcome:
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
    key = request.idempotency_key
    try:
        claim = ports.idempotency.begin(key, now=ports.clock(), lease_seconds=IDEMPOTENCY_LEASE_SECONDS)
    except AlreadyCompletedError as done:
        previous = StepOutcome.model_validate(done.result)
        _audit.info(
            "key step %s of rotation %s already completed (%s); not repeated",
            request.step.index,
            request.rotation_id,
            previous.status.value,
        )
        return previous
    lease = _Lease(ports, key, claim.owner)
    try:
        outcome = _apply(ports, request, lease, probe_attempts=probe_attempts, probe_delay=probe_delay)
    except BaseException:
        ports.idempotency.release(key, owner=claim.owner)  # never another execution's claim
        raise
    ports.idempotency.complete(
        key,
        outcome.model_dump(mode="json"),
        now=ports.clock(),
        ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
        owner=claim.owner,
    )
    return outcome


def _fingerprint(value: str | None) -> str | None:
    """SHA-256 of a key value: enough to recognise the key later, nothing to use it with."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else None


def _replaces_key(request: StepRequest) -> str:
    return f"{request.idempotency_key}:replaces"


def _replaced_fingerprint(ports: KeysPorts, request: StepRequest) -> str | None:
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


def _remember_replacing(ports: KeysPorts, request: StepRequest, value: str | None) -> None:
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

    ports: KeysPorts
    key: str
    owner: str

    def renew(self) -> None:
        self.ports.idempotency.renew(
            self.key, owner=self.owner, now=self.ports.clock(), lease_seconds=IDEMPOTENCY_LEASE_SECONDS
        )

    def sleep(self, seconds: float) -> None:
        """Wait between probes, keeping the claim."""
        self.ports.sleep(seconds)
        self.renew()


def _apply(
    ports: KeysPorts, request: StepRequest, lease: _Lease, *, probe_attempts: int, probe_delay: timedelta
) -> StepOutcome:
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
                return StepOutcome(
                    index=step.index,
                    slot=step.slot,
                    status=StepStatus.ALREADY_DONE,
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
            return StepOutcome(
                index=step.index,
                slot=step.slot,
                status=StepStatus.SUPERSEDED,
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
        old_refused = _refused(lease, info.endpoint, old_value, probe_attempts, probe_delay)
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
    return StepOutcome(
        index=step.index,
        slot=step.slot,
        status=StepStatus.SUCCEEDED,
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
    from shared.ports.probe import KeyRejectedError

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


def _refused(lease: _Lease, endpoint: str, value: str, attempts: int, delay: timedelta) -> bool:
    from shared.ports.probe import KeyRejectedError

    for attempt in range(1, attempts + 1):
        try:
            lease.ports.probe.check_key(endpoint, value)
        except KeyRejectedError:
            return True
        if attempt < attempts:
            lease.sleep(delay.total_seconds())
    return False


# --------------------------------------------------------------------------------------------
# Key Vault events
# --------------------------------------------------------------------------------------------
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
