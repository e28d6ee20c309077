"""Notification channels with the real clients: CloudEvents through ``azure-eventgrid`` to the
emulator's topic (loopback server; the basic-topic client drops ``transport=``), Adaptive Cards
POSTed to a loopback Teams receiver; failures are retried, recorded, and never raised."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.server import EmulatorServer
from shared.approvals.notices import approval_notice
from shared.approvals.records import ApprovalRecord
from shared.azure.channels import EventGridChannel, TeamsChannel
from shared.azure.clients import AzureClients
from shared.settings import load_settings
from shared.usecases.notifications import deliver
from tests.approvals_support import LINK_KEY, SUB, XSS, step

TOPIC_HOST = "warden-notifications.eastus-1.eventgrid.azure.net"
NOW = datetime.now(UTC)


class Receiver:
    """A Teams incoming webhook stand-in: records JSON posts; answers 500 ``fail`` times first."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"1")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhookb2/secret-part"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def emulator() -> Iterator[tuple[Emulator, EmulatorServer]]:
    emu = Emulator(load_tenant(DEMO_TENANT), seed=7)
    server = EmulatorServer(emu).start()
    try:
        yield emu, server
    finally:
        server.stop()


def record() -> ApprovalRecord:
    return ApprovalRecord(
        instance_id="inc-1:approval:s1-switch-rai-policy",
        incident_id="inc-1",
        step=step(),
        requirement="one_approver",
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=4),
        title="strict filter",
        explanation=XSS,
    )


def test_approval_requests_reach_event_grid_and_teams(emulator: tuple[Emulator, EmulatorServer]) -> None:
    emu, server = emulator
    key = emu.topic_key("warden-notifications")
    settings = load_settings(
        subscription_ids=[SUB],
        notify_topic_endpoint=f"{server.url}/{TOPIC_HOST}/api/events",
        notify_topic_key=key,
    )
    clients = AzureClients(settings)
    notice = approval_notice(
        record(),
        kind="requested",
        level=0,
        default_role="Warden.Approver",
        base_url="https://warden.example.net",
        link_key=LINK_KEY,
        now=NOW,
    )
    with Receiver(fail=1) as teams:
        results = deliver(
            [EventGridChannel(clients.event_grid_publisher), TeamsChannel(teams.url)], notice, backoff=0.0
        )
        assert [(r.channel, r.ok, r.attempts) for r in results] == [("event_grid", True, 1), ("teams", True, 2)]
        (card,) = teams.posts
    (event,) = emu.published_events("warden-notifications")
    assert event["event"]["type"] == "Warden.Approval.Requested"
    assert event["event"]["subject"] == "inc-1" and event["event"]["source"] == "/warden"
    assert "token=" not in json.dumps(event["event"]["data"])
    content = card["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard"
    assert sum("token=" in a["url"] for a in content["actions"]) == 2
    assert "<script>" not in json.dumps(content["body"]).replace("\\\\<script\\\\>", "")
    clients.close()


def test_a_dead_channel_is_reported_and_never_raises_nor_leaks_the_webhook_url(
    emulator: tuple[Emulator, EmulatorServer], caplog: pytest.LogCaptureFixture
) -> None:
    notice = approval_notice(
        record(), kind="reminder", level=0, default_role="Warden.Approver", base_url=None, link_key=None, now=NOW
    )
    with Receiver(fail=10) as teams, caplog.at_level("WARNING"):
        (result,) = deliver([TeamsChannel(teams.url)], notice, attempts=3, backoff=0.0)
    assert not result.ok and result.attempts == 3 and "HTTP 500" in result.error
    assert "secret-part" not in result.error and "secret-part" not in caplog.text
