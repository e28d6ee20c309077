"""``warden demo``: the offline end-to-end demo over the real HTTP endpoints.

Starts the local stack (Azurite, the Azure emulator with the demo tenant, devhost hosting
``function_app.py``), plays each scenario through the same doors Azure would use (the Event
Grid webhook, timer triggers run through the admin API, the durable HTTP API), checks the end
state each scenario must reach, prints a timeline, verifies the audit chain, and exits non-zero
if anything missed its expected end state.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from cli.stack import LocalStack

__all__ = ["Demo", "run_demo"]

JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"
DEMO_DEPLOYMENT = (
    "/subscriptions/1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11/resourceGroups/rg-contoso-ai-prod"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-openai-prod/deployments/gpt-4o"
)


class ScenarioFailedError(AssertionError):
    """A scenario did not reach its expected end state."""


@dataclass
class Demo:
    """A running demo: the stack, a timeline printer and helpers to talk to devhost."""

    stack: LocalStack
    started: float = field(default_factory=time.monotonic)
    failures: list[str] = field(default_factory=list)
    out: Callable[[str], None] = print

    # -- output -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.out(f"  [{time.monotonic() - self.started:6.1f}s] {text}")

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise ScenarioFailedError(what)
        self.say(f"✓ {what}")

    # -- devhost ------------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return str(self.stack.devhost["systemKeys"][name])

    def eventgrid(self, function: str, events: list[dict[str, Any]], *, cloud: bool = False) -> int:
        headers = {"aeg-event-type": "Notification"}
        if cloud:
            headers["Content-Type"] = "application/cloudevents-batch+json; charset=utf-8"
        response = requests.post(
            f"{self.stack.url}/runtime/webhooks/eventgrid",
            params={"functionName": function, "code": self.key("eventgrid_extension")},
            json=events,
            headers=headers,
            timeout=120,
        )
        return response.status_code

    def run_function(self, name: str) -> int:
        """Run a timer function now, as the portal's "Test/Run" does (admin API)."""
        response = requests.post(
            f"{self.stack.url}/admin/functions/{name}",
            params={"wait": "true"},
            headers={"x-functions-key": str(self.stack.devhost["masterKey"])},
            json={"input": ""},
            timeout=300,
        )
        return response.status_code

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        response = requests.get(
            f"{self.stack.url}/runtime/webhooks/durabletask/instances/{instance_id}",
            params={"code": self.key("durabletask_extension")},
            timeout=30,
        )
        return response.json() if response.status_code in (200, 202) else None

    def wait_instance(self, instance_id: str, statuses: set[str], timeout: float = 60.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.instance(instance_id)
            if state is not None and state.get("runtimeStatus") in statuses:
                return state
            time.sleep(0.2)
        return self.instance(instance_id)

    def emulator(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, f"{self.stack.emulator_url}/_emulator/{path}", timeout=30, **kw)
        response.raise_for_status()
        return response.json() if response.content else None


def _workflow_alert(alert_type: str, system_alert_id: str, resource_id: str, description: str) -> dict[str, Any]:
    """The PascalCase object Defender workflow automation hands the Logic App."""
    now = datetime.now(UTC).isoformat()
    return {
        "SystemAlertId": system_alert_id,
        "AlertType": alert_type,
        "AlertDisplayName": "A Jailbreak attempt on an Azure AI model deployment was blocked by Prompt Shields",
        "Description": description,
        "Severity": "Medium",
        "Status": "Active",
        "StartTimeUtc": now,
        "EndTimeUtc": now,
        "TimeGenerated": now,
        "ProcessingEndTime": now,
        "VendorName": "Microsoft",
        "ProductName": "Microsoft Defender for Cloud",
        "AzureResourceId": resource_id,
        "CompromisedEntity": resource_id.rsplit("/", 1)[-1],
        "Intent": "PrivilegeEscalation",
        "IsIncident": False,
        "ExtendedProperties": {"IP address": "192.0.2.44", "User agent": "python-requests/2.32"},
        "Entities": [],
        "RemediationSteps": ["Review the prompts sent from this IP."],
        "ResourceIdentifiers": [{"Type": "AzureResource", "AzureResourceId": resource_id}],
    }


def _event(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": alert["SystemAlertId"],
        "eventType": "Warden.DefenderForCloud.Alert",
        "subject": alert["AzureResourceId"],
        "eventTime": datetime.now(UTC).isoformat(),
        "dataVersion": "1.0",
        "data": alert,
    }


def scenario_jailbreak_alert(demo: Demo) -> None:
    """A jailbreak alert arrives by Event Grid, is redelivered, then a storm hits the deployment."""
    from shared.bootstrap import container
    from shared.models import incident_instance_id

    sid = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    alert = _workflow_alert(JAILBREAK, sid, DEMO_DEPLOYMENT, "Prompt injection: 'ignore previous instructions'")
    demo.say(f"Defender → Logic App → Event Grid: jailbreak alert {sid[:24]}… on deployment gpt-4o")
    demo.expect(demo.eventgrid("on_defender_alert_event", [_event(alert)]) == 202, "Event Grid delivery accepted (202)")
    incident = incident_instance_id("defender:" + sid.lower())
    state = demo.wait_instance(incident, {"Running", "Pending"})
    demo.expect(state is not None, f"incident {incident} opened (orchestration {state and state['runtimeStatus']})")
    demo.say("Event Grid redelivers the same alert (at-least-once), this time in the CloudEvents schema")
    cloud = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "Warden.DefenderForCloud.Alert",
        "source": "/subscriptions/demo/resourceGroups/rg/providers/Microsoft.EventGrid/topics/warden-alerts",
        "time": datetime.now(UTC).isoformat(),
        "data": alert,
    }
    demo.expect(demo.eventgrid("on_defender_alert_event", [cloud], cloud=True) == 202, "redelivery accepted")
    demo.expect(container().incident_findings.count(incident) == 1, "still one incident with one finding")
    demo.say("a storm: 200 more jailbreak alerts on the same deployment, in batches of 50")
    storm = [
        _workflow_alert(JAILBREAK, f"{sid}-storm-{i}", DEMO_DEPLOYMENT, "Repeated prompt injection attempt")
        for i in range(200)
    ]
    for start in range(0, 200, 50):
        demo.eventgrid("on_defender_alert_event", [_event(a) for a in storm[start : start + 50]])
    count = container().incident_findings.count(incident)
    demo.expect(count == 201, f"the storm joined the open incident: 1 incident, {count} findings recorded")
    _contain_jailbreak(demo, incident)


