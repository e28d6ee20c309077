"""Helpers of the reliability suite: a generated tenant, a test policy, the stack with an
in-process emulator, alert delivery, incident polling and the end-state views compared.

The stack is ``cli.stack.LocalStack`` (Azurite and devhost as processes; devhost SIGKILLed and
restarted with ``restart_devhost(kill=True)``) with one change: the emulator's loopback server
runs in the test process (``emulator.server.EmulatorServer``), so the test reads its state
directly — including the ``AzureActivity`` rows every effective ARM write appends, per resource.

The approvals HTTP API (``docs/openapi.yaml``) is called as App Service Authentication would
front it: an ``X-MS-CLIENT-PRINCIPAL`` header carrying the approver app role
(``approvals_call``; ``None`` when devhost is down).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml
from azure.data.tables import TableServiceClient

from cli.stack import ROOT, LocalStack
from devhost.azurite import Azurite
from emulator import Emulator
from emulator.datasets.events import resource_write_success
from emulator.server import EmulatorServer
from emulator.tenant import load_tenant
from shared.finding import incident_instance_id
from shared.storage.tables import TableAuditStore
from tests.alertgen import alert_id_for, make_alert
from tests.approvals_support import headers_for

SUBSCRIPTION = "5e1a7c3b-2d4f-4a6b-8c9d-0e1f2a3b4c5d"
RESOURCE_GROUP = "rg-reliability"
WORKSPACE = "law-reliability"
WORKSPACE_ID = "7a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d"
PRINCIPAL = "0b7e3f52-9a6d-4c1e-8f3b-2d4a6c8e0f11"
JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"
SUSPICIOUS_IP = "AI.Azure_AccessFromSuspiciousIP"
CREDENTIAL_THEFT = "AI.Azure_CredentialTheftAttempt"
VAULT = "kv-reliability"
UNAPPROVED_MODEL = {"name": "llama-3-70b", "version": "1", "format": "Meta"}
KINDS = ("jailbreak", "suspicious_ip", "unapproved_model")
ROTATION = "credential_theft"
"""Fourth kind of ``test_faults`` (``WARDEN_RELIABILITY_ROTATION=0`` leaves it out): emergency key
rotation, the Key Vault path."""
# Where an incident is once its response is over (the quiet period may already have passed).
RESPONDED = {"open", "closing", "closed"}
EFFECTIVE = {"succeeded", "no_op"}


# --------------------------------------------------------------------------------------------
# The scenario: one incident per account
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One incident of the run: what arrives, on which account, and its incident id."""

    index: int
    kind: str
    account: str

    @property
    def account_id(self) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.account}"
        )

    @property
    def resource(self) -> str:
        """The finding's resource: the attacked deployment, the account, or the unapproved deployment."""
        if self.kind in ("jailbreak", "credential_theft"):
            return f"{self.account_id}/deployments/chat"
        if self.kind == "unapproved_model":
            return f"{self.account_id}/deployments/experiment"
        return self.account_id

    @property
    def alert_seed(self) -> str:
        return f"reliability-{self.index:03d}"

    @property
    def incident_id(self) -> str:
        if self.kind == "unapproved_model":
            model = f"{UNAPPROVED_MODEL['format']}/{UNAPPROVED_MODEL['name']}@{UNAPPROVED_MODEL['version']}".lower()
            return incident_instance_id(f"model:unapproved_deployment|{self.resource.lower()}|{model}")
        return incident_instance_id("defender:" + alert_id_for(self.alert_seed).lower())

    @property
    def playbook(self) -> str:
        return {
            "jailbreak": "contain-prompt-attack",
            "suspicious_ip": "close-public-network",
            "unapproved_model": "remove-unapproved-deployment",
            "credential_theft": "rotate-exposed-key",
        }[self.kind]

    @property
    def changing_steps(self) -> tuple[str, ...]:
        """The step ids that change Azure (one ``step.*`` audit record each)."""
        return {
            "jailbreak": ("s1-switch-rai-policy", "s2-tag-resource"),
            "suspicious_ip": ("s1-deny-public-network",),
            "unapproved_model": ("s1-delete-deployment",),
            "credential_theft": ("s1-rotate-key-emergency",),
        }[self.kind]

    @property
    def owner(self) -> str:
        """The account's owner (its ``owner`` tag): conflicted on its own approvals."""
        return f"team-{self.index % 7}@contoso.com"

    def step_write(self, step_id: str) -> tuple[str, str]:
        """The ``(resource id, operation)`` of the ``AzureActivity`` row a changing step's ARM
        write appends (lower case, as ``activity_writes`` counts them)."""
        resource, operation = {
            "s1-switch-rai-policy": (f"{self.account_id}/deployments/chat", "accounts/deployments/write"),
            "s2-tag-resource": (self.account_id, "accounts/write"),
            "s1-deny-public-network": (self.account_id, "accounts/write"),
            "s1-delete-deployment": (f"{self.account_id}/deployments/experiment", "accounts/deployments/delete"),
        }[step_id]
        return resource.lower(), f"microsoft.cognitiveservices/{operation}"


