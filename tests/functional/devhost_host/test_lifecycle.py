"""Start-up and shutdown: keys, ready file, load errors, the async API and the CLI process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devhost.keys import ENV_FUNCTION_KEY, ENV_MASTER_KEY
from devhost.loader import AppLoadError, UnsupportedBindingError
from devhost.server import DevHost, DevHostThread

from .conftest import FIXTURES, HOST_APP

ROOT = Path(__file__).resolve().parents[3]


def test_keys_are_generated_once_and_persisted(tmp_path: Path) -> None:
    with DevHostThread(HOST_APP, tmp_path, port=0) as first:
        keys = (first.master_key, first.function_key, first.system_key("eventgrid_extension"))
    with DevHostThread(HOST_APP, tmp_path, port=0) as second:
        assert (second.master_key, second.function_key, second.system_key("eventgrid_extension")) == keys
    assert len(set(keys)) == 3
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0


def test_keys_from_the_environment_override_the_persisted_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MASTER_KEY, "master-from-env")
    monkeypatch.setenv(ENV_FUNCTION_KEY, "function-from-env")
    with DevHostThread(HOST_APP, tmp_path, port=0) as host:
        status = requests.get(f"{host.url}/api/items/1", params={"code": "function-from-env"}, timeout=10)
        admin = requests.get(f"{host.url}/api/admin-only", params={"code": "master-from-env"}, timeout=10)
    assert (status.status_code, admin.status_code) == (200, 200)


def test_ready_file_holds_url_and_keys_while_running(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    with DevHostThread(HOST_APP, tmp_path / "state", port=0, ready_file=ready) as host:
        content = json.loads(ready.read_text())
        assert content["url"] == host.url
        assert content["masterKey"] == host.master_key
        assert content["systemKeys"]["eventgrid_extension"] == host.system_key("eventgrid_extension")
    assert not ready.exists()


def test_unsupported_binding_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedBindingError, match=r"'on_queue'.*'queueTrigger'"):
        DevHostThread(FIXTURES / "bad_binding" / "function_app.py", tmp_path, port=0).start()


def test_route_devhost_cannot_honour_is_refused_naming_the_function(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match=r"'file_by_ext'.*mixes literals and parameters"):
        DevHostThread(FIXTURES / "bad_route" / "function_app.py", tmp_path, port=0).start()


def test_async_api_serves_and_stops(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str]:
        host = DevHost(HOST_APP, tmp_path, port=0)
        await host.start()
        try:
            status = await asyncio.to_thread(
                lambda: requests.get(f"{host.url}/admin/host/status", params={"code": host.master_key}, timeout=10)
            )
            return status.status_code, status.json()["state"]
        finally:
            await host.stop()

    assert asyncio.run(scenario()) == (200, "Running")


def test_host_status_requires_the_master_key(host: DevHostThread) -> None:
    response = requests.get(f"{host.url}/admin/host/status", params={"code": host.function_key}, timeout=10)
    assert response.status_code == 401


def test_serve_command_starts_writes_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env_file = tmp_path / "app.env"
    env_file.write_text("HOST_APP_RECORD=" + str(tmp_path / "calls.jsonl") + "\n", encoding="utf-8")
    command = [
        sys.executable, "-m", "devhost", "serve", "--app", str(HOST_APP), "--port", "0",
        "--state-dir", str(tmp_path / "state"), "--ready-file", str(ready), "--env-file", str(env_file),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "HOST_APP_RECORD"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # wait for start-up (bounded; not a timing assertion)
            if ready.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), process.stderr.read() if process.stderr else ""
        info = json.loads(ready.read_text())
        assert requests.get(f"{info['url']}/api/anon", timeout=10).text == "anonymous ok"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert info["masterKey"] in out
    assert "Executed 'Functions.anon' (Succeeded" in err
    # the env file reached the app: the run-on-startup timer recorded into the file it named
    assert "tick_on_startup" in (tmp_path / "calls.jsonl").read_text()
    assert not ready.exists()


def test_serve_command_reports_an_unsupported_binding_and_exits_1(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "devhost", "serve", "--port", "0", "--state-dir", str(tmp_path),
        "--app", str(FIXTURES / "bad_binding" / "function_app.py"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "devhost serve: error: function 'on_queue': binding 'msg' of type 'queueTrigger'" in done.stderr
    assert "Traceback" not in done.stderr
