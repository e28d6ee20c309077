"""The approval gate's contract and the records it keeps.

``GateRequest`` / ``GateResult`` are the contract with the incident orchestrator::

    result = yield context.call_sub_orchestrator(
        "approval_gate", request, instance_id=f"{incident_id}:approval:{step_id}")

    request = {"incident_id", "step": <ResponseStep json>, "requirement": "one_approver"|"two_approvers",
               "timeout_seconds", "escalation": [...], "final_decision": "deny"|"approve",
               "owners": [...], "explanation": str}
    result  = {"approved": bool, "decided_by": [{"approver_id", "approver_name", "decided_at",
               "justification", "channel"}], "reason": "approved"|"rejected"|"expired"|"auto"}

``ApprovalRecord`` is the pending approval as stored in ``WardenApprovals``: the single source of
truth for the gate, the HTTP API and the page. External events only wake the gate up; what it
decides is always read back from the record (see ``gate.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.policy.durations import parse_duration
from shared.steps import ResponseStep

__all__ = [
    "APPROVAL_EVENT",
    "GATE_ORCHESTRATOR",
    "ApprovalRecord",
    "ApprovalStatus",
    "DecidedBy",
    "EscalationLevelSpec",
    "GateRequest",
    "GateResult",
    "RecordedDecision",
    "event_name",
    "gate_instance_id",
    "parse_instance_id",
]

GATE_ORCHESTRATOR = "approval_gate"
APPROVAL_EVENT = "ApprovalDecision"
_MAX_EVIDENCE_CHARS = 8_000


def gate_instance_id(incident_id: str, step_id: str) -> str:
    """The gate's instance id for one step of one incident (the contract's naming)."""
    return f"{incident_id}:approval:{step_id}"


def parse_instance_id(instance_id: str) -> tuple[str, str] | None:
    """``(incident_id, step_id)`` of a gate instance id, or ``None`` if it is not one."""
    incident, sep, step = instance_id.rpartition(":approval:")
    return (incident, step) if sep and incident and step else None


def event_name(index: int) -> str:
    """The external event announcing the ``index``-th (1-based) recorded decision.

    The first is ``ApprovalDecision``; later ones are ``ApprovalDecision.2``, ``.3``… Distinct
    names per decision sidestep SDK bug #507 (an event raised before it is awaited satisfies
    every later wait with the same name).
    """
    return APPROVAL_EVENT if index <= 1 else f"{APPROVAL_EVENT}.{index}"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # timed out; final decision deny
    AUTO = "auto"  # timed out; final decision approve

    @property
    def terminal(self) -> bool:
        return self is not ApprovalStatus.PENDING


class EscalationLevelSpec(BaseModel):
    """One escalation level: who is asked, and how long before the next level is asked too."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    approvers: tuple[str, ...] = Field(min_length=1)
    wait_seconds: int = Field(default=0, ge=0, le=30 * 86_400)

    @model_validator(mode="before")
    @classmethod
    def _wait(cls, value: Any) -> Any:
        if isinstance(value, dict) and "wait_seconds" not in value and "wait" in value:
            wait = value["wait"]
            seconds = wait if isinstance(wait, int) else int(parse_duration(wait).total_seconds())
            value = {**value, "wait_seconds": seconds}
        return value


class GateRequest(BaseModel):
    """Input of the ``approval_gate`` sub-orchestration (see the module docstring).

    Optional extras beyond the contract: ``causer`` (who caused the finding; never the sole
    approver), ``title`` and ``evidence`` (shown to approvers), ``reminder_seconds`` (else policy).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    incident_id: str = Field(min_length=1, max_length=100)
    step: ResponseStep
    requirement: Literal["one_approver", "two_approvers"] = "one_approver"
    timeout_seconds: int | None = Field(default=None, ge=1, le=30 * 86_400)
    escalation: tuple[EscalationLevelSpec, ...] = ()
    final_decision: Literal["deny", "approve"] = "deny"
    owners: tuple[str, ...] = ()
    explanation: str = Field(default="", max_length=4000)
    causer: str | None = Field(default=None, max_length=300)
    title: str = Field(default="", max_length=300)
    evidence: dict[str, Any] = Field(default_factory=dict)
    reminder_seconds: int | None = Field(default=None, ge=60, le=30 * 86_400)

    @field_validator("evidence")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        import json

        text = json.dumps(value, default=str)
        if len(text) > _MAX_EVIDENCE_CHARS:
            return {"summary": text[:_MAX_EVIDENCE_CHARS], "truncated": True}
        return value

    @property
    def approvals_needed(self) -> int:
        return 2 if self.requirement == "two_approvers" else 1


class DecidedBy(BaseModel):
    """One approver's decision, as the gate returns it."""

    model_config = ConfigDict(frozen=True)

    approver_id: str
    approver_name: str = ""
    decided_at: str
    justification: str = ""
    channel: str = "api"