def cases(count: int, seed: int, kinds: tuple[str, ...] = KINDS) -> list[Case]:
    """``count`` incidents spread evenly over the playbooks of ``kinds``, shuffled by ``seed``."""
    kinds = tuple(kinds)
    kinds_list = [kinds[i % len(kinds)] for i in range(count)]
    random.Random(seed).shuffle(kinds_list)
    return [Case(index=i, kind=kind, account=f"rel-ai-{i:03d}") for i, kind in enumerate(kinds_list)]


def tenant(all_cases: list[Case]) -> dict[str, Any]:
    """One subscription, one account per case; half the accounts already hold ``warden-strict``
    (Warden creates it on the others from its own definition)."""
    accounts = []
    for case in all_cases:
        deployments: list[dict[str, Any]] = [
            {
                "name": "chat",
                "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                "sku": {"name": "GlobalStandard", "capacity": 10},
                "rai_policy_name": "Microsoft.DefaultV2",
            }
        ]
        if case.kind == "unapproved_model":
            deployments.append({"name": "experiment", "model": dict(UNAPPROVED_MODEL), "sku": {"name": "Standard"}})
        rai = [{"name": "warden-strict", "base_policy_name": "Microsoft.DefaultV2"}] if case.index % 2 == 0 else []
        accounts.append(
            {
                "name": case.account,
                "kind": "OpenAI",
                "tags": {"owner": f"team-{case.index % 7}@contoso.com"},
                "public_network_access": "Enabled",
                "network_acls": {"default_action": "Allow", "ip_rules": [f"203.0.113.{case.index % 250}"]},
                "deployments": deployments,
                "rai_policies": rai,
            }
        )
    secrets = [
        {
            "name": f"{case.account}-key",
            "value_from": {"account": case.account_id, "key": "key1"},
            "content_type": "text/plain",
            "tags": {"CredentialId": "key1", "ProviderAddress": case.account_id, "ValidityPeriodDays": "60"},
            "expires": "2027-06-01T00:00:00Z",
        }
        for case in all_cases
        if case.kind == "credential_theft"
    ]
    return {
        "principals": {"warden-emulator-token": PRINCIPAL},
        "subscriptions": [
            {
                "id": SUBSCRIPTION,
                "name": "Reliability",
                "activity_log_workspace": WORKSPACE,
                "resource_groups": [
                    {
                        "name": RESOURCE_GROUP,
                        "location": "eastus",
                        "accounts": accounts,
                        "workspaces": [{"name": WORKSPACE, "customer_id": WORKSPACE_ID}],
                        "vaults": [{"name": VAULT, "secrets": secrets}],
                    }
                ],
            }
        ],
    }


