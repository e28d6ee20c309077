"""``warden demo``: the offline end-to-end demo over the real HTTP endpoints.

Starts the local stack (Azurite, the Azure emulator with the demo tenant, devhost hosting
``function_app.py``), plays each scenario through the same doors Azure would use (the Event
Grid webhook, timer triggers run through the admin API, the durable HTTP API), checks the end
state each scenario must reach, prints a timeline, verifies the audit chain, and exits non-zero
if anything missed its expected end state.

Scenarios (``SCENARIOS``), each with the end state it checks:

- jailbreak alert -> one incident despite redelivery and a storm -> approved switch of the
  deployment to the ``warden-strict`` RAI policy (read back from the emulator);
- malformed alert -> quarantined with its raw body, acknowledged;
- SecurityAlert polling -> one incident, the late row caught by the overlap, nothing twice;
- credential theft -> approved emergency rotation -> the leaked key is refused by the data
  plane and Key Vault holds a new, working version (checked with Warden's own probe);
- key-age scan -> scheduled rotation in its grace period: new secret version, ``CredentialId``
  flipped, new and old key both working; a redundant ``SecretNearExpiry`` rotates nothing;
- token spike in ``AzureMetrics`` -> the detector timer opens an ``anomaly:token_spike`` incident;
- unapproved model deployment -> approved deletion (gone from ARM) -> restore over
  ``POST /api/incidents/{id}/restore`` -> approved -> back with the same model, SKU and RAI policy.

Approvals are given through the approvals API as the demo approver (an App Service
Authentication principal with the ``Warden.Approver`` role); the shipped ``policy.yaml`` is used
as is. The demo acts on the demo tenant only, and starts from empty state in its workdir.
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
CREDENTIAL_THEFT = "AI.Azure_CredentialTheftAttempt"
PROD_ACCOUNT = (
    "/subscriptions/1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11/resourceGroups/rg-contoso-ai-prod"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-openai-prod"
)
DEMO_DEPLOYMENT = PROD_ACCOUNT + "/deployments/gpt-4o"
AISERVICES_ACCOUNT = (
    "/subscriptions/1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11/resourceGroups/rg-contoso-ai-prod"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-aiservices-prod"
)
DEV_ACCOUNT = (
    "/subscriptions/8b2e4d17-3c6a-4f90-b5d2-7e1a9c4f0b22/resourceGroups/rg-contoso-ai-dev"
    "/providers/Microsoft.CognitiveServices/accounts/contoso-openai-dev"
)
DEV_DEPLOYMENT = DEV_ACCOUNT + "/deployments/gpt-4o"
VAULT_URL = "https://kv-contoso-ai.vault.azure.net"
VAULT_RG = "/subscriptions/1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11/resourceGroups/rg-contoso-security"
PROD_SECRET = "contoso-openai-prod-key"  # noqa: S105  # nosec B105 # a secret's name, not a secret
DEV_SECRET = "contoso-openai-dev-key"  # noqa: S105  # nosec B105 # a secret's name, not a secret
WORKSPACE = "law-contoso-security"
DEMO_APPROVER = "oncall@contoso.com"


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


def _workflow_alert(
    alert_type: str,
    system_alert_id: str,
    resource_id: str,
    description: str,
    display_name: str = "A Jailbreak attempt on an Azure AI model deployment was blocked by Prompt Shields",
) -> dict[str, Any]:
    """The PascalCase object Defender workflow automation hands the Logic App."""
    now = datetime.now(UTC).isoformat()
    return {
        "SystemAlertId": system_alert_id,
        "AlertType": alert_type,
        "AlertDisplayName": display_name,
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
    from shared.finding import incident_instance_id

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


def _approve(demo: Demo, incident: str, step_id: str, justification: str) -> int:
    """The demo approver approves ``step_id`` through the approvals API; returns the HTTP status.

    The gate records the pending approval just after the orchestration asks for it, so the
    first calls may answer 404; they are retried for a few seconds.
    """
    url = f"{demo.stack.url}/api/approvals/{incident}/{step_id}/decision"
    decision = {"decision": "approve", "justification": justification}
    status = 0
    for _ in range(100):
        status = requests.post(url, json=decision, headers=_approver_header(DEMO_APPROVER), timeout=30).status_code
        if status < 300:
            break
        time.sleep(0.1)
    return status


def _step(custom: dict[str, Any], step_id: str) -> dict[str, Any]:
    """One step of an incident's custom status (empty when absent)."""
    return next((s for s in custom.get("steps", []) if s.get("step_id") == step_id), {})


