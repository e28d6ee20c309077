"""The real wiring end to end: function_app.py on devhost with Table Storage on Azurite, the
notifications topic on the emulator's loopback server and a loopback Teams webhook. A gate
starts; the CloudEvent lands on the topic; the Teams card carries signed links; the approver
follows one (GET confirms, POST decides) and the orchestration completes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from devhost.server import DevHostThread
from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.server import EmulatorServer
from shared.bootstrap import reset_container
from shared.contracts.approval import approval_instance_id
from tests.approvals_support import SUB, gate_request, headers_for
from tests.functional.approvals.conftest import ROOT
from tests.functional.approvals.test_notify_channels import TOPIC_HOST, Receiver

KEY = "wired-test-signing-key-0123456789abcdef"


@pytest.fixture(scope="module")
def stack(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    emulator = Emulator(load_tenant(DEMO_TENANT), seed=7)
    server = EmulatorServer(emulator).start()
    teams = Receiver().__enter__()
    service = TableServiceClient.from_connection_string(azurite.table_connection_string)
    for table in ("WardenApprovals", "WardenAudit", "WardenIdempotency"):
        service.delete_table(table)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
            patch.setenv("WARDEN_TABLES_CONNECTION_STRING", azurite.table_connection_string)
            patch.setenv("WARDEN_LINK_SIGNING_KEY", KEY)
            patch.setenv("WARDEN_NOTIFY_TOPIC_ENDPOINT", f"{server.url}/{TOPIC_HOST}/api/events")
            patch.setenv("WARDEN_NOTIFY_TOPIC_KEY", emulator.topic_key("warden-notifications"))
            patch.setenv("WARDEN_TEAMS_WEBHOOK_URL", teams.url)
            reset_container()
            with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
                patch.setenv("WARDEN_PUBLIC_BASE_URL", host.url)
                reset_container()
                yield {"host": host, "emulator": emulator, "teams": teams}
            reset_container()
    finally:
        teams.__exit__()
        server.stop()


def _durable(host: DevHostThread, path: str, **kwargs: Any) -> requests.Response:
    method = "POST" if "json" in kwargs else "GET"
    return requests.request(
        method,
        f"{host.url}/runtime/webhooks/durabletask/{path}",
        params={"code": host.system_key("durabletask_extension")},
        timeout=30,
        **kwargs,
    )


def _wait(host: DevHostThread, instance: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = _durable(host, f"instances/{instance}").json()
        if body.get("runtimeStatus") == wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_a_teams_link_approves_a_step_and_the_gate_completes(stack: dict[str, Any]) -> None:
    host: DevHostThread = stack["host"]
    instance = approval_instance_id("inc-wired", "s1-switch-rai-policy")
    assert _durable(host, f"orchestrators/approval_gate/{instance}", json=gate_request("inc-wired")).status_code == 202
    assert _wait(host, instance, "Running")["runtimeStatus"] == "Running"
    deadline = time.monotonic() + 10
    while not stack["teams"].posts and time.monotonic() < deadline:
        time.sleep(0.05)
    (card,) = stack["teams"].posts
    (event,) = stack["emulator"].published_events("warden-notifications")
    assert event["event"]["type"] == "Warden.Approval.Requested"
    approve = next(a["url"] for a in card["attachments"][0]["content"]["actions"] if a["title"] == "Approve")
    assert approve.startswith(f"{host.url}/api/approvals/link?token=")
    token = parse_qs(urlsplit(approve).query)["token"][0]

    confirm = requests.get(approve, headers=headers_for("bob@contoso.com"), timeout=30)
    assert confirm.status_code == 200 and "Confirm: Approve" in confirm.text
    assert _durable(host, f"instances/{instance}").json()["runtimeStatus"] == "Running"  # GET decided nothing
    csrf = re.search(r'name=csrf value="([^"]+)"', confirm.text)
    assert csrf
    form = {"token": token, "csrf": csrf.group(1), "justification": "approved from Teams"}
    done = requests.post(
        f"{host.url}/api/approvals/link", data=form, headers=headers_for("bob@contoso.com"), timeout=30
    )
    assert done.status_code == 200, done.text
    final = _wait(host, instance, "Completed")
    assert final["output"]["approved"] is True and final["output"]["decided_by"][0]["channel"] == "link"
    replay = requests.post(
        f"{host.url}/api/approvals/link", data=form, headers=headers_for("bob@contoso.com"), timeout=30
    )
    assert replay.status_code == 409
