"""Payloads exchanged between the incident / restore orchestrations and their activities.

Every model is JSON-serialisable (Durable history stores them as text) and holds no key value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.policy import ResponsePlan
from shared.steps import ApprovalRequirement, ResponseStep, StepResult

__all__ = [
    "ApprovalOutcome",
    "ApprovalSettings",
    "Approver",
    "ExecuteRequest",
    "RestoreItem",
    "RestorePlan",
    "TriageResult",
    "VerifyOutcome",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalSettings(_Model):
    """The policy's ``approvals`` section, as the approval gate's request needs it."""

    timeout_seconds: int = Field(ge=1)
    escalation: tuple[dict[str, Any], ...] = ()
    final_decision: Literal["deny", "approve"] = "deny"


class TriageResult(_Model):
    """What the triage activity decided: the plan, the approval settings, and what it could not read."""

    plan: ResponsePlan
    approvals: ApprovalSettings
    recent_disruptive_actions: int = 0
    tags_error: str | None = None


class Approver(BaseModel):
    """One person (or the policy) who decided an approval (extra fields from the gate are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    approver_id: str
    approver_name: str = ""
    decided_at: str = ""
    justification: str = ""
    channel: str = ""


class ApprovalOutcome(BaseModel):
    """What ``approval_gate`` returns (or the fallback decides); extra fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    approved: bool
    decided_by: tuple[Approver, ...] = ()
    reason: Literal["approved", "rejected", "expired", "auto"] = "auto"


class ExecuteRequest(_Model):
    """Input of ``incident_execute_step``."""

    incident_id: str
    step: ResponseStep
    dry_run: bool = False
    approved_by: tuple[str, ...] = ()
    now: datetime


class VerifyOutcome(_Model):
    """Whether a step's desired state holds when re-read."""

    step_id: str
    verified: bool
    observed: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""


class RestoreItem(_Model):
    """One snapshot a restore can re-apply, with the step that took it."""

    step: ResponseStep
    taken_at: datetime


class RestorePlan(_Model):
    """What ``restore_incident`` would re-apply, and the policy's approval settings."""

    incident_id: str
    items: tuple[RestoreItem, ...] = ()
    approvals: ApprovalSettings
    requirement: ApprovalRequirement = ApprovalRequirement.ONE_APPROVER
    owners: tuple[str, ...] = ()
    explanation: str = ""


def result_json(result: StepResult) -> dict[str, Any]:
    """A ``StepResult`` as JSON (what activities return)."""
    return result.model_dump(mode="json")
