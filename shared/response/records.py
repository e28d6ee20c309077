"""Audit records of what the incident decided and told: approvals and notification intents.

``record_notification`` is the seam of the ``incident_notify`` activity: today it records the
intent (audit + log); the notifications feature (``shared/notify``) sends it to the channels.
The ``Notification`` payload is documented there so a channel can render it as it is.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.audit.chain import AuditEvent
from shared.response.models import ApprovalOutcome
from shared.response.ports import ResponsePorts, audit_once
from shared.steps import ResponseStep

__all__ = ["Notification", "record_decision", "record_notification"]

_log = logging.getLogger("warden.response.notify")


class Notification(BaseModel):
    """What an incident wants its owners (and approvers) to hear at one stage.

    ``stage``: ``planned`` (after triage: what Warden will do and what needs approval) or
    ``responded`` (after execution and verification: each step's result). ``steps`` are the
    entries of the custom status (``step_id``, ``action``, ``target``, ``status``, ``detail``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    stage: Literal["planned", "responded", "restore"]
    owners: tuple[str, ...] = ()
    subject: str = Field(max_length=500)
    summary: str = Field(default="", max_length=4000)
    finding: dict[str, Any] = Field(default_factory=dict)
    steps: tuple[dict[str, Any], ...] = ()
    dry_run: bool = False


def record_notification(ports: ResponsePorts, notification: Notification) -> dict[str, Any]:
    """Record the intent to notify (once per incident and stage). Needs Table Storage.

    Returns ``{"recorded": bool, "channels": []}``: no channel sends yet.
    """
    record = audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor="warden",
            action="notification.intent",
            incident_id=notification.incident_id,
            reason=notification.subject,
            details={
                "stage": notification.stage,
                "owners": list(notification.owners),
                "summary": notification.summary[:1500],
                "steps": [{k: s.get(k) for k in ("step_id", "action", "status")} for s in notification.steps[:30]],
            },
        ),
        f"notification.intent:{notification.stage}",
    )
    _log.info("notify %s about %s (%s)", ", ".join(notification.owners), notification.incident_id, notification.stage)
    return {"recorded": record is not None, "channels": []}


def record_decision(
    ports: ResponsePorts, incident_id: str, step: ResponseStep, outcome: ApprovalOutcome, *, source: str
) -> bool:
    """Audit an approval decision on ``step`` (who, when, why), once. ``source`` is
    ``approval_gate`` or ``policy`` (the fallback auto-decision)."""
    who = ", ".join(d.approver_name or d.approver_id for d in outcome.decided_by) or "nobody"
    action = "approval.granted" if outcome.approved else "approval.denied"
    record = audit_once(
        ports.audit,
        AuditEvent(
            at=ports.clock(),
            actor=who[:300],
            action=action,
            incident_id=incident_id,
            target=str(step.target),
            reason=f"{step.id} ({step.action.value}): {outcome.reason} by {who}"
            + "".join(f"; {d.justification}" for d in outcome.decided_by if d.justification)[:1500],
            details={
                "step_id": step.id,
                "requirement": step.approval.value,
                "reason": outcome.reason,
                "source": source,
                "decided_by": [d.model_dump() for d in outcome.decided_by],
            },
        ),
        f"{action}:{step.id}",
    )
    return record is not None
