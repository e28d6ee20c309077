"""Rotation planning on plain data: instance ids, requests, plans and outcomes.

Everything here is pure and JSON-serialisable (pydantic), because these objects are Durable
orchestration inputs and outputs. None of them ever holds a key value: history is stored and
replayed in plain text, so key values live only inside one activity's memory (see
``shared.keys.service.apply_key_step``).

Scheduled rotation (``plan_scheduled_rotation``)::

    secret version V (CredentialId=A)  ->  regenerate the OTHER key B  ->  probe B on the data plane
    ->  write version V+1 (value B, CredentialId=B, expiry now+ValidityPeriodDays)  ->  grace period

A stays valid until the next rotation regenerates it, so consumers still holding A keep working.
If the secret's current version is no longer V, someone already rotated: a clean no-op.

Emergency rotation (``plan_emergency_rotation``) regenerates the exposed key(s) at once, in an
order that keeps a working, unexposed key in Key Vault after every step:

==================  ====================================================================
exposed             steps
==================  ====================================================================
inactive key B      regenerate B (the vault keeps A, which still works)
active key A        point the vault at B (existing value, probed), then regenerate A
both                regenerate B and point the vault at it, then regenerate A
==================  ====================================================================
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId

__all__ = [
    "ApprovalOutcome",
    "EmergencyRotationRequest",
    "Exposure",
    "KeyStep",
    "RotationRequest",
    "RotationResult",
    "RotationState",
    "RotationStatus",
    "StepOutcome",
    "StepRequest",
    "StepStatus",
    "emergency_instance_id",
    "parse_approval",
    "plan_emergency_rotation",
    "plan_scheduled_rotation",
    "rotation_instance_id",
]


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:40]


def rotation_instance_id(account_id: AccountId | str, secret_version: str) -> str:
    """The Durable instance id of the scheduled rotation of ``account_id`` from ``secret_version``.

    Case-insensitive in both parts; a redelivered event, the timer scan and a manual start for
    the same version all get the same id, so at most one rotation runs per version.
    """
    version = secret_version.strip().lower()
    if not version:
        raise ValueError("secret_version must not be empty")
    return f"keyrot-{_digest(str(account_id).strip().lower(), version)}"


def emergency_instance_id(account_id: AccountId | str, incident_key: str) -> str:
    """The Durable instance id of the emergency rotation of ``account_id`` for one incident."""
    if not incident_key.strip():
        raise ValueError("incident_key must not be empty")
    return f"keyemg-{_digest(str(account_id).strip().lower(), incident_key.strip())}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RotationRequest(_Model):
    """Input of the scheduled rotation orchestration (no key values)."""

    account_id: AccountId
    vault_url: str = Field(pattern=r"^https://[A-Za-z0-9.\-]+(:[0-9]+)?$")
    secret_name: str = Field(pattern=r"^[0-9A-Za-z-]{1,127}$")
    secret_version: str = Field(pattern=r"^[0-9A-Za-z]{1,64}$")
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="manual", max_length=40)
    grace_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    validity_days: int = Field(default=60, ge=1, le=3650)
    """Used when the secret has no ``ValidityPeriodDays`` tag."""

    @property
    def instance_id(self) -> str:
        return rotation_instance_id(self.account_id, self.secret_version)


class RotationState(_Model):
    """What the read activity reports of the secret's current version (no value)."""

    vault_url: str
    secret_name: str
    current_version: str
    enabled: bool = True
    active_slot: KeySlot | None = None
    provider_address: AccountId | None = None
    validity_days: int | None = None
    expires_on: datetime | None = None
    problem: str | None = None
    """Why the secret cannot be rotated (bad or missing tags), if it cannot."""


