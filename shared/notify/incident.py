"""Incident notifications for the incident orchestrator's ``incident_notify`` seam.

``incident_messages`` turns one notify stage into messages: ``planned`` -> one
``Warden.Incident.Opened``; ``responded`` / ``restore`` -> one ``Warden.Step.Completed`` per step.
``send`` delivers them on the configured channels (Event Grid topic, Teams webhook; per policy
``notifications``) with bounded retries and returns one status per message and channel; it never
raises, so a notification can never block containment.

Usage from an activity (Table Storage and channels come from the container)::

    statuses = send(incident_messages(incident_id=..., stage="planned", owners=[...], subject=...,
                                      summary=..., finding={...}, steps=[...]))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.notify.channels import Channel, deliver
from shared.notify.messages import Notification, incident_opened, step_completed

__all__ = ["incident_messages", "send"]

_log = logging.getLogger("warden.notify")


def incident_messages(
    *,
    incident_id: str,
    stage: str,
    owners: Sequence[str],
    subject: str,
    summary: str = "",
    finding: Mapping[str, Any] | None = None,
    steps: Iterable[Mapping[str, Any]] = (),
) -> list[Notification]:
    """The messages for one stage of an incident (see the module docstring)."""
    finding = finding or {}
    if stage == "planned":
        return [
            incident_opened(
                incident_id=incident_id,
                finding_kind=str(finding.get("kind", subject)),
                resource=str(finding.get("resource") or finding.get("resource_id") or ""),
                severity=str(finding.get("severity", "")),
                owners=list(owners),
                summary=summary or subject,
            )
        ]
    return [
        step_completed(
            incident_id=incident_id,
            step_id=str(step.get("step_id", "")),
            action=str(step.get("action", "")),
            target=str(step.get("target", "")),
            status=str(step.get("status", "")),
            detail=str(step.get("detail") or step.get("error") or ""),
            owners=list(owners),
        )
        for step in steps
    ]


def send(messages: Iterable[Notification], channels: Sequence[Channel] | None = None) -> list[dict[str, Any]]:
    """Deliver every message (channels default to the configured ones); never raises."""
    try:
        if channels is None:
            from shared.bootstrap import container

            deps = container().approvals_deps
            channels, attempts = deps.channels, deps.notify_attempts
        else:
            attempts = 3
        out: list[dict[str, Any]] = []
        for message in messages:
            for status in deliver(channels, message, attempts=attempts):
                out.append({"type": message.type, **status.as_dict()})
        return out
    except Exception as exc:  # pragma: no cover - a broken configuration must not stop a response
        _log.exception("notifications could not be sent")
        return [{"type": "all", "channel": "all", "ok": False, "attempts": 0, "error": type(exc).__name__}]
