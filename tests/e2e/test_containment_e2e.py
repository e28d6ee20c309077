"""Containment end to end through the real ``function_app.py`` on devhost: a jailbreak alert
arrives by the Event Grid webhook, the incident triages it with the policy, the switch of the
RAI policy is approved (the policy's auto-decision: ``approvals.final_decision: approve`` in a
copy of the shipped policy), the deployment moves to ``warden-strict`` in the emulator, and a
restore over ``POST /api/incidents/{id}/restore`` moves it back. Azure is the emulator's
loopback server; Table Storage is Azurite; orchestrations run on devhost's Durable engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from cli.main import main as cli_main
from devhost.azurite import Azurite
from devhost.server import DevHostThread
from emulator import Emulator
from emulator.server import EmulatorServer
from shared.bootstrap import container, reset_container
from shared.finding import incident_instance_id
from tests.alertgen import RESOURCE_GROUP, alert_id_for
from tests.approvals_support import headers_for
from tests.conftest import SUBSCRIPTION
from tests.e2e.test_alert_intake import alert, deliver, eventgrid_event, status

ROOT = Path(__file__).resolve().parents[2]


def _tenant() -> dict[str, Any]:
    return {
        "subscriptions": [
            {
                "id": SUBSCRIPTION,
                "resource_groups": [
                    {
                        "name": RESOURCE_GROUP,
                        "accounts": [
                            {
                                "name": "contoso-openai",
                                "kind": "OpenAI",
                                "tags": {"owner": "ai-team@contoso.com"},
                                "deployments": [
                                    {
                                        "name": "dep-containment",
                                        "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                                        "sku": {"name": "GlobalStandard", "capacity": 20},
                                        "rai_policy_name": "Microsoft.DefaultV2",
                                    },
                                    {
                                        "name": "dep-gated",
                                        "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                                        "sku": {"name": "GlobalStandard", "capacity": 20},
                                        "rai_policy_name": "Microsoft.DefaultV2",
                                    },
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }


@pytest.fixture(scope="module")
def stack(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevHostThread, Emulator]]:
    emulator = Emulator(_tenant(), seed=3)
    with EmulatorServer(emulator) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("WARDEN_SUBSCRIPTION_IDS", SUBSCRIPTION)
        patch.setenv("WARDEN_TABLES_CONNECTION_STRING", azurite.table_connection_string)
        patch.setenv("WARDEN_EMULATOR_URL", server.url)
        patch.setenv("WARDEN_POLICY_PATH", str(ROOT / "policy.yaml"))
        service = TableServiceClient.from_connection_string(azurite.table_connection_string)
        for table in service.list_tables():
            service.delete_table(table.name)
        reset_container()
        with DevHostThread(ROOT / "function_app.py", tmp_path_factory.mktemp("devhost"), port=0) as host:
            yield host, emulator
        reset_container()


def _rai_policy(emulator: Emulator, deployment: str = "dep-containment") -> str | None:
    with emulator.lock:
        account = emulator.state.account(SUBSCRIPTION, RESOURCE_GROUP, "contoso-openai")
        assert account is not None
        return account.deployments[deployment].rai_policy_name


def _wait(host: DevHostThread, instance_id: str, done: Any, what: str) -> dict[str, Any]:
    """Poll the durable status API until ``done(state)`` holds (generous deadline, not a timing test)."""
    deadline = time.monotonic() + 90
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        state = status(host, instance_id)
        if state is not None and done(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"{what}: last status {state}")


def _approve_every_pending_step(host: DevHostThread, instance_id: str, incident: str) -> list[str]:
    """Wait until ``instance_id`` asks for approvals, then approve each step over the approvals API
    as an on-call engineer; returns the step ids approved."""
    state = _wait(
        host, instance_id, lambda s: bool((s.get("customStatus") or {}).get("pending_approvals")), "approval requested"
    )
    steps = [p["step_id"] for p in state["customStatus"]["pending_approvals"]]
    decision = {"decision": "approve", "justification": "confirmed by on-call"}
    for step_id in steps:
        url = f"{host.url}/api/approvals/{incident}/{step_id}/decision"
        answer = 0
        for _ in range(100):  # the gate records the approval just after the orchestration asks
            answer = requests.post(
                url, json=decision, headers=headers_for("oncall@contoso.com"), timeout=30
            ).status_code
            if answer < 300:
                break
            time.sleep(0.1)
        assert answer < 300, (step_id, answer)
    return steps


def test_a_jailbreak_alert_switches_the_deployment_to_the_strict_rai_policy_and_restore_undoes_it(
    stack: tuple[DevHostThread, Emulator],
) -> None:
    host, emulator = stack
    jailbreak = alert("e2e-containment-1", "dep-containment")
    assert deliver(host, [eventgrid_event(jailbreak)]).status_code == 202
    incident = incident_instance_id("defender:" + alert_id_for("e2e-containment-1").lower())
    assert _approve_every_pending_step(host, incident, incident) == ["s1-switch-rai-policy"]
    state = _wait(host, incident, lambda s: (s.get("customStatus") or {}).get("stage") == "open", "incident responded")
    custom = state["customStatus"]
    assert custom["playbook"] == "contain-prompt-attack"
    steps = {s["step_id"]: s for s in custom["steps"]}
    assert steps["s1-switch-rai-policy"]["status"] == "succeeded"
    assert steps["s1-switch-rai-policy"]["verified"] is True
    assert steps["s1-switch-rai-policy"]["decided_by"] == ["Oncall"]
    assert _rai_policy(emulator) == "warden-strict"
    actions = [r.action for r in container().audit.records(incident_id=incident)]
    assert {"incident.triaged", "approval.granted", "step.succeeded", "incident.verified"} <= set(actions)

    # The restore, as an on-call engineer starts it: warden incident restore ID --endpoint URL.
    argv = ["incident", "restore", incident, "--endpoint", host.url, f"--code={host.function_key}"]
    assert cli_main([*argv, "--reason", "false positive", "--requested-by", "oncall@contoso.com"]) == 0
    approved = _approve_every_pending_step(host, f"{incident}:restore", incident)
    assert approved == ["restore-s1-switch-rai-policy", "restore-s2-tag-resource"]
    restored = _wait(host, f"{incident}:restore", lambda s: s["runtimeStatus"] == "Completed", "restore finished")
    assert restored["output"]["status"] == "restored"
    assert _rai_policy(emulator) == "Microsoft.DefaultV2"
    assert container().audit.verify().ok


def test_restore_over_http_answers_404_for_an_unknown_incident(stack: tuple[DevHostThread, Emulator]) -> None:
    host, _ = stack
    response = requests.post(
        f"{host.url}/api/incidents/inc-{'0' * 40}/restore", params={"code": host.function_key}, timeout=30
    )
    assert response.status_code == 404


def test_warden_incident_restore_reports_an_unknown_incident(
    stack: tuple[DevHostThread, Emulator], capsys: pytest.CaptureFixture[str]
) -> None:
    host, _ = stack
    argv = ["incident", "restore", f"inc-{'1' * 40}", "--endpoint", host.url, f"--code={host.function_key}"]
    assert cli_main(argv) == 1
    assert "HTTP 404" in capsys.readouterr().out


def test_the_switch_waits_for_an_approver_then_runs(stack: tuple[DevHostThread, Emulator]) -> None:
    host, emulator = stack
    jailbreak = alert("e2e-containment-gated", "dep-gated")
    assert deliver(host, [eventgrid_event(jailbreak)]).status_code == 202
    incident = incident_instance_id("defender:" + alert_id_for("e2e-containment-gated").lower())
    state = _wait(
        host, incident, lambda s: bool((s.get("customStatus") or {}).get("pending_approvals")), "approval requested"
    )
    pending = state["customStatus"]["pending_approvals"]
    assert [p["instance_id"] for p in pending] == [f"{incident}:approval:s1-switch-rai-policy"]
    assert _rai_policy(emulator, "dep-gated") == "Microsoft.DefaultV2"  # nothing before the decision
    assert _approve_every_pending_step(host, incident, incident) == ["s1-switch-rai-policy"]
    state = _wait(host, incident, lambda s: (s.get("customStatus") or {}).get("stage") == "open", "incident responded")
    step = next(s for s in state["customStatus"]["steps"] if s["step_id"] == "s1-switch-rai-policy")
    assert step["status"] == "succeeded" and step["decided_by"]
    assert _rai_policy(emulator, "dep-gated") == "warden-strict"