def _step_finished(step_id: str) -> Callable[[dict[str, Any]], bool]:
    """Whether ``step_id`` ran and the incident moved on to its open (absorbing) stage."""

    def done(custom: dict[str, Any]) -> bool:
        ended = _step(custom, step_id).get("status") in {"succeeded", "failed", "no_op", "rejected", "expired"}
        return ended and custom.get("stage") == "open"

    return done


def _wait_pending(demo: Demo, incident: str) -> dict[str, Any]:
    """The incident's custom status once it asks for an approval (or reached ``open`` without)."""
    result: dict[str, Any] = _wait_status(
        demo, incident, lambda c: bool(c.get("pending_approvals")) or c.get("stage") in {"open", "done"}
    )
    return result


def _approve_step(
    demo: Demo,
    incident: str,
    *,
    playbook: str,
    triaged: str,
    step_id: str,
    waiting: str,
    justification: str,
    approving: str,
) -> dict[str, Any]:
    """The on-call path shared by the scenarios: the incident is triaged to ``playbook``, the step
    waits for an approver, the demo approver approves through the API, the step finishes.
    Returns the step's final entry of the custom status."""
    custom = _wait_pending(demo, incident)
    reason = str(custom.get("explanation") or "")[:70]
    demo.expect(custom.get("playbook") == playbook, f"{triaged}: playbook {custom.get('playbook')} ({reason}…)")
    pending = [p["step_id"] for p in custom.get("pending_approvals", [])]
    demo.expect(step_id in pending, f"{waiting} (pending: {', '.join(pending)})")
    status = _approve(demo, incident, step_id, justification)
    demo.expect(status < 300, f"{approving} (HTTP {status})")
    return _step(_wait_status(demo, incident, _step_finished(step_id)), step_id)


