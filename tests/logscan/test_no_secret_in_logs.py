"""No key value or token that the emulator issued appears in any log written by the test run.

``make test`` runs the whole suite with ``WARDEN_TEST_LOG_DIR`` set: every log record of the
test processes, and the logs of every local stack (devhost, emulator, Azurite processes) are
kept there, with a ledger of every secret value the emulators handed out (account keys, the
values Warden wrote to Key Vault, topic keys). This test, run afterwards (``-m logscan``), scans
them all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.logscan

TOKEN = re.compile(r"[A-Za-z0-9_-]{12,}")


def test_no_issued_secret_appears_in_any_log() -> None:
    log_dir = os.environ.get("WARDEN_TEST_LOG_DIR")
    assert log_dir, "run through `make test`: it sets WARDEN_TEST_LOG_DIR for the suite and for this scan"
    folder = Path(log_dir)
    secrets = {
        line.strip()
        for ledger in folder.glob("ledger-*.txt")
        for line in ledger.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) >= 12
    }
    logs = sorted(folder.glob("*.log"))
    assert secrets, f"no issued secrets recorded in {folder}: the suite did not run with the ledger"
    assert any(p.name.startswith("inprocess-") for p in logs), "no in-process log was kept"
    assert any(p.name.startswith("stack-") for p in logs), "no local-stack log was kept"
    lengths = sorted({len(s) for s in secrets})
    leaks: list[str] = []
    scanned = 0
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        scanned += len(text)
        for token in set(TOKEN.findall(text)):
            if any(_window in secrets for _window in _windows(token, lengths)):
                leaks.append(f"{log.name}: an issued secret appears in the log ({token[:4]}…)")
    assert not leaks, "\n".join(sorted(set(leaks)))
    assert scanned > 0


def _windows(token: str, lengths: list[int]) -> list[str]:
    """Every substring of ``token`` with the length of some issued secret."""
    out: list[str] = []
    for n in lengths:
        out.extend(token[i : i + n] for i in range(0, len(token) - n + 1))
    return out
