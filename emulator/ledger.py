"""A ledger of every secret value the emulator hands out (account keys, secret values, topic keys).

Warden must never log a key or token. The test run proves it: every value the emulator issues is
recorded here (in memory, and appended to the file named by ``WARDEN_EMULATOR_SECRETS_LEDGER``
when a test run sets it, so emulators running as separate processes are covered too), and a
final check scans every log written during the run for any of them (``tests/logscan``).

The values are the emulator's own fake keys; the file lives in the test run's scratch folder.
"""

from __future__ import annotations

import os
import threading

__all__ = ["LEDGER_ENV", "issued", "record"]

LEDGER_ENV = "WARDEN_EMULATOR_SECRETS_LEDGER"
_values: set[str] = set()
_lock = threading.Lock()


def record(value: str | None) -> None:
    """Remember ``value`` as a secret the emulator issued (values shorter than 12 are ignored)."""
    if not value or len(value) < 12:
        return
    with _lock:
        if value in _values:
            return
        _values.add(value)
        path = os.environ.get(LEDGER_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(value + "\n")


def issued() -> frozenset[str]:
    """Every secret value recorded in this process."""
    with _lock:
        return frozenset(_values)