def write_policy(
    path: Path,
    *,
    gated: Mapping[str, Mapping[str, str]] | None = None,
    approvals: Mapping[str, Any] | None = None,
) -> Path:
    """The shipped policy with every changing step of the four playbooks automatic (no human
    needed; emergency rotation then may not require approval), the circuit breaker out of reach
    and deletion of a model's last deployment allowed.

    ``gated`` ({playbook: {action: one_approver | two_approvers}}) puts those steps behind the
    approval gate instead; ``approvals`` replaces keys of the policy's ``approvals`` section
    (timeout, reminder_interval, escalation...)."""
    policy = yaml.safe_load((ROOT / "policy.yaml").read_text(encoding="utf-8"))
    policy["keys"]["emergency_rotation_requires_approval"] = False
    for name in ("contain-prompt-attack", "close-public-network", "remove-unapproved-deployment", "rotate-exposed-key"):
        for step in policy["playbooks"][name]["steps"]:
            step["approval"] = (gated or {}).get(name, {}).get(step["action"], "automatic")
    policy["approvals"].update(approvals or {})
    policy["guards"]["max_disruptive_actions_per_hour"] = 10_000
    policy["guards"]["allow_delete_last_deployment"] = True
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------
@dataclass
class ReliabilityStack(LocalStack):
    """``LocalStack`` with the emulator in this process (``emulator``), Azurite and devhost as
    processes. ``restart_devhost(kill=True)`` is inherited unchanged."""

    emulator: Emulator | None = None
    _server: EmulatorServer | None = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> ReliabilityStack:
        assert self.tenant is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.emulator = Emulator(load_tenant(self.tenant), seed=self.seed)
        self._server = EmulatorServer(self.emulator).start()
        self.emulator_url = self._server.url
        self.azurite = Azurite(self.workdir / "azurite", log_file=self.workdir / "azurite.log").start()
        self._start_devhost(timeout)
        return self

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def tables(self) -> TableServiceClient:
        assert self.azurite is not None
        return TableServiceClient.from_connection_string(self.azurite.table_connection_string)

    def audit(self) -> TableAuditStore:
        return TableAuditStore(self.tables())


def stack_env(policy: Path) -> dict[str, str]:
    return {
        "WARDEN_POLICY_PATH": str(policy),
        "WARDEN_INCIDENT_QUIET_MINUTES": "1",
        "WARDEN_LOG_ANALYTICS_WORKSPACE_ID": WORKSPACE_ID,
        "WARDEN_IDENTITY_PRINCIPAL_ID": PRINCIPAL,
        "WARDEN_KEY_VAULTS": VAULT,
        "WARDEN_KEY_PROBE_DELAY_SECONDS": "0",
    }


# --------------------------------------------------------------------------------------------
# Delivery (Event Grid webhooks; a failed delivery is redelivered, as Event Grid does)
# --------------------------------------------------------------------------------------------
def _defender_event(case: Case) -> dict[str, Any]:
    alert_type = {"jailbreak": JAILBREAK, "suspicious_ip": SUSPICIOUS_IP, "credential_theft": CREDENTIAL_THEFT}[
        case.kind
    ]
    alert = make_alert(
        alert_type,
        "workflow_automation",
        system_alert_id=alert_id_for(case.alert_seed),
        resource_id=case.resource,
    )
    return {
        "id": alert["SystemAlertId"],
        "eventType": "Warden.DefenderForCloud.Alert",
        "subject": case.resource,
        "eventTime": datetime.now(UTC).isoformat(),
        "data": alert,
        "dataVersion": "1.0",
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/warden-alerts",
    }


def _resource_event(case: Case) -> dict[str, Any]:
    """The deployment write of ``case``; the same ids on every delivery (a redelivery)."""
    return resource_write_success(
        case.resource,
        "6d7e8f90-0000-4000-8000-0000000000aa",
        subscription=SUBSCRIPTION,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "reliability-event:" + case.resource)),
        correlation_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "reliability-correlation:" + case.resource)),
    )


def deliver_once(stack: LocalStack, batch: list[Case]) -> bool:
    """POST the batch's events to their webhooks once; True when every invocation succeeded."""
    key = stack.devhost["systemKeys"]["eventgrid_extension"]
    groups = {
        "on_defender_alert_event": [_defender_event(c) for c in batch if c.kind != "unapproved_model"],
        "on_resource_event": [_resource_event(c) for c in batch if c.kind == "unapproved_model"],
    }
    ok = True
    for function, events in groups.items():
        if not events:
            continue
        try:
            response = requests.post(
                f"{stack.url}/runtime/webhooks/eventgrid",
                params={"functionName": function, "code": key},
                json=events,
                headers={"aeg-event-type": "Notification"},
                timeout=120,
            )
            ok = ok and response.status_code == 202
        except requests.RequestException:
            ok = False
    return ok


