"""An estate in the emulator (real SDK clients in process), the response activities wired to it
with in-memory stores, and helpers to run an incident through devhost's Durable engine."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from shared.azure.cognitive import AzureCognitive
from shared.bootstrap import Container, reset_container, set_container
from shared.finding import Finding, FindingSource, Severity
from shared.policy import load_policy
from shared.resource_ids import AccountId, DeploymentId
from shared.storage.memory import (
    MemoryAuditStore,
    MemoryDisruptiveActionLog,
    MemoryIdempotencyStore,
    MemoryIncidentFindingsStore,
    MemoryOpenIncidentStore,
    MemorySnapshotStore,
)
from shared.usecases.incidents import IncidentDeps
from shared.usecases.response_ports import ResponsePorts
from tests.approvals_support import memory_deps
from tests.functional.keys.conftest import ACCOUNT, RG, SUB, TOKEN, VAULT, WARDEN, build_clients, build_ports, tenant

ROOT = Path(__file__).resolve().parents[3]
APP = Path(__file__).with_name("response_app.py")
PROTECTED = AccountId(SUB, RG, "contoso-protected")
GPT = ACCOUNT.deployment("gpt-4o")
ROGUE = ACCOUNT.deployment("rogue-1")
ROGUE_2 = ACCOUNT.deployment("rogue-2")
LONE = ACCOUNT.deployment("lone-phi")
JAILBREAK = "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


def response_tenant() -> dict[str, Any]:
    """The keys tests' estate (account + Key Vault secret), with deployments and a protected account."""
    data = copy.deepcopy(tenant())
    group = data["subscriptions"][0]["resource_groups"][0]
    account = group["accounts"][0]
    account.update(
        tags={"owner": "ai-team@contoso.com", "env": "prod"},
        network_acls={"default_action": "Allow", "ip_rules": ["203.0.113.10"]},
        deployments=[
            {
                "name": "gpt-4o",
                "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                "sku": {"name": "GlobalStandard", "capacity": 50},
                "rai_policy_name": "Microsoft.DefaultV2",
            },
            {
                "name": "rogue-1",
                "model": {"name": "Phi-3-mini", "version": "4", "format": "Microsoft"},
                "sku": {"name": "Standard", "capacity": 7},
                "rai_policy_name": "Microsoft.DefaultV2",
                "version_upgrade_option": "NoAutoUpgrade",
            },
            {
                "name": "rogue-2",
                "model": {"name": "Phi-3-mini", "version": "4", "format": "Microsoft"},
                "sku": {"name": "Standard", "capacity": 3},
            },
            {
                "name": "lone-phi",
                "model": {"name": "Phi-4", "version": "1", "format": "Microsoft"},
                "sku": {"name": "Standard", "capacity": 1},
            },
        ],
    )
    group["accounts"].append(
        {
            "name": PROTECTED.name,
            "kind": "OpenAI",
            "tags": {"warden-protected": "true"},
            "deployments": [
                {
                    "name": "gpt-4o",
                    "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                    "sku": {"name": "GlobalStandard", "capacity": 10},
                    "rai_policy_name": "Microsoft.DefaultV2",
                }
            ],
        }
    )
    return data


def policy_copy(tmp: Path, *, final_decision: str = "approve", extra: str = "") -> Path:
    """The shipped policy, with the approval auto-decision set to ``final_decision``."""
    text = (ROOT / "policy.yaml").read_text(encoding="utf-8")
    assert "final_decision: deny" in text
    text = text.replace("final_decision: deny", f"final_decision: {final_decision}")
    if extra:
        text = text.replace("dry_run: false", extra)
    path = tmp / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def finding(kind: str, resource: AccountId | DeploymentId, *, category: str | None = None, key: str = "") -> Finding:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    source = FindingSource.DEFENDER_ALERT if kind.startswith("defender:") else FindingSource.RESOURCE_EVENT
    return Finding(
        source=source,
        kind=kind,
        severity=Severity.HIGH,
        title=f"{kind} on {resource.name}",
        resource=resource,
        evidence={"category": category} if category else {},
        dedupe_key=key or f"{kind}:{resource}",
        first_seen=now,
        last_seen=now,
    )


@dataclass
class Estate:
    emulator: Emulator
    ports: ResponsePorts
    audit: MemoryAuditStore
    container: Container
    policy_path: Path

    def set_policy(self, path: Path) -> None:
        """Use the policy file at ``path`` from now on (as a redeploy with a new policy would)."""
        self.policy_path = path
        self.ports.policy = load_policy(path)
        self.container.policy = self.ports.policy

    def actions(self, incident_id: str) -> list[str]:
        return [r.action for r in self.audit.records(incident_id=incident_id)]


def make_estate(policy_path: Path) -> Estate:
    """The emulator with ``response_tenant()``, and a container (not installed) whose response
    and keys ports talk to it, with memory stores and the policy read from ``policy_path``."""
    emulator = Emulator(response_tenant(), seed=11)
    emulator.principals[TOKEN] = WARDEN
    clients = build_clients(emulator)
    audit = MemoryAuditStore()
    keys = build_ports(clients)
    keys.audit = audit
    container = Container(settings=clients.settings, clients=clients)
    container.audit = audit
    container.open_incidents = MemoryOpenIncidentStore()
    container.incident_findings = MemoryIncidentFindingsStore()
    container.idempotency = MemoryIdempotencyStore()
    container.keys_ports = keys
    container.policy = load_policy(policy_path)
    ports = ResponsePorts(
        cognitive=AzureCognitive(clients, polling_interval=0),
        snapshots=MemorySnapshotStore(),
        breaker=MemoryDisruptiveActionLog(),
        idempotency=MemoryIdempotencyStore(),
        audit=audit,
        policy=container.policy,
    )
    container.response_ports = ports
    container.incident_deps = IncidentDeps(
        audit=audit, open_incidents=container.open_incidents, findings=container.incident_findings
    )
    container.approvals_deps = memory_deps(audit=audit, policy=container.policy.approvals)
    return Estate(emulator, ports, audit, container, policy_path)


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Estate]:
    """The emulator with ``response_tenant()``; response, keys and container wired to it."""
    monkeypatch.setenv("WARDEN_KEY_VAULTS", VAULT)
    monkeypatch.setenv("WARDEN_KEY_PROBE_DELAY_SECONDS", "0")
    holder = make_estate(policy_copy(tmp_path))
    set_container(holder.container)
    yield holder
    reset_container()
