"""What Warden tells people: one ``Notification`` rendered as a CloudEvent and as a Teams card.

CloudEvent types (source ``/warden``; subject = the incident id):

================================  ===============================================================
``Warden.Incident.Opened``        an incident opened (finding kind, resource, owners)
``Warden.Approval.Requested``     a step waits for approval (step, requirement, deadline, page URL)
``Warden.Approval.Reminder``      still waiting
``Warden.Approval.Escalated``     the next escalation level is asked as well
``Warden.Approval.Decided``       approved / rejected / expired / auto
``Warden.Step.Completed``         a response step finished (status, detail)
================================  ===============================================================

CloudEvents carry the approval page URL, never the signed one-click links: those go only to
the Teams card of the approvers they are bound to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.notify.escape import card_text

__all__ = [
    "APPROVAL_DECIDED",
    "APPROVAL_ESCALATED",
    "APPROVAL_REMINDER",
    "APPROVAL_REQUESTED",
    "INCIDENT_OPENED",
    "STEP_COMPLETED",
    "CardAction",
    "Notification",
    "adaptive_card",
    "incident_opened",
    "step_completed",
]

INCIDENT_OPENED = "Warden.Incident.Opened"
APPROVAL_REQUESTED = "Warden.Approval.Requested"
APPROVAL_REMINDER = "Warden.Approval.Reminder"
APPROVAL_ESCALATED = "Warden.Approval.Escalated"
APPROVAL_DECIDED = "Warden.Approval.Decided"
STEP_COMPLETED = "Warden.Step.Completed"


@dataclass(frozen=True)
class CardAction:
    title: str
    url: str


@dataclass(frozen=True)
class Notification:
    """One message. ``data`` goes into the CloudEvent; ``title``/``facts``/``text``/``actions``
    make the Teams card. Every string may hold attacker-controlled text: renderers escape it."""

    type: str
    subject: str
    data: dict[str, Any]
    title: str
    text: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    actions: tuple[CardAction, ...] = ()
    recipients: tuple[str, ...] = field(default_factory=tuple)


def adaptive_card(message: Notification) -> dict[str, Any]:
    """The Teams incoming-webhook payload: one Adaptive Card (1.4) with escaped text."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": card_text(message.title, limit=200),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if message.text:
        body.append({"type": "TextBlock", "text": card_text(message.text, limit=1500), "wrap": True})
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": card_text(k, limit=60), "value": card_text(v, limit=300)} for k, v in message.facts
                ],
            }
        )
    if message.recipients:
        body.append(
            {"type": "TextBlock", "text": card_text("For: " + ", ".join(message.recipients), limit=300), "wrap": True}
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if message.actions:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": card_text(a.title, limit=60), "url": a.url} for a in message.actions
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def incident_opened(
    *, incident_id: str, finding_kind: str, resource: str, severity: str, owners: list[str], summary: str = ""
) -> Notification:
    """``Warden.Incident.Opened`` for the owners of ``resource``."""
    return Notification(
        type=INCIDENT_OPENED,
        subject=incident_id,
        data={
            "incident_id": incident_id,
            "finding_kind": finding_kind,
            "resource": resource,
            "severity": severity,
            "owners": owners,
            "summary": summary[:2000],
        },
        title=f"Warden incident: {finding_kind}",
        text=summary,
        facts=(("Incident", incident_id), ("Resource", resource), ("Severity", severity)),
        recipients=tuple(owners),
    )


def step_completed(
    *, incident_id: str, step_id: str, action: str, target: str, status: str, detail: str = "", owners: list[str]
) -> Notification:
    """``Warden.Step.Completed`` for the owners of ``target``."""
    return Notification(
        type=STEP_COMPLETED,
        subject=incident_id,
        data={
            "incident_id": incident_id,
            "step_id": step_id,
            "action": action,
            "target": target,
            "status": status,
            "detail": detail[:2000],
        },
        title=f"Warden step {status}: {action}",
        text=detail,
        facts=(("Incident", incident_id), ("Step", step_id), ("Target", target), ("Status", status)),
        recipients=tuple(owners),
    )
