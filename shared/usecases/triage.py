"""Triage: the policy's response plan for an incident's first finding, audited.

``triage`` loads the policy, reads the tags of the finding's account (for rules matching on
tags, owners and the protected-resource guard), counts disruptive actions of the past hour
(the circuit breaker) and asks ``plan_response`` for the plan. If the tags cannot be read,
Warden cannot rule out that the resource is protected: every changing step is then skipped
(owners are still notified) and the plan says why.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.audit.chain import AuditEvent
from shared.contracts.approval import ApprovalSettings
from shared.contracts.incident import TriageRequest, TriageResult
from shared.policy import Policy, ResponsePlan, SkippedStep, plan_response
from shared.ports.cognitive import CognitiveError
from shared.response.steps import ActionKind
from shared.usecases.audit_trail import audit_once
from shared.usecases.containment import read_with_retry
from shared.usecases.response_ports import ResponsePorts

__all__ = ["BREAKER_WINDOW", "approval_settings", "triage"]

_log = logging.getLogger("warden.incidents")

BREAKER_WINDOW = timedelta(hours=1)


def approval_settings(policy: Policy) -> ApprovalSettings:
    """The policy's approval settings as the approval gate's request carries them."""
    approvals = policy.approvals
    return ApprovalSettings.model_validate(
        {
            "timeout_seconds": int(approvals.timeout.total_seconds()),
            "escalation": [
                {"approvers": list(level.approvers), "wait_seconds": int(level.wait.total_seconds())}
                for level in approvals.escalation
            ],
            "final_decision": approvals.final_decision,
        }
    )


def _unverifiable(plan: ResponsePlan, error: str) -> ResponsePlan:
    """The plan with every changing step skipped: the resource's protection could not be checked."""
    reason = f"the resource's tags could not be read ({error[:300]}); Warden cannot rule out that it is protected"
    kept = tuple(s for s in plan.steps if s.action is ActionKind.NOTIFY_OWNERS)
    dropped = tuple(
        SkippedStep(id=s.id, action=s.action, target=str(s.target), reason=reason)
        for s in plan.steps
        if s.action is not ActionKind.NOTIFY_OWNERS
    )
    if not dropped:
        return plan
    explanation = plan.explanation + " " + f"Changing steps skipped: {reason}."
    return plan.model_copy(
        update={"steps": kept, "skipped": (*plan.skipped, *dropped), "explanation": explanation[:4000]}
    )


def triage(ports: ResponsePorts, request: TriageRequest) -> TriageResult:
    """Plan the response to the incident's first finding and audit the decision (once per incident).

    Requires ``Microsoft.CognitiveServices/accounts/read`` (tags) and Table Storage.
    """
    finding, incident_id, now = request.finding, request.incident_id, request.now
    policy = ports.policy
    tags: dict[str, str] = {}
    tags_error: str | None = None
    account = finding.account
    if account is not None:
        try:
            tags = dict(read_with_retry(lambda: ports.cognitive.get_account(account)).tags)
        except CognitiveError as exc:
            tags_error = str(exc)
    recent = ports.breaker.count_since(now - BREAKER_WINDOW)
    plan = plan_response(policy, finding, tags, now=now, dry_run=ports.dry_run, recent_disruptive_actions=recent)
    if tags_error is not None:
        plan = _unverifiable(plan, tags_error)
    target = str(finding.resource) if finding.resource is not None else None
    audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor="warden",
            action="incident.triaged",
            incident_id=incident_id,
            target=target,
            reason=plan.explanation[:2000],
            details={
                "rule": plan.rule,
                "playbook": plan.playbook,
                "dry_run": plan.dry_run,
                "protected": plan.protected,
                "recent_disruptive_actions": recent,
                "steps": [{"id": s.id, "action": s.action.value, "approval": s.approval.value} for s in plan.steps],
                "owners": list(plan.owners),
            },
        ),
        "incident.triaged",
    )
    for skipped in plan.skipped:
        audit_once(
            ports.audit,
            AuditEvent(
                at=ports.clock(),
                actor="warden",
                action="step.skipped",
                incident_id=incident_id,
                target=skipped.target or target,
                reason=skipped.reason[:2000],
                details={"step_id": skipped.id, "action": skipped.action.value, "guard": "plan"},
            ),
            f"step.skipped:{skipped.id}",
        )
    _log.info("triage: %s", plan.explanation)
    return TriageResult(
        plan=plan, approvals=approval_settings(policy), recent_disruptive_actions=recent, tags_error=tags_error
    )