class GateResult(BaseModel):
    """Output of the ``approval_gate`` sub-orchestration."""

    model_config = ConfigDict(frozen=True)

    approved: bool
    decided_by: tuple[DecidedBy, ...] = ()
    reason: Literal["approved", "rejected", "expired", "auto"]


class RecordedDecision(BaseModel):
    """A decision as recorded on the approval (identity from the validated principal only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str = Field(min_length=1, max_length=100)
    index: int = Field(ge=1)
    approved: bool
    approver_id: str = Field(min_length=1, max_length=200)
    approver_name: str = Field(default="", max_length=200)
    justification: str = Field(default="", max_length=2000)
    decided_at: datetime
    channel: str = Field(default="api", max_length=40)
    conflicted: bool = False  # an owner or the causer: counts, but never alone

    def as_decided_by(self) -> DecidedBy:
        return DecidedBy(
            approver_id=self.approver_id,
            approver_name=self.approver_name,
            decided_at=self.decided_at.astimezone(UTC).isoformat(),
            justification=self.justification,
            channel=self.channel,
        )


class ApprovalRecord(BaseModel):
    """A step waiting for (or past) a human decision; one per gate instance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_id: str = Field(min_length=1, max_length=300)
    incident_id: str
    step: ResponseStep
    requirement: Literal["one_approver", "two_approvers"]
    requested_at: datetime
    expires_at: datetime
    final_decision: Literal["deny", "approve"] = "deny"
    owners: tuple[str, ...] = ()
    causer: str | None = None
    ineligible: tuple[str, ...] = ()  # policy approvals.ineligible.principals
    owners_conflicted: bool = True  # policy approvals.ineligible.resource_owners
    causer_conflicted: bool = True  # policy approvals.ineligible.causer
    title: str = ""
    explanation: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    escalation: tuple[EscalationLevelSpec, ...] = ()
    escalation_level: int = 0
    status: ApprovalStatus = ApprovalStatus.PENDING
    decisions: tuple[RecordedDecision, ...] = ()
    decided_at: datetime | None = None
    notifications: tuple[dict[str, Any], ...] = ()
    etag: str | None = Field(default=None, exclude=True)

    @property
    def step_id(self) -> str:
        return self.step.id

    @property
    def approvals_needed(self) -> int:
        return 2 if self.requirement == "two_approvers" else 1

    def expired_at(self, now: datetime) -> bool:
        return now >= self.expires_at

    def result(self) -> GateResult:
        """The gate's output for a terminal record."""
        if self.status is ApprovalStatus.PENDING:
            raise ValueError(f"approval {self.instance_id} is still pending")
        return GateResult(
            approved=self.status in (ApprovalStatus.APPROVED, ApprovalStatus.AUTO),
            decided_by=tuple(d.as_decided_by() for d in self.decisions),
            reason=self.status.value,
        )

    def summary(self) -> dict[str, Any]:
        """What a list shows (no etag, no notification log)."""
        return {
            "instance_id": self.instance_id,
            "incident_id": self.incident_id,
            "step_id": self.step.id,
            "action": self.step.action.value,
            "target": str(self.step.target),
            "requirement": self.requirement,
            "status": self.status.value,
            "requested_at": self.requested_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "title": self.title,
            "approvals": sum(1 for d in self.decisions if d.approved),
            "approvals_needed": self.approvals_needed,
        }

    def public(self) -> dict[str, Any]:
        """Everything an approver may see."""
        body = self.model_dump(mode="json", exclude={"etag"})
        body["step_id"] = self.step.id
        body["approvals_needed"] = self.approvals_needed
        return body


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def deadline(requested_at: datetime, timeout_seconds: int) -> datetime:
    return requested_at + timedelta(seconds=timeout_seconds)
