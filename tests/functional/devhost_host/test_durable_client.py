"""devhost + the Durable engine: an HTTP client function starts an orchestration end to end."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import devhost.durable.engine  # noqa: F401 - the Durable engine must be present
from devhost.server import DevHostThread

from .conftest import FIXTURES

APP = FIXTURES / "durable_client" / "function_app.py"


@pytest.fixture(scope="module")
def durable_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHostThread]:
    with DevHostThread(APP, tmp_path_factory.mktemp("durable-state"), port=0) as host:
        yield host


def _wait_for_terminal(url: str) -> dict[str, object]:
    """Poll the status URL until the instance leaves Pending/Running (bounded attempts)."""
    body: dict[str, object] = {}
    for _ in range(400):
        body = requests.get(url, timeout=10).json()
        if body["runtimeStatus"] not in ("Pending", "Running"):
            return body
        time.sleep(0.025)
    return body


def test_client_function_starts_orchestration_and_returns_check_status_response(
    durable_host: DevHostThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devhost")
    response = requests.post(
        f"{durable_host.url}/api/start/World", params={"code": durable_host.function_key}, timeout=10
    )
    assert response.status_code == 202
    body = response.json()
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"].startswith(durable_host.url + "/runtime/webhooks/durabletask/instances/")
    status = _wait_for_terminal(body["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == "Hello World!"
    assert status["instanceId"] == body["id"]
    executed = [r.getMessage() for r in caplog.records if "Executed 'Functions.start_hello'" in r.getMessage()]
    # (Warden's log redaction, when installed by another test in this process, masks the id itself)
    assert len(executed) == 1
    assert "InstanceId=" in executed[0]


def test_status_uri_requires_the_system_key(durable_host: DevHostThread) -> None:
    response = requests.post(
        f"{durable_host.url}/api/start/Key", params={"code": durable_host.function_key}, timeout=10
    )
    keyless = response.json()["statusQueryGetUri"].split("?", 1)[0]
    assert requests.get(keyless, timeout=10).status_code == 401


def test_durable_store_lives_in_the_state_dir(durable_host: DevHostThread) -> None:
    assert Path(durable_host.host.state_dir, "durable.sqlite3").exists()