def deliver(stack: LocalStack, batch: list[Case], *, attempts: int = 60) -> int:
    """Deliver until accepted (Event Grid's redelivery); returns the number of attempts."""
    for attempt in range(1, attempts + 1):
        if deliver_once(stack, batch):
            return attempt
        time.sleep(1.0)
    raise AssertionError(f"the webhook kept failing for {[c.index for c in batch]} ({attempts} attempts)")


# --------------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------------
def instance(stack: LocalStack, instance_id: str) -> dict[str, Any] | None:
    """The durable status of one instance; ``None`` when unknown or devhost is down."""
    try:
        response = requests.get(
            f"{stack.url}/runtime/webhooks/durabletask/instances/{instance_id}",
            params={"code": stack.devhost["systemKeys"]["durabletask_extension"]},
            timeout=30,
        )
    except requests.RequestException:
        return None
    return response.json() if response.status_code in (200, 202) else None


def responded(state: dict[str, Any] | None) -> bool:
    if state is None:
        return False
    if state.get("runtimeStatus") in {"Failed", "Terminated"}:
        return True  # finished badly: reported by the assertions, not waited for
    return (state.get("customStatus") or {}).get("stage") in RESPONDED


def poll_round(stack: LocalStack, pending: dict[str, Case], done: dict[str, dict[str, Any]]) -> None:
    """One pass over the incidents not yet responded; moves finished ones to ``done``."""
    for iid in list(pending):
        state = instance(stack, iid)
        if responded(state):
            assert state is not None
            done[iid] = state
            del pending[iid]


# --------------------------------------------------------------------------------------------
# What is compared
# --------------------------------------------------------------------------------------------
def resource_view(emulator: Emulator) -> dict[str, Any]:
    """Per account: tags, network settings, deployments (model, RAI policy, provisioning state),
    RAI policies, provisioning state."""
    snapshot = emulator.snapshot()
    view: dict[str, Any] = {}
    for sub in snapshot["subscriptions"]:
        for account in sub["accounts"]:
            props = account["properties"]
            view[account["id"].lower()] = {
                "tags": account["tags"],
                "provisioningState": account["provisioningState"],
                "publicNetworkAccess": props.get("publicNetworkAccess"),
                "networkAcls": props.get("networkAcls"),
                "disableLocalAuth": props.get("disableLocalAuth"),
                "deployments": account["deployments"],
                "raiPolicies": account["raiPolicies"],
            }
    return view


def key_view(emulator: Emulator) -> dict[str, Any]:
    """Per Key Vault secret: how many versions, which slot the latest names, and whether its value
    is that slot's current key (key values differ between runs, so only these facts compare)."""
    snapshot = emulator.snapshot()
    keys = {a["id"].lower(): a["keys"] for sub in snapshot["subscriptions"] for a in sub["accounts"]}
    view: dict[str, Any] = {}
    for name, versions in snapshot["vaults"].get(VAULT, {}).items():
        latest = versions[-1]
        slot = str(latest["tags"].get("CredentialId", "")).lower()
        account = str(latest["tags"].get("ProviderAddress", "")).lower()
        view[name] = {
            "versions": len(versions),
            "slot": slot,
            "holds_current_key": keys.get(account, {}).get(slot) == latest["value"],
        }
    return view


def activity_writes(emulator: Emulator) -> Counter[tuple[str, str]]:
    """(resource id, operation) -> AzureActivity rows: one per ARM write that took effect."""
    with emulator.lock:
        ws = emulator.state.workspace(WORKSPACE)
        assert ws is not None
        rows = list(ws.tables.get("AzureActivity", []))
    return Counter(
        (str(r["_ResourceId"]).lower(), str(r["OperationNameValue"]).lower())
        for r in rows
        if "listkeys" not in str(r["OperationNameValue"]).lower()
    )


def fault_label(rule: Mapping[str, Any]) -> str:
    """How a fault rule (``Emulator.list_faults()``) is named in run summaries."""
    what = {
        "throttle": "429",
        "error": str(rule["status"]),
        "latency": f"latency {rule['latency']}s",
        "lro_failure": "LRO Failed",
        "lost_answer": "lost answer",
    }[rule["kind"]]
    return f"{rule['api']} {what}"


