"""Settings of the key-hygiene and rotation feature, read from the environment in ONE place.

These are new application settings that ``shared.settings.WardenSettings`` does not declare
yet (the lead will move them there), and interim policy overrides until ``shared.policy``
provides the ``keys`` section. ``load_keys_config`` validates every one and raises
``KeysConfigError`` listing each bad setting with its value and what was expected.

==========================================  ===========================  =========================
variable                                    meaning                      default
==========================================  ===========================  =========================
``WARDEN_KEY_VAULTS``                       comma-separated vault URLs   (none: no vault listing)
                                            or names holding account
                                            keys
``WARDEN_KEY_SCAN_SCHEDULE``                NCRONTAB of the key scan     ``0 0 3 * * *`` (daily)
``WARDEN_KEY_ACTIVITY_WINDOW_DAYS``         AzureActivity retention the  ``90``
                                            scan may rely on
``WARDEN_KEY_PROBE_ATTEMPTS``               data-plane probes of a new   ``6``
                                            key before giving up
``WARDEN_KEY_PROBE_DELAY_SECONDS``          pause between probes         ``5``
``WARDEN_KEY_MAX_AGE_DAYS``                 policy ``keys.max_age_days``  ``90``
``WARDEN_KEY_VALIDITY_DAYS``                policy ``keys.validity_days`` ``60``
``WARDEN_KEY_GRACE_PERIOD``                 policy ``keys.grace_period``  ``24h`` (``0`` = none)
``WARDEN_KEY_AUTO_ROTATE``                  policy auto rotation on age  ``true``
``WARDEN_KEY_EMERGENCY_REQUIRES_APPROVAL``  policy approval gate         ``true``
``WARDEN_KEY_APPROVAL_TIMEOUT``             policy approval wait         ``4h``
``WARDEN_KEY_BOTH_EXPOSED``                 policy both-keys-exposed     ``false``
``WARDEN_KEY_KINDS``                        account kinds in scope       ``OpenAI,AIServices``
==========================================  ===========================  =========================
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from shared.keys.policy import KeyPolicy
from shared.policy.durations import parse_duration

__all__ = ["KeysConfig", "KeysConfigError", "keys_config", "load_keys_config", "vault_url"]

_VAULT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_CRON_FIELD_RE = re.compile(r"^[0-9*/,\-A-Za-z]+$")
_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{1,63}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class KeysConfigError(ValueError):
    """One or more key settings are malformed; ``problems`` has one line per setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid key settings:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True, slots=True)
class KeysConfig:
    """The validated key settings (see the module docstring for each variable)."""

    vault_urls: tuple[str, ...] = ()
    scan_schedule: str = "0 0 3 * * *"
    activity_window: timedelta = timedelta(days=90)
    probe_attempts: int = 6
    probe_delay: timedelta = timedelta(seconds=5)
    policy: KeyPolicy = field(default_factory=KeyPolicy)