def _contain_jailbreak(demo: Demo, incident: str) -> None:
    """Triage picks contain-prompt-attack; an on-call approver approves; the RAI policy switches."""
    from shared.azure.cognitive import AzureCognitive
    from shared.bootstrap import container
    from shared.resource_ids import DeploymentId

    step_id = "s1-switch-rai-policy"
    final = _approve_step(
        demo,
        incident,
        playbook="contain-prompt-attack",
        triaged="triage",
        step_id=step_id,
        waiting="the RAI policy switch waits for an approver",
        justification="jailbreak confirmed in the prompt logs",
        approving="on-call approves through the approvals API",
    )
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
    from shared.finding import incident_instance_id

    account = DEMO_DEPLOYMENT.rsplit("/deployments/", 1)[0]
    first = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    late = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    demo.emulator(
        "POST",
        f"workspaces/{WORKSPACE}/tables/SecurityAlert",
        json={"rows": [_security_alert_row("AI.Azure_AccessFromAnonymizedIP", first, account, 3)]},
    )
    demo.say("continuous export wrote a Tor-access alert to the SecurityAlert table")
    demo.say("timer poll_security_alerts runs (Log Analytics query, watermark in Table Storage)")
    demo.expect(demo.run_function("poll_security_alerts") == 200, "poll succeeded")
    incident = incident_instance_id("defender:" + first.lower())
    demo.expect(demo.wait_instance(incident, {"Running", "Pending"}) is not None, f"incident {incident} opened")
    demo.emulator(
        "POST",
        f"workspaces/{WORKSPACE}/tables/SecurityAlert",
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


def _key_accepted(endpoint: str, key: str) -> bool:
    """Whether the account's data plane accepts ``key`` (Warden's own probe, via the emulator)."""
    from shared.bootstrap import container
    from shared.ports.probe import KeyRejectedError

    try:
        container().clients.data_plane().check_key(endpoint, key)
    except KeyRejectedError:
        return False
    return True


def _credential_id(tags: Any) -> str:
    return str({str(k).lower(): v for k, v in dict(tags).items()}.get("credentialid", "?"))


def _logged_summary(demo: Demo, marker: str) -> dict[str, Any]:
    """The JSON summary a timer function logged last (``marker`` then JSON) in devhost's log."""
    log = demo.stack.workdir / "devhost.log"
    found: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if marker in line:
                with contextlib.suppress(ValueError):
                    found = json.loads(line.split(marker, 1)[1])
    return found


def _counts(kinds: dict[str, int]) -> str:
    return ", ".join(f"{kind} ×{count}" for kind, count in sorted(kinds.items())) or "none"


def scenario_credential_theft(demo: Demo) -> None:
    """A key leaked in a model response: approved emergency rotation, the leaked key stops working."""
    from shared.azure.cognitive import AzureCognitive
    from shared.azure.vault import AzureSecrets
    from shared.bootstrap import container
    from shared.finding import incident_instance_id
    from shared.resource_ids import AccountId

    clients = container().clients
    endpoint = AzureCognitive(clients).get_account(AccountId.parse(DEV_ACCOUNT)).endpoint or ""
    secrets = AzureSecrets(clients)
    before = secrets.get_secret(VAULT_URL, DEV_SECRET)
    leaked, slot = before.value, _credential_id(before.meta.tags)
    demo.expect(
        _key_accepted(endpoint, leaked),
        f"before: {slot} of contoso-openai-dev (what Key Vault secret {DEV_SECRET} hands out) works",
    )
    sid = f"2517{uuid.uuid4().int % 10**14:014d}_{uuid.uuid4()}"
    alert = _workflow_alert(
        CREDENTIAL_THEFT,
        sid,
        DEV_DEPLOYMENT,
        "An API key of contoso-openai-dev appeared in a model response",
        display_name="Detected credential theft attempts on an Azure AI model deployment",
    )
    demo.say("Defender → Event Grid: credential theft alert (the key leaked in a response) on contoso-openai-dev")
    demo.expect(demo.eventgrid("on_defender_alert_event", [_event(alert)]) == 202, "Event Grid delivery accepted (202)")
    incident = incident_instance_id("defender:" + sid.lower())
    step_id = "s1-rotate-key-emergency"
    final = _approve_step(
        demo,
        incident,
        playbook="rotate-exposed-key",
        triaged=f"incident {incident[:20]}… triaged",
        step_id=step_id,
        waiting="the emergency rotation waits for an approver",
        justification="key seen in a model response; rotate now",
        approving="on-call approves through the approvals API",
    )
    demo.expect(final.get("status") == "succeeded", f"{step_id}: {final.get('status')} ({final.get('detail', '')})")
    demo.expect(not _key_accepted(endpoint, leaked), "the leaked key is refused by the account's data plane (401)")
    after = secrets.get_secret(VAULT_URL, DEV_SECRET)
    demo.expect(
        after.meta.version != before.meta.version and _key_accepted(endpoint, after.value),
        f"Key Vault holds a working key: new version of {DEV_SECRET}, "
        f"CredentialId {slot} → {_credential_id(after.meta.tags)}",
    )


def scenario_key_age_scan(demo: Demo) -> None:
    """The daily key-age scan finds keys past max age and starts a zero-downtime rotation."""
    from shared.azure.cognitive import AzureCognitive
    from shared.azure.vault import AzureSecrets
    from shared.bootstrap import container
    from shared.contracts.rotation import rotation_instance_id
    from shared.resource_ids import AccountId

    clients = container().clients
    account = AccountId.parse(PROD_ACCOUNT)
    endpoint = AzureCognitive(clients).get_account(account).endpoint or ""
    secrets = AzureSecrets(clients)
    before = secrets.get_secret(VAULT_URL, PROD_SECRET)
    slot = _credential_id(before.meta.tags)
    demo.say("timer key_age_scan runs: Resource Graph + one AzureActivity query + one listing per Key Vault")
    demo.expect(demo.run_function("key_age_scan") == 200, "scan succeeded")
    summary = _logged_summary(demo, "key scan done: ")
    kinds: dict[str, int] = summary.get("findings") or {}
    demo.expect(kinds.get("key:age_exceeded", 0) > 0, f"findings: {_counts(kinds)}")
    rotation = rotation_instance_id(account, before.meta.version or "")
    custom = _wait_status(demo, rotation, lambda c: c.get("stage") == "grace_period")
    demo.expect(
        custom.get("stage") == "grace_period",
        f"scheduled rotation {rotation[:20]}… of contoso-openai-prod ran; now in its grace period",
    )
    after = secrets.get_secret(VAULT_URL, PROD_SECRET)
    flipped = _credential_id(after.meta.tags)
    demo.expect(
        after.meta.version != before.meta.version and flipped not in (slot, "?"),
        f"Key Vault: new version of {PROD_SECRET}, CredentialId {slot} → {flipped}, "
        f"expires {after.meta.expires_on:%Y-%m-%d}"
        if after.meta.expires_on
        else "no expiry",
    )
    demo.expect(_key_accepted(endpoint, after.value), f"the new {flipped} works on the data plane")
    demo.expect(
        _key_accepted(endpoint, before.value),
        f"zero downtime: clients still holding {slot} keep working until the next rotation",
    )
    version = before.meta.version or ""
    demo.say(f"Key Vault → Event Grid: SecretNearExpiry for the version the scan just replaced ({version[:8]}…)")
    event = _secret_event("Microsoft.KeyVault.SecretNearExpiry", PROD_SECRET, version)
    quarantined = len(container().quarantine.list(source="key_vault_event"))
    demo.expect(demo.eventgrid("on_key_vault_event", [event]) == 202, "delivered to on_key_vault_event (202)")
    latest = secrets.get_secret(VAULT_URL, PROD_SECRET)
    demo.expect(
        latest.meta.version == after.meta.version
        and len(container().quarantine.list(source="key_vault_event")) == quarantined,
        "read as valid and already rotated: nothing rotated twice",
    )


def _secret_event(event_type: str, secret: str, version: str) -> dict[str, Any]:
    """A Key Vault secret event in the Event Grid schema (data in the swagger's PascalCase)."""
    vault = VAULT_URL.removeprefix("https://").split(".", 1)[0]
    return {
        "id": str(uuid.uuid4()),
        "topic": f"{VAULT_RG}/providers/Microsoft.KeyVault/vaults/{vault}",
        "subject": secret,
        "eventType": event_type,
        "eventTime": datetime.now(UTC).isoformat(),
        "data": {
            "Id": f"{VAULT_URL}/secrets/{secret}/{version}",
            "VaultName": vault,
            "ObjectType": "Secret",
            "ObjectName": secret,
            "Version": version,
            "NBF": None,
            "EXP": int(datetime.now(UTC).timestamp()) + 30 * 86_400,
        },
        "dataVersion": "1",
        "metadataVersion": "1",
    }


def _retarget_metric(row: dict[str, Any], account_id: str) -> dict[str, Any]:
    """An ``AzureMetrics`` row of the labeled dataset, moved to ``account_id`` (JSON-ready)."""
    parts = account_id.split("/")
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    out.update(
        ResourceId=account_id.upper(),
        _ResourceId=account_id.lower(),
        Resource=parts[-1].upper(),
        ResourceGroup=parts[4].upper(),
        SubscriptionId=parts[2],
    )
    return out


def scenario_token_spike(demo: Demo) -> None:
    """Fourteen days of token usage with a spike two hours ago: the detector opens an incident."""
    from datetime import timedelta

    from emulator.datasets import generate_anomaly_dataset
    from shared.bootstrap import container
    from shared.finding import incident_instance_id

    data = generate_anomaly_dataset(seed=7, now=datetime.now(UTC), grain=timedelta(hours=1))
    label = data.labels_for("token_spike")[0]
    rows = [
        _retarget_metric(row, AISERVICES_ACCOUNT)
        for row in data.tables["AzureMetrics"]
        if str(row["_ResourceId"]).lower() == label.account_id.lower() and row["MetricName"] == "TokenTransaction"
    ]
    demo.emulator("POST", f"workspaces/{WORKSPACE}/tables/AzureMetrics", json={"rows": rows})
    spike = label.start.isoformat().replace("+00:00", "Z")
    demo.say(f"diagnostic settings exported 14 days of token metrics of contoso-aiservices-prod ({len(rows)} rows)")
    demo.say(f"… with {label.note} in the hour starting {label.start:%H:%M} UTC")
    demo.say("timer anomaly_detectors runs (one KQL query per detector)")
    demo.expect(demo.run_function("anomaly_detectors") == 200, "detectors ran")
    summary = _logged_summary(demo, "anomaly detectors: ")
    kinds: dict[str, int] = summary.get("findings") or {}
    demo.expect(kinds.get("anomaly:token_spike", 0) > 0, f"findings: {_counts(kinds)}")
    incident = incident_instance_id(f"anomaly:token_spike|{AISERVICES_ACCOUNT.lower()}|{spike}")
    if demo.instance(incident) is None:  # another bin of the spike may have opened it
        incident = container().open_incidents.get("resource:" + AISERVICES_ACCOUNT.lower()) or incident
    custom = _wait_pending(demo, incident)
    demo.expect(
        custom.get("kind") == "anomaly:token_spike",
        f"incident {incident[:20]}… opened for {custom.get('kind')} (playbook {custom.get('playbook')})",
    )


def _shape(info: Any) -> tuple[Any, ...]:
    return (
        info.model_format,
        info.model_name,
        info.model_version,
        info.sku_name,
        info.sku_capacity,
        info.rai_policy_name,
    )


def scenario_unapproved_deployment(demo: Demo) -> None:
    """A model off the allowlist is deployed: approved removal (snapshot kept), then restore."""
    from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

    from shared.azure.cognitive import AzureCognitive
    from shared.bootstrap import container
    from shared.finding import incident_instance_id
    from shared.ports.cognitive import CognitiveNotFoundError
    from shared.resource_ids import AccountId, DeploymentId

    clients = container().clients
    account = AccountId.parse(PROD_ACCOUNT)
    arm = clients.cognitive(account.subscription_id)
    cognitive = AzureCognitive(clients, polling_interval=0)
    # The only deployment of its model on the account: the last-deployment guard keeps approved
    # models serving, and does not hold back the removal of a model that is not on the allowlist.
    specs = {"gpt35-green": ("Standard", 30, "contoso-strict")}
    for name, (sku, capacity, rai) in specs.items():
        body = Deployment(
            sku=Sku(name=sku, capacity=capacity),
            properties=DeploymentProperties(
                model=DeploymentModel(format="OpenAI", name="gpt-35-turbo", version="0125"), rai_policy_name=rai
            ),
        )
        arm.deployments.begin_create_or_update(
            account.resource_group, account.name, name, body, polling_interval=0
        ).result()
    name = "gpt35-green"
    deployment = DeploymentId.parse(f"{PROD_ACCOUNT}/deployments/{name}")
    original = cognitive.get_deployment(deployment)
    demo.say(
        f"a developer deploys {original.model_name} {original.model_version} (not on the allowlist) as "
        f"{name} on contoso-openai-prod (ARM PUT): {original.sku_name} x{original.sku_capacity}, "
        f"RAI {original.rai_policy_name}"
    )
    from emulator.datasets.events import resource_write_success

    event = resource_write_success(
        str(deployment), "6d7e8f90-0000-4000-8000-0000000000aa", tenant_id="4d2c6a8e-1b3f-4e5a-9c7d-0f1e2d3c4b5a"
    )
    demo.expect(demo.eventgrid("on_resource_event", [event]) == 202, "ARM → Event Grid: ResourceWriteSuccess (202)")
    key = f"model:unapproved_deployment|{str(deployment).lower()}|openai/gpt-35-turbo@0125"
    incident = incident_instance_id(key)
    step_id = "s1-delete-deployment"
    final = _approve_step(
        demo,
        incident,
        playbook="remove-unapproved-deployment",
        triaged=f"incident {incident[:20]}… opened",
        step_id=step_id,
        waiting="the deletion waits for an approver",
        justification="model not approved for production",
        approving="on-call approves the deletion",
    )
    demo.expect(
        final.get("status") == "succeeded" and final.get("verified") is True,
        f"{step_id}: {final.get('status')}, verified ({final.get('detail', '')})",
    )
    try:
        cognitive.get_deployment(deployment)
        gone = False
    except CognitiveNotFoundError:
        gone = True
    demo.expect(gone, f"contoso-openai-prod/{name} is gone from the emulator (snapshot kept)")

    demo.say("the owners confirm the model was approved after all: restore")
    response = requests.post(
        f"{demo.stack.url}/api/incidents/{incident}/restore",
        params={"code": str(demo.stack.devhost["functionKey"])},
        json={"requested_by": "ai-platform@contoso.com", "reason": "model approved by the AI board"},
        timeout=30,
    )
    demo.expect(response.status_code == 202, f"POST /api/incidents/{incident[:12]}…/restore accepted (202)")
    restore = f"{incident}:restore"
    custom = _wait_pending(demo, restore)
    gate = f"restore-{step_id}"
    pending = [p["step_id"] for p in custom.get("pending_approvals", [])]
    demo.expect(gate in pending, f"the restore waits for an approver (pending: {', '.join(pending)})")
    status = _approve(demo, incident, gate, "restore approved by the AI board")
    demo.expect(status < 300, f"on-call approves the restore (HTTP {status})")
    state = demo.wait_instance(restore, {"Completed", "Failed", "Terminated"}) or {}
    output = state.get("output") or {}
    restored_step = _step(output if isinstance(output, dict) else {}, gate)
    demo.expect(
        isinstance(output, dict) and output.get("status") == "restored",
        f"restore {state.get('runtimeStatus')}: {restored_step.get('detail') or output}",
    )
    restored = cognitive.get_deployment(deployment)
    demo.expect(
        _shape(restored) == _shape(original),
        f"contoso-openai-prod/{name} is back identical: {restored.model_name} {restored.model_version}, "
        f"{restored.sku_name} x{restored.sku_capacity}, RAI {restored.rai_policy_name}",
    )


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
    ("Credential theft → approved emergency key rotation", scenario_credential_theft),
    ("Key-age scan → zero-downtime scheduled rotation", scenario_key_age_scan),
    ("Token-spike anomaly → incident", scenario_token_spike),
    ("Unapproved model deployment → approved removal, then restore", scenario_unapproved_deployment),
    ("Audit trail", scenario_audit),
]


