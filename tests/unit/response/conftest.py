"""Fakes for the response tier: ``FakeCognitive``, memory stores, the shipped policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap import container, reset_container
from shared.finding import Finding, FindingSource, Severity
from shared.policy import Policy, parse_policy
from shared.ports.cognitive import AccountPatch, CognitiveTransientError, DeploymentInfo
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
from tests.fakes import FakeCognitive

ROOT = Path(__file__).resolve().parents[3]
SUB = "00000000-0000-0000-0000-0000000000c1"
ACCOUNT = AccountId(SUB, "rg-ai", "contoso-openai")
GPT = ACCOUNT.deployment("gpt-4o")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
JAILBREAK = "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


def shipped_policy(*, final_decision: str = "approve", dry_run: bool = False) -> Policy:
    text = (
        (ROOT / "policy.yaml")
        .read_text(encoding="utf-8")
        .replace("final_decision: deny", f"final_decision: {final_decision}")
    )
    if dry_run:
        text = text.replace("dry_run: false", "dry_run: true")
    return parse_policy(text)


def make_finding(
    kind: str = JAILBREAK, resource: AccountId | DeploymentId = GPT, category: str | None = "jailbreak"
) -> Finding:
    return Finding(
        source=FindingSource.DEFENDER_ALERT if kind.startswith("defender:") else FindingSource.RESOURCE_EVENT,
        kind=kind,
        severity=Severity.HIGH,
        title="test finding",
        resource=resource,
        evidence={"category": category} if category else {},
        dedupe_key=f"{kind}:{resource}",
        first_seen=NOW,
        last_seen=NOW,
    )


@dataclass
class Fakes:
    cognitive: FakeCognitive
    ports: ResponsePorts
    audit: MemoryAuditStore

    def actions(self, incident_id: str) -> list[str]:
        return [r.action for r in self.audit.records(incident_id=incident_id)]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    cognitive = FakeCognitive()
    cognitive.add_account(ACCOUNT)
    cognitive.update_account(ACCOUNT, AccountPatch(tags={"owner": "ai-team@contoso.com"}, ip_rules=("203.0.113.9",)))
    cognitive.create_or_update_deployment(
        DeploymentInfo(
            id=GPT,
            model_name="gpt-4o",
            model_version="2024-11-20",
            sku_name="GlobalStandard",
            sku_capacity=5,
            rai_policy_name="Microsoft.DefaultV2",
        )
    )
    cognitive.calls.clear()
    audit = MemoryAuditStore()
    ports = ResponsePorts(
        cognitive=cognitive,
        snapshots=MemorySnapshotStore(),
        breaker=MemoryDisruptiveActionLog(),
        idempotency=MemoryIdempotencyStore(),
        audit=audit,
        policy=shipped_policy(),
        clock=lambda: NOW,
    )
    c = container()
    c.response_ports = ports
    c.incident_deps = IncidentDeps(
        audit=audit,
        open_incidents=MemoryOpenIncidentStore(),
        findings=MemoryIncidentFindingsStore(),
        clock=lambda: NOW,
    )
    yield Fakes(cognitive, ports, audit)
    reset_container()


def timing_out_gate(request: Any, instance_id: str | None) -> dict[str, Any]:
    """An approval gate nobody answers: the policy's final decision applies at the deadline
    (``approve`` -> ``auto`` for a one-approver step; otherwise ``expired``), as the real gate
    decides (``shared.usecases.approvals.ApprovalService.expire``)."""
    auto = request["final_decision"] == "approve" and request["requirement"] == "one_approver"
    return {"approved": auto, "decided_by": [], "reason": "auto" if auto else "expired"}


def activities() -> dict[str, Any]:
    """The incident orchestration's activities: the real handler functions (over the fakes the
    ``fakes`` fixture installed), with the container-backed open/close ones stubbed."""
    import handlers.incidents as h
    from tests.unit.keys.durable_fake import user_function

    names = [
        "incident_triage",
        "incident_notify",
        "incident_record_decision",
        "incident_execute_step",
        "incident_record_result",
        "incident_verify",
        "incident_restore_plan",
        "incident_restore_step",
    ]
    table: dict[str, Any] = {name: user_function(getattr(h, name)) for name in names}
    table.update(
        {
            "incident_opened": lambda p: "opened",
            "incident_findings_count": lambda p: 1,
            "incident_mark_closing": lambda p: True,
            "incident_close": lambda p: 1,
        }
    )
    return table


class Flaky:
    """Wraps a fake: ``method`` fails ``times`` times — with ``error``, or by default with
    ``CognitiveTransientError`` of HTTP ``status`` — then works."""

    def __init__(self, inner: Any, method: str, times: int, status: int = 503, error: Exception | None = None) -> None:
        self._inner, self._method, self.left, self._status, self._error = inner, method, times, status, error

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != self._method:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                raise self._error or CognitiveTransientError(f"{name}: HTTP {self._status} ServiceUnavailable")
            return target(*args, **kwargs)

        return call
