"""Incident notifications for the incident orchestrator's ``incident_notify`` seam.

``incident_messages`` turns one notify stage into messages: ``planned`` -> one
``Warden.Incident.Opened``; ``responded`` / ``restore`` -> one ``Warden.Step.Completed`` per step.
``shared.usecases.notifications.send`` delivers them on the configured channels (Event Grid
topic, Teams webhook; per policy ``notifications``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.notify.messages import Notification, incident_opened, step_completed

__all__ = ["incident_messages"]


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
