"""Fixtures shared by every test tier."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.azurite import Azurite

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"

# Importing a handler module is importing the app: it reads the (validated) settings. Give the
# test process the one required setting; tests about settings themselves manage their own env.
os.environ.setdefault("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)


@pytest.fixture(scope="session", autouse=True)
def _keep_logs_for_the_secret_scan() -> Iterator[None]:
    """With WARDEN_TEST_LOG_DIR set (``make test`` sets it), keep every log record of this test
    process and the ledger of every secret the emulator issued, for ``tests/logscan``."""
    log_dir = os.environ.get("WARDEN_TEST_LOG_DIR")
    if not log_dir:
        yield
        return
    from emulator.ledger import LEDGER_ENV

    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ[LEDGER_ENV] = str(folder / f"ledger-{worker}.txt")  # subprocess emulators inherit it
    handler = logging.FileHandler(folder / f"inprocess-{worker}.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite (Table Storage emulator) on free ports for this test session (per xdist worker)."""
    with Azurite() as instance:
        yield instance


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the slow tests first, one at the head of each half of the run: ``make test`` runs
    ``pytest -n 2 --dist worksteal``, which gives each worker one half and lets an idle worker
    take queued tests from the other, so the two reliability runs go in parallel instead of
    ending the run one after the other. (Order only: every test still runs.)"""
    # The reliability runs (the longest) first and on different halves: reverse name order.
    slow = sorted((item for item in items if item.get_closest_marker("slow") is not None), key=lambda i: i.nodeid)[::-1]
    if not slow or len(items) < 2 * len(slow):
        return
    rest = [item for item in items if item.get_closest_marker("slow") is None]
    first, second = slow[0::2], slow[1::2]
    half = len(items) // 2 - len(first)
    items[:] = first + rest[:half] + second + rest[half:]