def _approver_header(user: str) -> dict[str, str]:
    """An App Service Authentication principal with the approver role (local stand-in for Entra ID)."""
    import base64

    claims = [
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": f"oid-{user}"},
        {"typ": "preferred_username", "val": user},
        {"typ": "name", "val": user.split("@", maxsplit=1)[0].title()},
        {"typ": "roles", "val": "Warden.Approver"},
    ]
    body = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(body).encode()).decode()}


def _wait_status(demo: Demo, instance_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    custom: Any = None
    while time.monotonic() < deadline:
        state = demo.instance(instance_id) or {}
        custom = state.get("customStatus") or {}
        if isinstance(custom, dict) and done(custom):
            return custom
        time.sleep(0.2)
    return custom


def _contain_jailbreak(demo: Demo, incident: str) -> None:
    """Triage picks contain-prompt-attack; an on-call approver approves; the RAI policy switches."""
    from shared.azure.cognitive import AzureCognitive
    from shared.bootstrap import container
    from shared.resource_ids import DeploymentId

    step_id = "s1-switch-rai-policy"
    custom = _wait_status(demo, incident, lambda c: bool(c.get("pending_approvals")) or c.get("stage") == "open")
    demo.expect(
        custom.get("playbook") == "contain-prompt-attack",
        f"triage: playbook {custom.get('playbook')} ({str(custom.get('explanation', ''))[:70]}…)",
    )
    pending = [p["step_id"] for p in custom.get("pending_approvals", [])]
    demo.expect(step_id in pending, f"the RAI policy switch waits for an approver (pending: {', '.join(pending)})")
    url = f"{demo.stack.url}/api/approvals/{incident}/{step_id}/decision"
    decision = {"decision": "approve", "justification": "jailbreak confirmed in the prompt logs"}
    status = 0
    for _ in range(50):  # the gate records the approval just after the incident asks for it
        status = requests.post(
            url, json=decision, headers=_approver_header("oncall@contoso.com"), timeout=30
        ).status_code
        if status < 300:
            break
        time.sleep(0.2)
    demo.expect(status < 300, f"on-call approves through the approvals API (HTTP {status})")

    def finished(c: dict[str, Any]) -> bool:
        step: dict[str, Any] = next((s for s in c.get("steps", []) if s.get("step_id") == step_id), {})
        return step.get("status") in {"succeeded", "failed", "no_op"} and c.get("stage") == "open"

    custom = _wait_status(demo, incident, finished)
    final: dict[str, Any] = next((s for s in custom.get("steps", []) if s.get("step_id") == step_id), {})
    demo.expect(
        final.get("status") == "succeeded" and final.get("verified") is True,
        f"{step_id}: {final.get('status')}, verified: {final.get('detail', '')}",
    )
    deployment = AzureCognitive(container().clients).get_deployment(DeploymentId.parse(DEMO_DEPLOYMENT))
    demo.expect(
        deployment.rai_policy_name == "warden-strict",
        f"the emulator's gpt-4o deployment now runs RAI policy {deployment.rai_policy_name}",
    )


def scenario_bad_payload(demo: Demo) -> None:
    """A malformed alert is quarantined with its raw body and acknowledged (no retry storm)."""
    from shared.bootstrap import container

    before = len(container().quarantine.list(source="eventgrid"))
    bad = {"AlertType": JAILBREAK, "Description": "<img src=x onerror=alert(1)> no SystemAlertId"}
    demo.say("a malformed alert (no SystemAlertId, HTML in its description) arrives by Event Grid")
    demo.expect(
        demo.eventgrid("on_defender_alert_event", [_event({**bad, "SystemAlertId": None, "AzureResourceId": "x"})])
        == 202,
        "acknowledged (Event Grid must not retry it)",
    )
    records = container().quarantine.list(source="eventgrid")
    demo.expect(
        len(records) == before + 1, f"quarantined: reason {records[0].reason_code!r}, {records[0].size} raw bytes kept"
    )


def _security_alert_row(alert_type: str, system_alert_id: str, resource_id: str, minutes_ago: int) -> dict[str, Any]:
    """A SecurityAlert row as continuous export to Log Analytics writes it."""
    from datetime import timedelta

    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "TimeGenerated": at,
        "SystemAlertId": system_alert_id,
        "AlertType": alert_type,
        "AlertName": "Access from a Tor IP",
        "DisplayName": "Access from a Tor IP",
        "AlertSeverity": "High",
        "Description": "A Tor exit node accessed the AI resource.",
        "CompromisedEntity": resource_id.rsplit("/", 1)[-1],
        "ResourceId": resource_id,
        "StartTime": at,
        "EndTime": at,
        "ProcessingEndTime": at,
        "ProductName": "Azure Security Center",
        "VendorName": "Microsoft",
        "Status": "New",
        "Entities": "[]",
        "ExtendedProperties": json.dumps({"IP address": "198.51.100.7"}),
        "RemediationSteps": "[]",
        "Tactics": "Execution",
        "Type": "SecurityAlert",
    }


