"""Fixtures for the devhost host tests: the sample app, a shared host, per-test call records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.server import DevHostThread

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "host_app"
HOST_APP = FIXTURES / "function_app.py"
BODY_LIMIT = 64 * 1024


class Recorder:
    """Reads the JSON lines the sample app's functions append (one per invocation)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def calls(self, function: str | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in rows if function is None or r["function"] == function]


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("HOST_APP_RECORD", str(path))
    return Recorder(path)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    """One devhost for the module, on a free port, with a small body limit (64 KiB)."""
    state = tmp_path_factory.mktemp("devhost-state")
    with DevHostThread(HOST_APP, state, port=0, max_request_body_size=BODY_LIMIT) as running:
        yield running
