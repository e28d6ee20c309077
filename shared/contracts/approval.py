"""The approval gate's durable contract: its orchestrator, activities, event and payloads.

The approval gate is the one way a step gets a human decision. Every gated step (incident
containment, restores, emergency key rotations) calls::

    outcome = ApprovalOutcome.model_validate((yield context.call_sub_orchestrator(
        GATE_ORCHESTRATOR, ApprovalRequest.for_step(...).model_dump(mode="json"),
        approval_instance_id(incident_id, step_id))))

``shared.orchestrations.approval_gate`` is the body; ``handlers/approvals.py`` registers it and
its activities under the names below, each activity taking the request model named next to it
and answering with the result model:

====================  ==============================  ===========================
activity              request                         result
====================  ==============================  ===========================
``approval_open``     ``OpenApprovalRequest``          ``ApprovalOpened``
``approval_notify``   ``NotifyApproversRequest``       list of delivery statuses
``approval_check``    ``ApprovalRef``                  ``ApprovalState``
``approval_escalate`` ``EscalateApprovalRequest``      ``True``
``approval_expire``   ``ExpireApprovalRequest``        ``ApprovalState``
``approval_close``    ``ApprovalRef``                  ``ApprovalOutcome``
====================  ==============================  ===========================

A decision recorded by the HTTP API wakes the gate with the external event
``decision_event_name(n)`` (``ApprovalDecision``, then ``ApprovalDecision.2``...); the event only
wakes it: the record in ``WardenApprovals`` is the truth the gate reads back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.approvals.records import EscalationLevelSpec
from shared.response.steps import ApprovalRequirement, ResponseStep

__all__ = [
    "ACTIVITY_CHECK",
    "ACTIVITY_CLOSE",
    "ACTIVITY_ESCALATE",
    "ACTIVITY_EXPIRE",
    "ACTIVITY_NOTIFY",
    "ACTIVITY_OPEN",
    "APPROVAL_EVENT",
    "GATE_ORCHESTRATOR",
    "ApprovalOpened",
    "ApprovalOutcome",
    "ApprovalRef",
    "ApprovalRequest",
    "ApprovalSettings",
    "ApprovalState",
    "DecidedBy",
    "EscalateApprovalRequest",
    "ExpireApprovalRequest",
    "NotifyApproversRequest",
    "OpenApprovalRequest",
    "approval_instance_id",
    "decision_event_name",
    "parse_approval_instance_id",
]

GATE_ORCHESTRATOR = "approval_gate"
ACTIVITY_OPEN = "approval_open"
ACTIVITY_NOTIFY = "approval_notify"
ACTIVITY_CHECK = "approval_check"
ACTIVITY_ESCALATE = "approval_escalate"
ACTIVITY_EXPIRE = "approval_expire"
ACTIVITY_CLOSE = "approval_close"
APPROVAL_EVENT = "ApprovalDecision"
_MAX_EVIDENCE_CHARS = 8_000


def approval_instance_id(incident_id: str, step_id: str) -> str:
    """The gate's instance id for one step of one incident."""
    return f"{incident_id}:approval:{step_id}"


def parse_approval_instance_id(instance_id: str) -> tuple[str, str] | None:
    """``(incident_id, step_id)`` of a gate instance id, or ``None`` if it is not one."""
    incident, sep, step = instance_id.rpartition(":approval:")
    return (incident, step) if sep and incident and step else None


def decision_event_name(index: int) -> str:
    """The external event announcing the ``index``-th (1-based) recorded decision.

    The first is ``ApprovalDecision``; later ones are ``ApprovalDecision.2``, ``.3``… Distinct
    names per decision sidestep SDK bug #507 (an event raised before it is awaited satisfies
    every later wait with the same name).
    """
    return APPROVAL_EVENT if index <= 1 else f"{APPROVAL_EVENT}.{index}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalSettings(_Model):
    """The policy's ``approvals`` section, as a gated step's request carries it."""

    timeout_seconds: int = Field(ge=1)
    escalation: tuple[EscalationLevelSpec, ...] = ()
    final_decision: Literal["deny", "approve"] = "deny"


