"""The loopback server's admin API under ``/_emulator/`` and the ``python -m emulator`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.server import EmulatorServer
from tests.functional.emulator.conftest import ACCOUNT_DEV_ID, SUB_DEV, SUB_PROD, TOPIC_HOST, Env

REPO = Path(__file__).resolve().parents[3]


def _admin(env: Env, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, f"{env.url}/_emulator/{path}", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_health_and_api_names(loopback: Env) -> None:
    assert _admin(loopback, "GET", "health").json() == {"status": "ok"}
    apis = _admin(loopback, "GET", "apis").json()
    assert "arm.accounts.regenerateKey" in apis and "dataplane.probe" in apis


def test_state_snapshot_shows_fingerprints_never_key_values(loopback: Env) -> None:
    response = _admin(loopback, "GET", "state")
    assert response.status_code == 200
    state = response.json()
    assert [s["id"] for s in state["subscriptions"]] == [SUB_PROD, SUB_DEV]
    for value in loopback.emulator.account_keys(ACCOUNT_DEV_ID).values():
        assert value not in response.text
    dev = next(a for s in state["subscriptions"] for a in s["accounts"] if a["id"] == ACCOUNT_DEV_ID)
    assert dev["keys"]["key1"].startswith("sha256:")


def test_faults_can_be_added_listed_and_cleared(loopback: Env) -> None:
    created = _admin(loopback, "POST", "faults", json={"api": "arm.*", "kind": "error", "status": 500, "count": 2})
    assert created.status_code == 201
    listed = _admin(loopback, "GET", "faults").json()
    assert [(f["api"], f["kind"], f["remaining"]) for f in listed] == [("arm.*", "error", 2)]
    assert _admin(loopback, "DELETE", "faults", params={"id": created.json()["id"]}).json() == {"removed": 1}
    assert _admin(loopback, "GET", "faults").json() == []


def test_bad_fault_is_rejected_with_the_reason(loopback: Env) -> None:
    response = _admin(loopback, "POST", "faults", json={"api": "arm.nothing", "kind": "error"})
    assert response.status_code == 400
    assert "arm.nothing" in response.json()["error"]


def test_counters_count_gateway_calls_and_reset(loopback: Env) -> None:
    url = f"{loopback.url}/management.azure.com/subscriptions/{SUB_DEV}/providers/Microsoft.CognitiveServices/accounts"
    response = requests.get(
        url, params={"api-version": "2025-09-01"}, headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
    assert "x-ms-request-id" in response.headers
    counters = _admin(loopback, "GET", "counters").json()
    assert counters["calls"]["arm.accounts.list"] == 1
    assert counters["arm"][SUB_DEV]["reads"] == 1
    _admin(loopback, "POST", "counters/reset")
    assert _admin(loopback, "GET", "counters").json()["calls"] == {}


def test_reset_restores_the_seeded_state(loopback: Env) -> None:
    before = loopback.emulator.account_keys(ACCOUNT_DEV_ID)
    loopback.clients.cognitive(SUB_DEV).accounts.regenerate_key(
        "rg-contoso-ai-dev", "contoso-openai-dev", key_name="Key1"
    )
    assert loopback.emulator.account_keys(ACCOUNT_DEV_ID) != before
    assert _admin(loopback, "POST", "reset").status_code == 200
    assert loopback.emulator.account_keys(ACCOUNT_DEV_ID) == before  # seeded keys come back


def test_events_can_be_listed_and_cleared(loopback: Env) -> None:
    key = loopback.emulator.topic_key(TOPIC_HOST)
    event = {"id": "e1", "subject": "s", "eventType": "T", "eventTime": "2026-11-25T00:00:00Z", "data": {}}
    publish = requests.post(
        f"{loopback.url}/{TOPIC_HOST}/api/events?api-version=2018-01-01",
        json=[event],
        headers={"aeg-sas-key": key},
        timeout=10,
    )
    assert publish.status_code == 200
    events = _admin(loopback, "GET", "events", params={"topic": "warden-notifications"}).json()
    assert [e["event"]["id"] for e in events] == ["e1"]
    _admin(loopback, "DELETE", "events")
    assert _admin(loopback, "GET", "events").json() == []


def test_tenant_can_be_replaced_and_bad_tenants_are_explained(loopback: Env) -> None:
    tenant = {
        "subscriptions": [{"id": SUB_DEV, "resource_groups": [{"name": "rg-x", "accounts": [{"name": "only-one"}]}]}]
    }
    loaded = _admin(loopback, "POST", "tenant", data=json.dumps(tenant))
    assert loaded.status_code == 200
    names = [a.name for a in loopback.clients.cognitive(SUB_DEV).accounts.list()]
    assert names == ["only-one"]
    bad = _admin(loopback, "POST", "tenant", data="subscriptions: [{id: not-a-guid}]")
    assert bad.status_code == 400
    assert any(p.startswith("subscriptions[0].id") for p in bad.json()["problems"])


def test_throttling_switch_makes_an_empty_bucket_answer_429() -> None:
    # A frozen monotonic clock: the read bucket (250) never refills, so call 251 is throttled.
    emulator = Emulator(load_tenant(DEMO_TENANT), seed=1, monotonic=lambda: 100.0)
    with EmulatorServer(emulator) as server:
        admin = f"{server.url}/_emulator/throttling"
        assert requests.post(admin, json={"enabled": True}, timeout=10).json() == {"enabled": True}
        url = (
            f"{server.url}/management.azure.com/subscriptions/{SUB_DEV}/providers/Microsoft.CognitiveServices/accounts"
        )
        statuses = []
        with requests.Session() as session:
            for _ in range(251):
                response = session.get(
                    url, params={"api-version": "2025-09-01"}, headers={"Authorization": "Bearer t"}, timeout=10
                )
                statuses.append(response.status_code)
    assert statuses[:250] == [200] * 250
    assert statuses[250] == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert emulator.counts()["arm"][SUB_DEV]["reads"] == 251


def test_unknown_gateway_host_is_not_found(loopback: Env) -> None:
    response = requests.get(f"{loopback.url}/example.com/anything", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "HostNotEmulated"


@pytest.mark.timeout(60)
def test_cli_serves_the_demo_tenant_and_writes_the_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "emulator.url"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--tenant", str(DEMO_TENANT), "--ready-file", str(ready), "--seed", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"emulator did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/_emulator/health", timeout=10).json() == {"status": "ok"}
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert out.splitlines()[0] == url


def test_cli_rejects_a_bad_tenant_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("subscriptions:\n  - id: 1\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--tenant", str(bad)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "subscriptions[0].id" in result.stderr
