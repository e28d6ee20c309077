"""The key-hygiene and rotation configuration, assembled from settings and the policy.

Environment values come from ``shared.settings.WardenSettings`` (validated at start-up):
``WARDEN_KEY_VAULTS``, ``WARDEN_KEY_SCAN_SCHEDULE``, ``WARDEN_KEY_ACTIVITY_WINDOW_DAYS``,
``WARDEN_KEY_PROBE_ATTEMPTS``, ``WARDEN_KEY_PROBE_DELAY_SECONDS``, ``WARDEN_KEY_KINDS``.
Behaviour comes from the policy file (``keys`` and ``approvals`` sections, and whether a rule
sends ``key:age_exceeded`` to a playbook with a scheduled rotation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.keys.policy import KeyPolicy
from shared.models import Finding, FindingSource, Severity
from shared.policy import Policy, plan_response
from shared.resource_ids import AccountId
from shared.settings import WardenSettings, vault_url
from shared.steps import ActionKind

__all__ = ["KeysConfig", "build_keys_config", "key_policy_from", "keys_config", "vault_url"]


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


def key_policy_from(policy: Policy, settings: WardenSettings) -> KeyPolicy:
    """The key behaviour the policy file asks for."""
    return KeyPolicy(
        max_age_days=policy.keys.max_age_days,
        validity_days=policy.keys.validity_period_days,
        grace_period=policy.keys.grace_period,
        auto_rotate_on_age=_rotates_on_age(policy),
        emergency_rotation_requires_approval=policy.keys.emergency_rotation_requires_approval,
        approval_timeout=policy.approvals.timeout,
        both_keys_exposed=policy.keys.credential_theft_rotates_both,
        kinds=tuple(settings.key_account_kinds),
    )


def build_keys_config(settings: WardenSettings, policy: Policy) -> KeysConfig:
    """Assemble the configuration from validated settings and a validated policy."""
    return KeysConfig(
        vault_urls=tuple(settings.key_vaults),
        scan_schedule=settings.key_scan_schedule,
        activity_window=timedelta(days=settings.key_activity_window_days),
        probe_attempts=settings.key_probe_attempts,
        probe_delay=timedelta(seconds=settings.key_probe_delay_seconds),
        policy=key_policy_from(policy, settings),
    )


def keys_config() -> KeysConfig:
    """The process-wide configuration (cached on the container, so ``reset_container`` resets it)."""
    from shared.bootstrap import container

    return container().keys