def scenario_security_alert_poll(demo: Demo) -> None:
    """Alerts exported to Log Analytics are picked up by the poller once, late rows included."""
    from shared.bootstrap import container
    from shared.models import incident_instance_id

    account = DEMO_DEPLOYMENT.rsplit("/deployments/", 1)[0]
    first = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    late = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    demo.emulator(
        "POST",
        "workspaces/law-contoso-security/tables/SecurityAlert",
        json={"rows": [_security_alert_row("AI.Azure_AccessFromAnonymizedIP", first, account, 3)]},
    )
    demo.say("continuous export wrote a Tor-access alert to the SecurityAlert table")
    demo.say("timer poll_security_alerts runs (Log Analytics query, watermark in Table Storage)")
    demo.expect(demo.run_function("poll_security_alerts") == 200, "poll succeeded")
    incident = incident_instance_id("defender:" + first.lower())
    demo.expect(demo.wait_instance(incident, {"Running", "Pending"}) is not None, f"incident {incident} opened")
    demo.emulator(
        "POST",
        "workspaces/law-contoso-security/tables/SecurityAlert",
        json={"rows": [_security_alert_row("AI.Azure_AccessFromAnonymizedIP", late, account, 8)]},
    )
    demo.say("a second alert is ingested late: stamped 8 minutes ago, after the last poll")
    queries_before = demo.emulator("GET", "counters")["calls"].get("logs.query", 0)
    demo.expect(demo.run_function("poll_security_alerts") == 200, "next poll succeeded")
    queries_after = demo.emulator("GET", "counters")["calls"].get("logs.query", 0)
    demo.expect(queries_after == queries_before + 1, "one Log Analytics query per poll")
    count = container().incident_findings.count(incident)
    demo.expect(
        count == 2, f"the late alert was caught by the overlap window and joined the incident ({count} findings)"
    )
    demo.expect(demo.run_function("poll_security_alerts") == 200, "a third poll reads the overlap again")
    demo.expect(container().incident_findings.count(incident) == 2, "nothing was taken twice")


