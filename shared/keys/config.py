"""The key-hygiene and rotation configuration: ``KeysConfig``.

``shared.bootstrap`` assembles it from the settings (``WARDEN_KEY_VAULTS``,
``WARDEN_KEY_SCAN_SCHEDULE``, ``WARDEN_KEY_ACTIVITY_WINDOW_DAYS``, ``WARDEN_KEY_PROBE_ATTEMPTS``,
``WARDEN_KEY_PROBE_DELAY_SECONDS``, ``WARDEN_KEY_KINDS``) and the policy file (``keys`` and
``approvals`` sections, and whether a rule sends ``key:age_exceeded`` to a playbook with a
scheduled rotation: ``key_policy_from``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.finding import Finding, FindingSource, Severity
from shared.keys.policy import KeyPolicy
from shared.policy import Policy, plan_response
from shared.resource_ids import AccountId
from shared.response.steps import ActionKind

__all__ = ["KeysConfig", "key_policy_from"]


@dataclass(frozen=True, slots=True)
class KeysConfig:
    """Everything the key code needs to know besides its ports."""

    vault_urls: tuple[str, ...] = ()
    scan_schedule: str = "0 0 3 * * *"
    activity_window: timedelta = timedelta(days=90)
    probe_attempts: int = 6
    probe_delay: timedelta = timedelta(seconds=5)
    policy: KeyPolicy = field(default_factory=KeyPolicy)


_PROBE_ACCOUNT = AccountId("00000000-0000-0000-0000-000000000000", "warden-policy-probe", "warden-policy-probe")


def _rotates_on_age(policy: Policy) -> bool:
    """Whether the policy answers ``key:age_exceeded`` with a scheduled rotation."""
    now = datetime.now(UTC)
    probe = Finding(
        source=FindingSource.KEY_HYGIENE,
        kind="key:age_exceeded",
        severity=Severity.MEDIUM,
        title="policy probe",
        resource=_PROBE_ACCOUNT,
        dedupe_key="policy-probe",
        first_seen=now,
        last_seen=now,
    )
    plan = plan_response(policy, probe, {}, now=now)
    return any(step.action is ActionKind.ROTATE_KEY_SCHEDULED for step in plan.steps)


def key_policy_from(policy: Policy, *, kinds: Sequence[str]) -> KeyPolicy:
    """The key behaviour the policy file asks for, for accounts of ``kinds``."""
    return KeyPolicy(
        max_age_days=policy.keys.max_age_days,
        validity_days=policy.keys.validity_period_days,
        grace_period=policy.keys.grace_period,
        auto_rotate_on_age=_rotates_on_age(policy),
        emergency_rotation_requires_approval=policy.keys.emergency_rotation_requires_approval,
        approval_timeout=policy.approvals.timeout,
        both_keys_exposed=policy.keys.credential_theft_rotates_both,
        kinds=tuple(kinds),
    )
