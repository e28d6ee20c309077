"""Approval records: a step waiting for (or past) a human decision, as ``WardenApprovals`` keeps it.

``ApprovalRecord`` is the single source of truth for the approval gate, the HTTP API and the page;
external events only wake the gate up, and what it decides is always read back from the record.
The gate's request and outcome (its durable contract) are in ``shared.contracts.approval``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy.durations import parse_duration
from shared.response.steps import ResponseStep

__all__ = ["ApprovalRecord", "ApprovalStatus", "EscalationLevelSpec", "RecordedDecision"]


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