def scenario_audit(demo: Demo) -> None:
    """Every decision so far is in the hash-chained audit trail, and the chain verifies."""
    from shared.bootstrap import container

    report = container().audit.verify()
    demo.expect(
        report.ok and report.records > 0,
        f"audit chain verified: {report.records} records, head {report.head_hash[:16]}…",
    )


SCENARIOS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Jailbreak alert → incident, dedupe, storm, approved containment", scenario_jailbreak_alert),
    ("Malformed alert → quarantine", scenario_bad_payload),
    ("SecurityAlert polling with a watermark", scenario_security_alert_poll),
    ("Audit trail", scenario_audit),
]


def run_demo(workdir: Path, *, keep_running: bool = False, out: Callable[[str], None] = print) -> int:
    """Run every scenario; returns 0 when all reached their expected end state."""
    import logging

    from shared.bootstrap import reset_container

    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(workdir / "demo.log"), level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stack = LocalStack(workdir)
    out("Warden demo — offline: Azure emulator (demo tenant) + Azurite + devhost (local Functions host)")
    out(f"  logs and state: {workdir}")
    with stack:
        os.environ.update(stack.app_settings())  # this process reads the same Table Storage
        reset_container()
        demo = Demo(stack, out=out)
        demo.say(f"devhost up at {stack.url}; emulator at {stack.emulator_url}")
        for title, scenario in SCENARIOS:
            out(f"\n== {title}")
            try:
                scenario(demo)
            except ScenarioFailedError as exc:
                demo.failures.append(f"{title}: {exc}")
                demo.say(f"✗ {exc}")
            except Exception as exc:
                demo.failures.append(f"{title}: {type(exc).__name__}: {exc}")
                demo.say(f"✗ {type(exc).__name__}: {exc}")
        out("")
        if demo.failures:
            out(f"DEMO FAILED: {len(demo.failures)} scenario(s) missed their expected end state:")
            for failure in demo.failures:
                out(f"  - {failure}")
        else:
            out(f"DEMO OK: {len(SCENARIOS)} scenarios reached their expected end state.")
        if keep_running:
            out(f"\ndevhost keeps running at {stack.url} (Ctrl-C to stop)")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
        reset_container()
    return 1 if demo.failures else 0