class ApprovalRequest(BaseModel):
    """Input of the ``approval_gate`` sub-orchestration: one step waiting for a human decision.

    ``causer`` (who caused the finding) is never the sole approver; ``title`` and ``evidence``
    are shown to approvers; ``reminder_seconds`` overrides the policy's reminder interval.
    Extra fields are ignored (a gate started by an older release still reads).
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
        text = json.dumps(value, default=str)
        if len(text) > _MAX_EVIDENCE_CHARS:
            return {"summary": text[:_MAX_EVIDENCE_CHARS], "truncated": True}
        return value

    @property
    def approvals_needed(self) -> int:
        return 2 if self.requirement == "two_approvers" else 1

    @classmethod
    def for_step(
        cls,
        incident_id: str,
        step: ResponseStep,
        settings: ApprovalSettings,
        *,
        owners: tuple[str, ...] = (),
        explanation: str = "",
        title: str = "",
    ) -> ApprovalRequest:
        """The request for ``step`` under the policy's ``settings`` (an automatic step is asked
        of one approver)."""
        requirement = (
            step.approval if step.approval is not ApprovalRequirement.AUTOMATIC else ApprovalRequirement.ONE_APPROVER
        )
        return cls(
            incident_id=incident_id,
            step=step,
            requirement="two_approvers" if requirement is ApprovalRequirement.TWO_APPROVERS else "one_approver",
            timeout_seconds=settings.timeout_seconds,
            escalation=settings.escalation,
            final_decision=settings.final_decision,
            owners=owners,
            explanation=explanation[:2000],
            title=title,
        )


class DecidedBy(BaseModel):
    """One approver's decision, as the gate reports it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    approver_id: str
    approver_name: str = ""
    decided_at: str = ""
    justification: str = ""
    channel: str = "api"


class ApprovalOutcome(BaseModel):
    """Output of the ``approval_gate`` sub-orchestration: the decision on one step.

    ``reason``: ``approved`` / ``rejected`` by people, ``expired`` (nobody decided in time and the
    final decision is deny) or ``auto`` (nobody decided in time and the final decision is approve).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    approved: bool
    decided_by: tuple[DecidedBy, ...] = ()
    reason: Literal["approved", "rejected", "expired", "auto"]

    @property
    def approver_ids(self) -> tuple[str, ...]:
        return tuple(d.approver_id for d in self.decided_by)

    @property
    def approver_names(self) -> tuple[str, ...]:
        return tuple(d.approver_name or d.approver_id for d in self.decided_by)


class OpenApprovalRequest(_Model):
    """Input of ``approval_open``: record the pending approval (idempotent)."""

    instance_id: str = Field(min_length=1, max_length=300)
    request: ApprovalRequest
    requested_at: datetime


class ApprovalState(_Model):
    """The approval as the gate sees it: its status and how many decisions are recorded."""

    status: str
    decisions: int = Field(ge=0)


class ApprovalOpened(ApprovalState):
    """Output of ``approval_open``: the state, the deadline, and when to remind and escalate."""

    requested_at: datetime
    expires_at: datetime
    reminder_seconds: int = Field(ge=1)
    escalation: tuple[EscalationLevelSpec, ...] = ()
    escalation_level: int = Field(default=0, ge=0)


class ApprovalRef(_Model):
    """Input of ``approval_check`` and ``approval_close``. ``signal`` is the payload of the event
    that woke the gate (informational: the record is read back)."""

    instance_id: str = Field(min_length=1, max_length=300)
    signal: dict[str, Any] = Field(default_factory=dict)


class NotifyApproversRequest(_Model):
    """Input of ``approval_notify``: ``kind`` is ``requested``, ``reminder``, ``escalated`` or
    ``decided`` (then ``status`` is the decision)."""

    instance_id: str = Field(min_length=1, max_length=300)
    kind: Literal["requested", "reminder", "escalated", "decided"] = "requested"
    level: int = Field(default=0, ge=0)
    status: str | None = None


class EscalateApprovalRequest(_Model):
    """Input of ``approval_escalate``: the approval is now asked of escalation ``level``."""

    instance_id: str = Field(min_length=1, max_length=300)
    level: int = Field(ge=0)


class ExpireApprovalRequest(_Model):
    """Input of ``approval_expire``: apply the final decision if nobody decided by ``now``."""

    instance_id: str = Field(min_length=1, max_length=300)
    now: datetime
