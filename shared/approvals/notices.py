"""The notifications an approval sends: requested, reminder, escalated, decided.

Each names the approvers of the escalation level being asked and carries the approval page's
URL; the Teams card also carries one signed approve and one signed reject link per approver
of that level (when ``WARDEN_LINK_SIGNING_KEY`` and ``WARDEN_PUBLIC_BASE_URL`` are set).
"""

from __future__ import annotations

from datetime import datetime

from shared.approvals.links import link_url, sign_link
from shared.approvals.records import ApprovalRecord
from shared.notify.messages import (
    APPROVAL_DECIDED,
    APPROVAL_ESCALATED,
    APPROVAL_REMINDER,
    APPROVAL_REQUESTED,
    CardAction,
    Notification,
)

__all__ = ["approval_notice", "level_approvers"]

_TYPES = {
    "requested": APPROVAL_REQUESTED,
    "reminder": APPROVAL_REMINDER,
    "escalated": APPROVAL_ESCALATED,
    "decided": APPROVAL_DECIDED,
}


def level_approvers(record: ApprovalRecord, level: int, default_role: str) -> tuple[str, ...]:
    """Everyone asked up to ``level`` (escalation adds levels; it never drops earlier ones)."""
    if not record.escalation:
        return (default_role,)
    asked: list[str] = []
    for spec in record.escalation[: level + 1]:
        asked.extend(a for a in spec.approvers if a not in asked)
    return tuple(asked)


def approval_notice(
    record: ApprovalRecord,
    *,
    kind: str,
    level: int,
    default_role: str,
    base_url: str | None,
    link_key: bytes | None,
    now: datetime,
) -> Notification:
    """The notification for ``kind`` (requested/reminder/escalated/decided) of ``record``."""
    approvers = level_approvers(record, level, default_role)
    page = f"{base_url.rstrip('/')}/api/approvals/page" if base_url else None
    data = {
        "incident_id": record.incident_id,
        "step_id": record.step_id,
        "action": record.step.action.value,
        "target": str(record.step.target),
        "requirement": record.requirement,
        "status": record.status.value,
        "requested_at": record.requested_at.isoformat(),
        "expires_at": record.expires_at.isoformat(),
        "level": level + 1,
        "approvers": list(approvers),
        "title": record.title,
        "page_url": page,
    }
    actions: list[CardAction] = []
    if kind != "decided":
        if link_key and base_url and now < record.expires_at:
            for approver in approvers:
                for decision in ("approve", "reject"):
                    token = sign_link(
                        link_key,
                        incident_id=record.incident_id,
                        step_id=record.step_id,
                        decision=decision,
                        approver=approver,
                        expires_at=record.expires_at,
                    )
                    label = "Approve" if decision == "approve" else "Reject"
                    suffix = f" ({approver})" if len(approvers) > 1 else ""
                    actions.append(CardAction(f"{label}{suffix}", link_url(base_url, token)))
        if page:
            actions.append(CardAction("Open the approval page", page))
    verb = {
        "requested": "Approval needed",
        "reminder": "Reminder: approval still needed",
        "escalated": f"Escalated (level {level + 1}): approval needed",
        "decided": f"Approval {record.status.value}",
    }[kind]
    facts = (
        ("Incident", record.incident_id),
        ("Step", f"{record.step_id}: {record.step.action.value}"),
        ("Target", str(record.step.target)),
        ("Needs", record.requirement.replace("_", " ")),
        ("Expires", record.expires_at.isoformat()),
    )
    return Notification(
        type=_TYPES[kind],
        subject=record.incident_id,
        data=data,
        title=f"{verb}: {record.title}",
        text=record.explanation,
        facts=facts,
        actions=tuple(actions),
        recipients=approvers,
    )