class KeyStep(_Model):
    """One step on an account's keys.

    - ``regenerate``: regenerate ``slot`` (else use its current value).
    - ``write_vault``: write ``slot``'s value as a new secret version (after probing it).
    - ``verify_old_refused``: after regenerating, check the previous value is refused.
    """

    index: int = Field(ge=0, le=10)
    slot: KeySlot
    regenerate: bool
    write_vault: bool
    verify_old_refused: bool = False

    @property
    def label(self) -> str:
        if self.regenerate and self.write_vault:
            return f"regenerate {self.slot.value} and store it"
        if self.regenerate:
            return f"regenerate {self.slot.value}"
        return f"store {self.slot.value}"


class StepRequest(_Model):
    """Input of the ``apply key step`` activity."""

    rotation_id: str = Field(min_length=1, max_length=100)
    account_id: AccountId
    vault_url: str
    secret_name: str
    expected_version: str
    """The secret version the step builds on; a vault write checks it is still current."""
    step: KeyStep
    validity_days: int = Field(ge=1, le=3650)
    now: datetime
    """The orchestration's ``current_utc_datetime`` (replay-safe); expiry = now + validity."""

    @property
    def idempotency_key(self) -> str:
        return f"keys:step:{self.rotation_id}:{self.step.index}"


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    ALREADY_DONE = "already_done"
    SUPERSEDED = "superseded"
    """The secret moved to a version this rotation did not write: someone else rotated."""


class StepOutcome(_Model):
    """What a key step did (never a key value)."""

    index: int
    slot: KeySlot
    status: StepStatus
    regenerated: bool = False
    probed: bool = False
    probe_attempts: int = 0
    vault_version: str | None = None
    expires_on: datetime | None = None
    old_key_refused: bool | None = None
    detail: str = Field(default="", max_length=1000)


class RotationStatus(StrEnum):
    ROTATED = "rotated"
    ALREADY_ROTATED = "already_rotated"
    NOT_ROTATABLE = "not_rotatable"
    REJECTED = "rejected"
    EXPIRED = "expired"


class RotationResult(_Model):
    """Output of both rotation orchestrations (audit material, no key values)."""

    rotation_id: str
    account_id: AccountId
    status: RotationStatus
    detail: str = Field(default="", max_length=2000)
    previous_version: str | None = None
    new_version: str | None = None
    active_slot: KeySlot | None = None
    steps: tuple[StepOutcome, ...] = ()


def plan_scheduled_rotation(request: RotationRequest, state: RotationState) -> KeyStep | RotationResult:
    """The one step of a scheduled rotation, or a ``RotationResult`` saying why there is none.

    - the secret's current version is not the requested one -> ``ALREADY_ROTATED`` (no-op);
    - the secret is disabled, has bad tags, or names another account -> ``NOT_ROTATABLE``.
    """
    rotation_id = request.instance_id
    if state.current_version.lower() != request.secret_version.lower():
        return RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.ALREADY_ROTATED,
            detail=(
                f"secret {request.secret_name!r} is at version {state.current_version}, not "
                f"{request.secret_version}: already rotated"
            ),
            previous_version=request.secret_version,
            new_version=state.current_version,
            active_slot=state.active_slot,
        )
    problem = state.problem
    if problem is None and not state.enabled:
        problem = "the secret's current version is disabled"
    if problem is None and (state.active_slot is None or state.provider_address is None):
        problem = "the secret does not carry the dual-credential tags (CredentialId, ProviderAddress)"
    if problem is None and state.provider_address != request.account_id:
        problem = f"ProviderAddress names {state.provider_address}, not {request.account_id}"
    if problem is not None:
        return RotationResult(
            rotation_id=rotation_id,
            account_id=request.account_id,
            status=RotationStatus.NOT_ROTATABLE,
            detail=problem,
            previous_version=request.secret_version,
        )
    active = state.active_slot
    if active is None:  # pragma: no cover - excluded above
        raise ValueError("no active slot")
    return KeyStep(index=0, slot=active.other, regenerate=True, write_vault=True)


class Exposure(StrEnum):
    """Which key leaked, as far as the caller knows."""

    KEY1 = "key1"
    KEY2 = "key2"
    ACTIVE = "active"
    """The key Key Vault currently hands out (the usual case: a consumer leaked it)."""
    UNKNOWN = "unknown"
    """Treated as the active key unless policy says both keys are exposed."""
    BOTH = "both"


