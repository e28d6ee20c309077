"""The incident and restore orchestrations' durable contract: names, instance ids and payloads.

``shared.orchestrations.incident`` holds the bodies; ``handlers/incidents.py`` registers them and
their activities under the names below. Each activity takes the request model named next to it
and answers with the result model (all JSON in Durable history; none holds a key value):

============================  ==========================  ==============================
activity                      request                     result
============================  ==========================  ==============================
``incident_opened``           ``OpenedRequest``           ``"opened"``
``incident_triage``           ``TriageRequest``           ``TriageResult``
``incident_notify``           ``NotifyRequest``           ``{"recorded", "channels"}``
``incident_record_decision``  ``DecisionRequest``         ``bool`` (newly recorded)
``incident_execute_step``     ``ExecuteRequest``          ``StepResult``
``incident_record_result``    ``RecordResultRequest``     ``StepResult``
``incident_verify``           ``VerifyRequest``           list of ``VerifyOutcome``
``incident_findings_count``   ``IncidentRef``             ``int``
``incident_mark_closing``     ``IncidentRef``             ``bool``
``incident_close``            ``IncidentRef``             ``int`` (findings recorded)
``incident_restore_plan``     ``RestorePlanRequest``      ``RestorePlan``
``incident_restore_step``     ``RestoreStepRequest``      ``StepResult``
============================  ==========================  ==============================

Orchestrators: ``incident_orchestrator`` (input ``IncidentInput``, instance id
``shared.finding.incident_instance_id``) and ``restore_incident`` (input ``RestoreInput``,
instance id ``restore_instance_id``). Gated steps go through the approval gate
(``shared.contracts.approval``); emergency key rotations through ``keys_rotate_emergency``
(``shared.contracts.rotation``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.approval import ApprovalOutcome, ApprovalSettings
from shared.contracts.retry import RetrySpec
from shared.finding import Finding
from shared.policy import ResponsePlan
from shared.response.steps import ApprovalRequirement, ResponseStep, StepResult

__all__ = [
    "ACTIVITY_CLOSE",
    "ACTIVITY_COUNT",
    "ACTIVITY_DECISION",
    "ACTIVITY_EXECUTE",
    "ACTIVITY_MARK_CLOSING",
    "ACTIVITY_NOTIFY",
    "ACTIVITY_OPENED",
    "ACTIVITY_RECORD_RESULT",
    "ACTIVITY_RESTORE_PLAN",
    "ACTIVITY_RESTORE_STEP",
    "ACTIVITY_TRIAGE",
    "ACTIVITY_VERIFY",
    "INCIDENT_ORCHESTRATOR",
    "RESTORE_ORCHESTRATOR",
    "SETTLE",
    "STEP_LEASE_SECONDS",
    "STEP_RETRY",
    "DecisionRequest",
    "ExecuteRequest",
    "IncidentInput",
    "IncidentRef",
    "NotifyRequest",
    "OpenedRequest",
    "RecordResultRequest",
    "RestoreInput",
    "RestoreItem",
    "RestorePlan",
    "RestorePlanRequest",
    "RestoreStepRequest",
    "TriageRequest",
    "TriageResult",
    "VerifyItem",
    "VerifyOutcome",
    "VerifyRequest",
    "restore_instance_id",
]

INCIDENT_ORCHESTRATOR = "incident_orchestrator"
RESTORE_ORCHESTRATOR = "restore_incident"
ACTIVITY_OPENED = "incident_opened"
ACTIVITY_COUNT = "incident_findings_count"
ACTIVITY_MARK_CLOSING = "incident_mark_closing"
ACTIVITY_CLOSE = "incident_close"
ACTIVITY_TRIAGE = "incident_triage"
ACTIVITY_NOTIFY = "incident_notify"
ACTIVITY_DECISION = "incident_record_decision"
ACTIVITY_EXECUTE = "incident_execute_step"
ACTIVITY_RECORD_RESULT = "incident_record_result"
ACTIVITY_VERIFY = "incident_verify"
ACTIVITY_RESTORE_PLAN = "incident_restore_plan"
ACTIVITY_RESTORE_STEP = "incident_restore_step"

SETTLE = timedelta(minutes=10)
"""How long a closing incident waits between marking its claim ``closing`` and its last count:
longer than the intake's 5-minute lease, so no finding is in flight after it."""