def differences(baseline: Mapping[Any, Any], chaos: Mapping[Any, Any]) -> dict[Any, tuple[Any, Any]]:
    """Every key whose value differs between the two runs: ``{key: (fault-free, chaos)}``."""
    return {k: (baseline.get(k), chaos.get(k)) for k in set(baseline) | set(chaos) if baseline.get(k) != chaos.get(k)}


def incident_status(name: str, state: dict[str, Any], case: Case) -> tuple[str, dict[str, Any] | None, list[str]]:
    """For run ``name``: the label of ``case`` in messages, its custom status (``None`` when the
    orchestration failed or was terminated) and what is wrong with its runtime status or playbook."""
    label = f"{name}: incident #{case.index} ({case.kind}, {case.incident_id})"
    if state.get("runtimeStatus") in {"Failed", "Terminated"}:
        return label, None, [f"{label}: {state.get('runtimeStatus')}: {str(state.get('output'))[:300]}"]
    custom: dict[str, Any] = state.get("customStatus") or {}
    problems = []
    if custom.get("playbook") != case.playbook:
        problems.append(f"{label}: playbook {custom.get('playbook')!r}, expected {case.playbook!r}")
    return label, custom, problems


def step_outcomes(state: dict[str, Any]) -> dict[str, str]:
    custom = state.get("customStatus") or {}
    return {s["step_id"]: s["status"] for s in custom.get("steps", [])}


def audit_summary(stack: ReliabilityStack, all_cases: list[Case]) -> tuple[Any, dict[str, Counter[str]]]:
    """The chain report and, per incident, how many records of each ``action[:step]`` it holds."""
    store = stack.audit()
    report = store.verify()
    wanted = {c.incident_id for c in all_cases}
    per: dict[str, Counter[str]] = {iid: Counter() for iid in wanted}
    for record in store.records():
        if record.incident_id in wanted:
            step = record.details.get("step_id")
            stage = record.details.get("stage")
            suffix = f":{step}" if step else f":{stage}" if stage else ""
            per[record.incident_id][record.action + suffix] += 1
    return report, per


# --------------------------------------------------------------------------------------------
# The approvals HTTP API (docs/openapi.yaml), as an approver behind App Service Authentication
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error")
        return str(error.get("code")) if isinstance(error, dict) else None


def approvals_call(
    stack: LocalStack, method: str, path: str, user: str, body: dict[str, Any] | None = None
) -> ApiAnswer | None:
    """``method /api/{path}`` as ``user`` holding the approver role; ``None`` when devhost is
    down or the connection broke (the outcome of a decision is then unknown)."""
    try:
        response = requests.request(method, f"{stack.url}/api/{path}", json=body, headers=headers_for(user), timeout=60)
    except requests.RequestException:
        return None
    try:
        payload = response.json()
    except ValueError:
        payload = {"text": response.text[:500]}
    return ApiAnswer(response.status_code, payload if isinstance(payload, dict) else {"value": payload})


def pending_approvals(stack: LocalStack, user: str) -> list[dict[str, Any]] | None:
    """``GET /api/approvals``: the pending approvals, oldest first; ``None`` when devhost is down."""
    answer = approvals_call(stack, "GET", "approvals", user)
    if answer is None or answer.status != 200:
        return None
    return list(answer.body.get("approvals", []))


def decide(stack: LocalStack, user: str, incident_id: str, step_id: str, *, approve: bool) -> ApiAnswer | None:
    """``POST /api/approvals/{incident}/{step}/decision`` as ``user``."""
    verb = "approve" if approve else "reject"
    body = {"decision": verb, "justification": f"reliability: {user} says {verb}"}
    return approvals_call(stack, "POST", f"approvals/{incident_id}/{step_id}/decision", user, body)


def approval(stack: LocalStack, user: str, incident_id: str, step_id: str) -> ApiAnswer | None:
    """``GET /api/approvals/{incident}/{step}``: the approval with its decisions."""
    return approvals_call(stack, "GET", f"approvals/{incident_id}/{step_id}", user)
