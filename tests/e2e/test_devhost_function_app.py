"""The real ``function_app.py`` hosted by devhost answers ``GET /api/health`` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.server import DevHostThread

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def warden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host


def test_health_is_anonymous_and_reports_the_service(warden: DevHostThread) -> None:
    response = requests.get(f"{warden.url}/api/health", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["service"] == "warden"


def test_health_accepts_only_get(warden: DevHostThread) -> None:
    assert requests.post(f"{warden.url}/api/health", timeout=10).status_code == 404
