"""Key Vault events in both schemas through devhost's Event Grid webhook (the full local host:
webhook -> ``on_key_vault_event`` -> Durable engine -> activities -> emulator)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.durable_functions.models.utils import http_utils

from devhost.keys import DURABLE_SYSTEM_KEY, EVENTGRID_SYSTEM_KEY
from devhost.server import DevHostThread
from shared.contracts.rotation import rotation_instance_id
from tests.functional.keys.conftest import ACCOUNT, SECRET, VAULT, VAULT_NAME, Estate
from tests.unit.keys.samples import near_expiry

APP = Path(__file__).with_name("keys_app.py")


@contextlib.contextmanager
def devhost(state: Path) -> Iterator[DevHostThread]:
    """A devhost for one test. The Durable SDK keeps one module-level aiohttp session bound to
    the loop that created it; it is closed on the host's loop before that loop goes away, so
    the next host gets a fresh one (devhost's DevHostThread does not do this itself yet)."""
    with DevHostThread(APP, state, port=0) as host:
        try:
            yield host
        finally:
            host.call(http_utils._close_session())


def _post(host: DevHostThread, function: str, body: Any) -> requests.Response:
    url = f"{host.url}/runtime/webhooks/eventgrid?functionName={function}&code={host.system_key(EVENTGRID_SYSTEM_KEY)}"
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    return requests.post(url, data=json.dumps(body).encode(), headers=headers, timeout=30)


def _status(host: DevHostThread, instance_id: str) -> dict[str, Any] | None:
    url = f"{host.url}/runtime/webhooks/durabletask/instances/{instance_id}?code={host.system_key(DURABLE_SYSTEM_KEY)}"
    response = requests.get(url, timeout=30)
    return None if response.status_code == 404 else response.json()


def _wait_done(host: DevHostThread, instance_id: str) -> dict[str, Any]:
    for _ in range(400):  # bounded polling; the assertion is on the outcome, not on time
        status = _status(host, instance_id)
        if status and status.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} did not finish: {_status(host, instance_id)}")


@pytest.fixture
def no_grace(estate: Estate) -> Estate:
    """The shipped policy with a one-second grace period (the durable timer fires on the real clock)."""
    from shared.bootstrap import APP_ROOT, container
    from shared.policy import parse_policy

    text = (APP_ROOT / "policy.yaml").read_text()
    container().policy = parse_policy(text.replace("grace_period: 24h", "grace_period: 1s"))
    return estate


@pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid-schema", "cloudevents-schema"])
def test_a_near_expiry_event_through_the_webhook_rotates_once(no_grace: Estate, tmp_path: Path, cloud: bool) -> None:
    estate = no_grace
    version = estate.ports.secrets.get_secret(VAULT, SECRET).meta.version
    assert version
    event = near_expiry(vault=VAULT_NAME, secret=SECRET, version=version, cloud=cloud)
    body: Any = event if cloud else [event]  # Event Grid schema arrives as an array
    with devhost(tmp_path / "state") as host:
        assert _post(host, "on_key_vault_event", body).status_code == 202
        iid = rotation_instance_id(ACCOUNT, version)
        status = _wait_done(host, iid)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"]["status"] == "rotated"
        # Event Grid redelivers (at-least-once): nothing rotates twice.
        assert _post(host, "on_key_vault_event", body).status_code == 202
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 1
    latest = estate.ports.secrets.get_secret(VAULT, SECRET)
    assert latest.meta.tags["CredentialId"] == "key2" and latest.meta.version != version


def test_a_malformed_event_is_quarantined_and_acknowledged(no_grace: Estate, tmp_path: Path) -> None:
    event = near_expiry(vault=VAULT_NAME, secret=SECRET, version="abc123")
    event["data"]["Id"] = "not a url"
    with devhost(tmp_path / "state") as host:
        assert _post(host, "on_key_vault_event", [event]).status_code == 202  # acknowledged: never retried
    records = no_grace.ports.quarantine.list(source="key_vault_event")
    assert [r.reason_code for r in records] == ["malformed_key_vault_data"]
    assert no_grace.emulator.calls("arm.accounts.regenerateKey") == 0