def plan_emergency_rotation(active: KeySlot | None, exposure: Exposure, *, both_exposed: bool) -> list[KeyStep]:
    """The emergency steps (see the module docstring).

    Invariant (checked by tests): after every step the vault holds a key that still works, and
    every exposed key has been regenerated by the last step. ``active=None`` means the key is not
    in Key Vault: the exposed key (both when unknown) is regenerated and nothing is written.
    """
    if active is None:
        if both_exposed or exposure in (Exposure.BOTH, Exposure.ACTIVE, Exposure.UNKNOWN):
            return [
                KeyStep(index=0, slot=KeySlot.KEY1, regenerate=True, write_vault=False, verify_old_refused=True),
                KeyStep(index=1, slot=KeySlot.KEY2, regenerate=True, write_vault=False, verify_old_refused=True),
            ]
        slot = KeySlot.parse(exposure.value)
        return [KeyStep(index=0, slot=slot, regenerate=True, write_vault=False, verify_old_refused=True)]
    inactive = active.other
    if both_exposed or exposure is Exposure.BOTH:
        return [
            KeyStep(index=0, slot=inactive, regenerate=True, write_vault=True, verify_old_refused=True),
            KeyStep(index=1, slot=active, regenerate=True, write_vault=False, verify_old_refused=True),
        ]
    exposed = active if exposure in (Exposure.ACTIVE, Exposure.UNKNOWN) else KeySlot.parse(exposure.value)
    if exposed is inactive:
        return [KeyStep(index=0, slot=inactive, regenerate=True, write_vault=False, verify_old_refused=True)]
    return [
        KeyStep(index=0, slot=inactive, regenerate=False, write_vault=True),
        KeyStep(index=1, slot=active, regenerate=True, write_vault=False, verify_old_refused=True),
    ]


class EmergencyRotationRequest(_Model):
    """Input of the emergency rotation orchestration (callable as a sub-orchestration).

    ``vault_url``/``secret_name`` are optional: without them the secret is located by its
    ``ProviderAddress`` tag in the configured vaults. ``requires_approval`` / ``both_exposed``
    default to the policy. ``incident_id`` ties the rotation to the incident that asked for it.
    """

    account_id: AccountId
    exposure: Exposure = Exposure.UNKNOWN
    incident_id: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=500)
    vault_url: str | None = Field(default=None, pattern=r"^https://[A-Za-z0-9.\-]+(:[0-9]+)?$")
    secret_name: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{1,127}$")
    requires_approval: bool | None = None
    both_exposed: bool | None = None
    approval_timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86_400)
    validity_days: int = Field(default=60, ge=1, le=3650)

    @field_validator("exposure", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class ApprovalOutcome(_Model):
    """The decision carried by the ``ApprovalDecision`` external event (or its absence)."""

    approved: bool
    approver_id: str = ""
    justification: str = ""


def parse_approval(payload: Any) -> ApprovalOutcome:
    """Read an ``ApprovalDecision`` event payload. Anything not clearly ``approved: true`` is a
    rejection (a malformed decision must never rotate keys). A JSON string is decoded first: the
    Python Durable client sends event data JSON-encoded once more (azure-functions-durable #295)."""
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            return ApprovalOutcome(approved=False, justification="unreadable decision payload (not JSON)")
    if isinstance(payload, bool):
        return ApprovalOutcome(approved=payload)
    if isinstance(payload, dict):
        approved = payload.get("approved") is True
        return ApprovalOutcome(
            approved=approved,
            approver_id=str(payload.get("approver_id") or payload.get("approverId") or "")[:200],
            justification=str(payload.get("justification") or "")[:2000],
        )
    return ApprovalOutcome(approved=False, justification=f"unreadable decision payload ({type(payload).__name__})")


def expiry_for(now: datetime, validity_days: int) -> datetime:
    """A new version's expiry: ``now + ValidityPeriodDays``."""
    return now + timedelta(days=validity_days)