def vault_url(value: str) -> str:
    """A vault name (``kv-ai``) or URL -> ``https://kv-ai.vault.azure.net`` (lower case, no slash).

    Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if _VAULT_NAME_RE.match(text):
        return f"https://{text.lower()}.vault.azure.net"
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError("expected a vault name or an https://{name}.vault.azure.net URL")
    host = parts.hostname.lower()
    return f"https://{host}" + (f":{parts.port}" if parts.port else "")


def load_keys_config(environ: Mapping[str, str] | None = None) -> KeysConfig:
    """Read and validate the key settings; raises ``KeysConfigError`` listing every problem."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    defaults = KeysConfig()
    policy_defaults = KeyPolicy()

    def get(name: str) -> str | None:
        raw = env.get(name)
        return raw.strip() if raw is not None and raw.strip() else None

    def integer(name: str, default: int, low: int, high: int) -> int:
        raw = get(name)
        if raw is None:
            return default
        if not re.fullmatch(r"[0-9]{1,6}", raw) or not low <= int(raw) <= high:
            problems.append(f"{name}={raw!r}: expected a whole number from {low} to {high}")
            return default
        return int(raw)

    def boolean(name: str, default: bool) -> bool:
        raw = get(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        problems.append(f"{name}={raw!r}: expected true or false")
        return default

    def duration(name: str, default: timedelta, *, allow_zero: bool = False) -> timedelta:
        raw = get(name)
        if raw is None:
            return default
        if allow_zero and raw in {"0", "0s", "PT0S"}:
            return timedelta(0)
        try:
            return parse_duration(raw)
        except ValueError as exc:
            problems.append(f"{name}={raw!r}: {exc}")
            return default

    vaults: list[str] = []
    for item in (get("WARDEN_KEY_VAULTS") or "").split(","):
        if not item.strip():
            continue
        try:
            url = vault_url(item)
        except ValueError as exc:
            problems.append(f"WARDEN_KEY_VAULTS item {item.strip()!r}: {exc}")
            continue
        if url not in vaults:
            vaults.append(url)

    schedule = get("WARDEN_KEY_SCAN_SCHEDULE") or defaults.scan_schedule
    fields = schedule.split()
    if len(fields) != 6 or not all(_CRON_FIELD_RE.match(f) for f in fields):
        problems.append(
            f"WARDEN_KEY_SCAN_SCHEDULE={schedule!r}: expected a six-field NCRONTAB expression "
            "like '0 0 3 * * *' (second minute hour day month weekday)"
        )
        schedule = defaults.scan_schedule

    kinds_raw = get("WARDEN_KEY_KINDS")
    kinds = policy_defaults.kinds
    if kinds_raw is not None:
        parsed = tuple(k.strip() for k in kinds_raw.split(",") if k.strip())
        bad = [k for k in parsed if not _KIND_RE.match(k)]
        if not parsed or bad:
            problems.append(f"WARDEN_KEY_KINDS={kinds_raw!r}: expected comma-separated account kinds")
        else:
            kinds = parsed

    window_days = integer("WARDEN_KEY_ACTIVITY_WINDOW_DAYS", 90, 1, 3650)
    attempts = integer("WARDEN_KEY_PROBE_ATTEMPTS", defaults.probe_attempts, 1, 100)
    delay = integer("WARDEN_KEY_PROBE_DELAY_SECONDS", 5, 0, 600)
    max_age = integer("WARDEN_KEY_MAX_AGE_DAYS", policy_defaults.max_age_days, 1, 3650)
    validity = integer("WARDEN_KEY_VALIDITY_DAYS", policy_defaults.validity_days, 1, 3650)
    grace = duration("WARDEN_KEY_GRACE_PERIOD", policy_defaults.grace_period, allow_zero=True)
    timeout = duration("WARDEN_KEY_APPROVAL_TIMEOUT", policy_defaults.approval_timeout)
    auto = boolean("WARDEN_KEY_AUTO_ROTATE", policy_defaults.auto_rotate_on_age)
    approval = boolean("WARDEN_KEY_EMERGENCY_REQUIRES_APPROVAL", policy_defaults.emergency_rotation_requires_approval)
    both = boolean("WARDEN_KEY_BOTH_EXPOSED", policy_defaults.both_keys_exposed)
    if problems:
        raise KeysConfigError(problems)
    return KeysConfig(
        vault_urls=tuple(vaults),
        scan_schedule=schedule,
        activity_window=timedelta(days=window_days),
        probe_attempts=attempts,
        probe_delay=timedelta(seconds=delay),
        policy=KeyPolicy(
            max_age_days=max_age,
            validity_days=validity,
            grace_period=grace,
            auto_rotate_on_age=auto,
            emergency_rotation_requires_approval=approval,
            approval_timeout=timeout,
            both_keys_exposed=both,
            kinds=kinds,
        ),
    )


@lru_cache(maxsize=1)
def keys_config() -> KeysConfig:
    """The process-wide key settings, loaded once (``keys_config.cache_clear()`` in tests)."""
    return load_keys_config()
