"""What the key-hygiene and rotation code is allowed to do: ``KeyPolicy``.

These are the fields of policy.yaml's ``keys`` section. Until ``shared.policy`` hands Warden a
parsed policy, ``shared.keys.config.load_key_policy`` builds one from defaults and environment
overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["KeyPolicy"]


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Key-hygiene thresholds and rotation behaviour.

    - ``max_age_days``: a key not regenerated for longer is reported (``key:age_exceeded``).
    - ``validity_days``: ``ValidityPeriodDays`` used when a secret lacks the tag.
    - ``grace_period``: how long a scheduled rotation waits after writing the new version
      (consumers pick it up; the previous key stays valid until the next rotation anyway).
    - ``auto_rotate_on_age``: the timer scan starts a scheduled rotation for accounts with a
      key past ``max_age_days`` (only for accounts whose key lives in a dual-credential secret).
    - ``emergency_rotation_requires_approval``: an emergency rotation waits for an
      ``ApprovalDecision`` external event before regenerating anything.
    - ``approval_timeout``: how long it waits; no decision by then means "do not rotate".
    - ``both_keys_exposed``: an emergency rotation regenerates both keys, not only the exposed one.
    - ``kinds``: account kinds in scope.
    """

    max_age_days: int = 90
    validity_days: int = 60
    grace_period: timedelta = timedelta(hours=24)
    auto_rotate_on_age: bool = True
    emergency_rotation_requires_approval: bool = True
    approval_timeout: timedelta = timedelta(hours=4)
    both_keys_exposed: bool = False
    kinds: tuple[str, ...] = field(default=("OpenAI", "AIServices"))

    def __post_init__(self) -> None:
        if self.max_age_days < 1:
            raise ValueError(f"keys.max_age_days={self.max_age_days}: expected at least 1")
        if not 1 <= self.validity_days <= 3650:
            raise ValueError(f"keys.validity_days={self.validity_days}: expected 1 to 3650")
        if self.grace_period < timedelta(0):
            raise ValueError(f"keys.grace_period={self.grace_period}: expected a non-negative duration")
        if self.approval_timeout <= timedelta(0):
            raise ValueError(f"keys.approval_timeout={self.approval_timeout}: expected a positive duration")
        if not self.kinds:
            raise ValueError("keys.kinds: expected at least one account kind")