def _demo_settings() -> dict[str, str]:
    """App settings the demo adds: the demo tenant's Key Vaults (dual-credential secrets)."""
    from emulator import DEMO_TENANT
    from emulator.tenant import load_tenant

    vaults = [v.name for sub in load_tenant(DEMO_TENANT).subscriptions for rg in sub.resource_groups for v in rg.vaults]
    return {"WARDEN_KEY_VAULTS": ",".join(vaults)}


def keep_running_notice(url: str) -> list[str]:
    """What ``--keep-running`` prints: where devhost is, the approval page and the CLI."""
    principal = _approver_header(DEMO_APPROVER)["X-MS-CLIENT-PRINCIPAL"]
    return [
        "",
        f"devhost keeps running at {url} (Ctrl-C to stop)",
        f"  approval page: {url}/api/approvals/page",
        f"    (send X-MS-CLIENT-PRINCIPAL as the demo approver {DEMO_APPROVER}; App Service Authentication",
        "     adds it in Azure — locally use a header extension, or the CLI:)",
        f"  export WARDEN_CLIENT_PRINCIPAL={principal}",
        f"  warden approvals list --endpoint {url}",
    ]


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM, so the stack is stopped cleanly either way."""
    import signal
    import threading

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fresh_state(workdir: Path) -> None:
    """Start from empty state: a reused ``--workdir`` keeps Azurite's tables and devhost's
    Durable store, whose records (seen findings, open incidents) would change every scenario."""
    import shutil

    workdir.mkdir(parents=True, exist_ok=True)
    for folder in ("azurite", "devhost"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    for name in ("demo.log", "devhost.log", "emulator.log", "azurite.log", "devhost.json", "emulator.url"):
        (workdir / name).unlink(missing_ok=True)


def run_demo(workdir: Path, *, keep_running: bool = False, out: Callable[[str], None] = print) -> int:
    """Run every scenario; returns 0 when all reached their expected end state."""
    import logging

    from shared.bootstrap import reset_container

    _fresh_state(workdir)
    logging.basicConfig(
        filename=str(workdir / "demo.log"), level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stack = LocalStack(workdir, env=_demo_settings())
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
            for line in keep_running_notice(stack.url):
                out(line)
            _wait_for_stop()
        reset_container()
    return 1 if demo.failures else 0
