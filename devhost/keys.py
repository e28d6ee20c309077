"""Host keys: the master key, the default function key and the system (extension) keys.

Like the Functions host, keys are generated on first start and persisted (here in
``<state dir>/keys.json``, owner-only), so URLs stay valid across restarts. The environment
variables ``WARDEN_DEVHOST_MASTER_KEY`` / ``WARDEN_DEVHOST_FUNCTION_KEY`` override the
persisted master and function keys (they are not written back).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from devhost.statefiles import read_json, write_json_atomic

__all__ = [
    "DURABLE_SYSTEM_KEY",
    "ENV_FUNCTION_KEY",
    "ENV_MASTER_KEY",
    "EVENTGRID_SYSTEM_KEY",
    "HostKeys",
    "load_or_create_keys",
]

ENV_MASTER_KEY = "WARDEN_DEVHOST_MASTER_KEY"
ENV_FUNCTION_KEY = "WARDEN_DEVHOST_FUNCTION_KEY"
EVENTGRID_SYSTEM_KEY = "eventgrid_extension"
DURABLE_SYSTEM_KEY = "durabletask_extension"
SYSTEM_KEY_NAMES = (EVENTGRID_SYSTEM_KEY, DURABLE_SYSTEM_KEY)
KEYS_FILE = "keys.json"


def _new_key() -> str:
    return secrets.token_urlsafe(40)


def _matches(candidate: str | None, expected: str) -> bool:
    return candidate is not None and hmac.compare_digest(candidate.encode(), expected.encode())


@dataclass(frozen=True)
class HostKeys:
    """The keys a request may present. Comparisons are constant-time."""

    master: str
    function: str
    system: dict[str, str] = field(default_factory=dict)

    def is_master(self, candidate: str | None) -> bool:
        return _matches(candidate, self.master)

    def is_function(self, candidate: str | None) -> bool:
        """A function-level request accepts a function key or the master key (as the host does)."""
        return _matches(candidate, self.function) or self.is_master(candidate)

    def is_system(self, name: str, candidate: str | None) -> bool:
        """An extension webhook accepts its own system key or the master key."""
        expected = self.system.get(name)
        return (expected is not None and _matches(candidate, expected)) or self.is_master(candidate)

    def system_key(self, name: str) -> str:
        try:
            return self.system[name]
        except KeyError:
            known = ", ".join(sorted(self.system))
            raise KeyError(f"no system key named {name!r} (known: {known})") from None


def load_or_create_keys(state_dir: Path) -> HostKeys:
    """Read ``keys.json`` from ``state_dir`` (creating missing keys), then apply the env overrides."""
    path = state_dir / KEYS_FILE
    stored = read_json(path) or {}
    if not isinstance(stored, dict):
        raise ValueError(f"devhost keys file {str(path)!r} must hold a JSON object")
    changed = False
    master = stored.get("masterKey")
    if not isinstance(master, str) or not master:
        master, changed = _new_key(), True
    function_keys = stored.get("functionKeys")
    if not isinstance(function_keys, dict):
        function_keys, changed = {}, True
    if not isinstance(function_keys.get("default"), str) or not function_keys["default"]:
        function_keys["default"], changed = _new_key(), True
    system_keys = stored.get("systemKeys")
    if not isinstance(system_keys, dict):
        system_keys, changed = {}, True
    for name in SYSTEM_KEY_NAMES:
        if not isinstance(system_keys.get(name), str) or not system_keys[name]:
            system_keys[name], changed = _new_key(), True
    if changed:
        write_json_atomic(
            path,
            {"masterKey": master, "functionKeys": function_keys, "systemKeys": system_keys},
            private=True,
        )
    return HostKeys(
        master=os.environ.get(ENV_MASTER_KEY) or master,
        function=os.environ.get(ENV_FUNCTION_KEY) or str(function_keys["default"]),
        system={str(k): str(v) for k, v in system_keys.items()},
    )
