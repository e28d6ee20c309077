"""`warden scan` reads the estate and changes nothing; `warden replay` delivers saved alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from cli.replay import as_events
from emulator import DEMO_TENANT, Emulator, load_tenant
from emulator.server import EmulatorServer
from shared.bootstrap import reset_container

WRITE_APIS = ("update", "regenerateKey", "createOrUpdate", "delete", "setSecret", "updateSecret", "publish")


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emulator = Emulator(load_tenant(DEMO_TENANT), seed=3)
    with EmulatorServer(emulator) as server:
        tenant = load_tenant(DEMO_TENANT)
        monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", ",".join(s.id for s in tenant.subscriptions))
        monkeypatch.setenv("WARDEN_EMULATOR_URL", server.url)
        monkeypatch.setenv("WARDEN_LOG_ANALYTICS_WORKSPACE_ID", "6b8f2c1d-4e3a-4b7c-8d9e-0a1b2c3d4e5f")
        monkeypatch.setenv("WARDEN_KEY_VAULTS", "kv-contoso-ai")
        reset_container()
        yield emulator
        reset_container()


def test_scan_reports_findings_as_json_and_writes_nothing(estate: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accounts"] >= 3
    kinds = set(report["counts"])
    assert "key:local_auth_enabled" in kinds  # the demo tenant has accounts with key auth on
    assert any(k.startswith("posture:") for k in kinds)
    calls = estate.counts()["calls"]
    writes = {api: n for api, n in calls.items() if n and api.rsplit(".", 1)[-1] in WRITE_APIS}
    assert writes == {}, f"scan must be read-only, made {writes}"


def test_scan_table_lists_findings_most_severe_first(estate: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["SEVERITY", "KIND", "RESOURCE"]
    assert any("AI account(s) scanned" in line for line in out)


def test_replay_wraps_a_bare_alert_like_the_logic_app() -> None:
    events, cloud = as_events(json.dumps({"SystemAlertId": "abc", "AlertType": "AI.Azure_Jailbreak"}))
    assert not cloud
    assert events[0]["id"] == "abc"
    assert events[0]["data"]["AlertType"] == "AI.Azure_Jailbreak"
    events, cloud = as_events(json.dumps([{"specversion": "1.0", "id": "1", "type": "t", "source": "s"}]))
    assert cloud
    with pytest.raises(ValueError, match="not JSON"):
        as_events("{nope")
    with pytest.raises(ValueError, match="mixes"):
        as_events(json.dumps([{"specversion": "1.0"}, {"AlertType": "x"}]))


def test_replay_command_reports_the_host_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from devhost.server import DevHostThread
    from tests.alertgen import alert_id_for, deployment_resource_id, make_alert

    app = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "host_app" / "function_app.py"
    alert = make_alert(
        "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
        "workflow_automation",
        system_alert_id=alert_id_for("replay"),
        resource_id=deployment_resource_id(),
    )
    file = tmp_path / "alert.json"
    file.write_text(json.dumps(alert))
    with DevHostThread(app, tmp_path / "state", port=0) as host:
        code = host.system_key("eventgrid_extension")
        target = "on_event"  # the sample app's Event Grid function
        assert main(["replay", str(file), "--endpoint", host.url, f"--code={code}", "--function", target]) == 0
        assert "HTTP 202" in capsys.readouterr().out
        assert main(["replay", str(file), "--endpoint", host.url, "--code", "wrong", "--function", target]) == 1
