"""The key rotations' durable contract: orchestrators, activities, instance ids and payloads.

``shared.orchestrations.rotation`` holds the bodies; ``handlers/keys.py`` registers them and their
activities under the names below. Every payload is one of the models here, dumped to JSON: none
ever holds a key value (Durable history is stored and replayed in plain text; key values live
only inside one activity's memory, ``shared.usecases.key_rotation.apply_key_step``).

=============================  ===========================  ==============================
activity                       request                      result
=============================  ===========================  ==============================
``keys_read_rotation_state``   ``ReadStateRequest``         ``RotationState``
``keys_locate_secret``         ``EmergencyRotationRequest`` ``RotationState`` or ``None``
``keys_apply_step``            ``KeyStepRequest``           ``KeyStepOutcome``
``keys_emergency_policy``      ``EmergencyRotationRequest`` ``EmergencyPolicy``
``keys_record_rotation``       ``RotationResult``           ``{"recorded", "status"}``
=============================  ===========================  ==============================

Orchestrators: ``keys_rotate_scheduled`` (input ``RotationRequest``) and ``keys_rotate_emergency``
(input ``EmergencyRotationRequest``, callable as a sub-orchestration); both answer
``RotationResult``. An emergency rotation that needs approval asks through the approval gate
(``shared.contracts.approval``) as ``approval_instance_id(incident, GATE_STEP_ID)``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.retry import RetrySpec
from shared.keys.rotation import Exposure, KeyStep
from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId

__all__ = [
    "ACTIVITY_APPLY_STEP",
    "ACTIVITY_EMERGENCY_POLICY",
    "ACTIVITY_LOCATE_SECRET",
    "ACTIVITY_READ_STATE",
    "ACTIVITY_RECORD",
    "EMERGENCY_ORCHESTRATOR",
    "GATE_STEP_ID",
    "KEY_STEP_LEASE_SECONDS",
    "KEY_STEP_RETRY",
    "MAX_REPLANS",
    "SCHEDULED_ORCHESTRATOR",
    "EmergencyPolicy",
    "EmergencyRotationRequest",
    "KeyStepOutcome",
    "KeyStepRequest",
    "KeyStepStatus",
    "ReadStateRequest",
    "RotationRequest",
    "RotationResult",
    "RotationState",
    "RotationStatus",
    "emergency_instance_id",
    "rotation_instance_id",
]

SCHEDULED_ORCHESTRATOR = "keys_rotate_scheduled"
EMERGENCY_ORCHESTRATOR = "keys_rotate_emergency"
ACTIVITY_READ_STATE = "keys_read_rotation_state"
ACTIVITY_LOCATE_SECRET = "keys_locate_secret"  # noqa: S105  # nosec B105 # an identifier, not a secret
ACTIVITY_APPLY_STEP = "keys_apply_step"
ACTIVITY_EMERGENCY_POLICY = "keys_emergency_policy"
ACTIVITY_RECORD = "keys_record_rotation"
GATE_STEP_ID = "rotate-key-emergency"
"""The step id an emergency rotation's approval is asked under."""
MAX_REPLANS = 3
"""How often an emergency rotation re-reads the secret when it moved under it."""

KEY_STEP_LEASE_SECONDS = 90
"""The claim a key step holds on its (rotation, step): short, so a host that dies inside the step
frees it within 90 s, and renewed while the step waits (each probe pause), just before
regenerating and just before the Key Vault write, so a step that lost its claim (it stalled past
the lease and a retry took the step over) stops before it changes anything."""

KEY_STEP_RETRY = RetrySpec.outlasting(KEY_STEP_LEASE_SECONDS, interval_seconds=15, transient_attempts=8)
"""Retries of the key activities. They must outlast a key step's lease: if the host dies inside
``keys_apply_step``, its claim blocks every retry until the lease expires, and a shorter retry
window would lose the rotation (found by the reliability suite for emergency rotations). Before
regenerating, a step records the SHA-256 of the key it replaces (never a value), so a retry that
finds another key on the account proves and stores it instead of regenerating again: once per
step. So: the lease's worth of attempts, plus 8 for transient faults."""


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


class KeyStepRequest(_Model):
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


class KeyStepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    ALREADY_DONE = "already_done"
    SUPERSEDED = "superseded"
    """The secret moved to a version this rotation did not write: someone else rotated."""


class KeyStepOutcome(_Model):
    """What a key step did (never a key value)."""

    index: int
    slot: KeySlot
    status: KeyStepStatus
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
    steps: tuple[KeyStepOutcome, ...] = ()


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


class ReadStateRequest(_Model):
    """Input of ``keys_read_rotation_state``: the secret to read (its value is read and dropped)."""

    vault_url: str
    secret_name: str
    validity_days: int | None = Field(default=None, ge=1, le=3650)


class EmergencyPolicy(_Model):
    """Output of ``keys_emergency_policy``: the policy for one emergency rotation (the request's
    values override the policy file's)."""

    requires_approval: bool
    both_exposed: bool
    approval_timeout_seconds: int = Field(ge=1)
    owners: tuple[str, ...] = ()