STEP_LEASE_SECONDS = 30
"""How long a containment or restore step's claim holds before another attempt may take it over
(``shared.usecases.claimed_step``). Short on purpose: an attempt killed with its host leaves the
claim behind, and the retried activity must be able to take it over within ``STEP_RETRY``."""

STEP_RETRY = RetrySpec.outlasting(STEP_LEASE_SECONDS, interval_seconds=5, transient_attempts=12)
"""Retries of triage, containment and restore steps, 5 s apart: the lease's worth of attempts plus
12 for throttling, server errors and failed operations (the reliability suite lost a step when a
crash landed after three failed LROs with 9 attempts)."""


def restore_instance_id(incident_id: str) -> str:
    """The ``restore_incident`` orchestration's instance id for an incident."""
    return f"{incident_id}:restore"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IncidentInput(_Model):
    """Input of ``incident_orchestrator``: the incident's first finding and its quiet period."""

    finding: Finding
    quiet_minutes: int = Field(default=30, ge=1)
    correlation_key: str | None = None
    """The resource claim the intake holds for the incident (default: ``finding.incident_key``)."""


class IncidentRef(_Model):
    """An incident and the correlation key (resource claim) it holds."""

    incident_id: str
    correlation_key: str


class OpenedRequest(IncidentRef):
    """Input of ``incident_opened``: audit the first finding, once."""

    finding: Finding


class TriageRequest(_Model):
    """Input of ``incident_triage``: plan the response to the incident's first finding at ``now``."""

    incident_id: str
    finding: Finding
    now: datetime


class TriageResult(_Model):
    """What triage decided: the plan, the approval settings, and what it could not read."""

    plan: ResponsePlan
    approvals: ApprovalSettings
    recent_disruptive_actions: int = 0
    tags_error: str | None = None


class NotifyRequest(_Model):
    """Input of ``incident_notify``: what an incident wants its owners to hear at one stage.

    ``stage``: ``planned`` (after triage: what Warden will do and what needs approval),
    ``responded`` (after execution and verification: each step's result) or ``restore``.
    ``steps`` are the entries of the custom status (``step_id``, ``action``, ``target``,
    ``status``, ``detail``); ``finding`` summarises the first finding (kind, severity, title,
    resource).
    """

    incident_id: str
    stage: Literal["planned", "responded", "restore"]
    owners: tuple[str, ...] = ()
    subject: str = Field(max_length=500)
    summary: str = Field(default="", max_length=4000)
    finding: dict[str, Any] = Field(default_factory=dict)
    steps: tuple[dict[str, Any], ...] = ()
    dry_run: bool = False


class DecisionRequest(_Model):
    """Input of ``incident_record_decision``: audit the gate's decision on one step, once."""

    incident_id: str
    step: ResponseStep
    outcome: ApprovalOutcome
    source: str = "approval_gate"


class ExecuteRequest(_Model):
    """Input of ``incident_execute_step``: run one planned step, once."""

    incident_id: str
    step: ResponseStep
    dry_run: bool = False
    approved_by: tuple[str, ...] = ()
    now: datetime


class RecordResultRequest(_Model):
    """Input of ``incident_record_result``: audit a step that ran as a sub-orchestration."""

    incident_id: str
    step: ResponseStep
    result: StepResult
    now: datetime


class VerifyItem(_Model):
    """A step that changed something, with its result."""

    step: ResponseStep
    result: StepResult


class VerifyRequest(_Model):
    """Input of ``incident_verify``: re-read every changed resource."""

    incident_id: str
    items: tuple[VerifyItem, ...] = ()


class VerifyOutcome(_Model):
    """Whether a step's desired state holds when re-read."""

    step_id: str
    verified: bool
    observed: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""


class RestoreInput(_Model):
    """Input of ``restore_incident``: who asked for the restore, and why."""

    incident_id: str
    requested_by: str = Field(default="unknown", max_length=300)
    reason: str = Field(default="", max_length=1000)


class RestorePlanRequest(RestoreInput):
    """Input of ``incident_restore_plan``; ``run`` names this restore run (one audit record each)."""

    run: str


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


class RestoreStepRequest(_Model):
    """Input of ``incident_restore_step``: re-apply one snapshot, once."""

    incident_id: str
    step: ResponseStep
    approved_by: tuple[str, ...] = ()
