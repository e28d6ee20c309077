"""The custom status an incident or restore orchestration publishes (read by the Approvals API
and page), kept in the orchestrator by ``StatusView`` and republished at each stage.

Always a JSON object of this shape::

    {
      "stage": "triage" | "notifying" | "awaiting_approval" | "executing" | "verifying"
               | "open" | "closing" | "closed"                 (restore: "planning",
               "awaiting_approval", "restoring", "done"),
      "incident_id": "inc-…",
      "kind": "defender:AI.Azure_Jailbreak…",          # the first finding's kind
      "findings": 1,                                    # findings recorded so far
      "playbook": "contain-prompt-attack" | null,
      "rule": "prompt-attacks" | null,
      "dry_run": false,
      "explanation": "rule `prompt-attacks` matched …",  # at most 1000 characters
      "pending_approvals": [                            # steps waiting for a decision now
        {"step_id": "s1-switch-rai-policy", "action": "switch_rai_policy", "target": "/subscriptions/…",
         "requirement": "one_approver", "instance_id": "inc-…:approval:s1-switch-rai-policy"}
      ],
      "steps": [                                        # every playbook step, skipped ones too
        {"step_id": "s1-switch-rai-policy", "action": "switch_rai_policy", "target": "/subscriptions/…",
         "approval": "one_approver",
         "status": "planned" | "awaiting_approval" | "approved" | "rejected" | "expired" | "running"
                   | "succeeded" | "no_op" | "skipped" | "dry_run" | "failed",
         "detail": "…", "error": null | "…", "verified": null | true | false,
         "decided_by": ["alice@contoso.com"]}
      ],
      "error": null | "triage failed: …"
    }

Texts are cut to 300 characters so the status stays far below Durable's size limits.
"""

from __future__ import annotations

from typing import Any

from shared.response.steps import ApprovalRequirement, ResponseStep, StepResult, StepStatus

__all__ = ["TEXT_LIMIT", "StatusView", "cut"]

TEXT_LIMIT = 300


def cut(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


class StatusView:
    """The custom status (see the module docstring), kept in the orchestrator and republished."""

    def __init__(self, incident_id: str, kind: str | None) -> None:
        self.data: dict[str, Any] = {
            "stage": "triage",
            "incident_id": incident_id,
            "kind": kind,
            "findings": 1,
            "playbook": None,
            "rule": None,
            "dry_run": False,
            "explanation": "",
            "pending_approvals": [],
            "steps": [],
            "error": None,
        }
        self._index: dict[str, dict[str, Any]] = {}

    def publish(self, context: Any, stage: str | None = None) -> None:
        if stage is not None:
            self.data["stage"] = stage
        context.set_custom_status(self.data)

    def add_step(self, step: ResponseStep, status: str = StepStatus.PLANNED.value, detail: str = "") -> None:
        entry: dict[str, Any] = {
            "step_id": step.id,
            "action": step.action.value,
            "target": str(step.target),
            "approval": step.approval.value,
            "status": status,
            "detail": cut(detail) or "",
            "error": None,
            "verified": None,
            "decided_by": [],
        }
        self._index[step.id] = entry
        self.data["steps"].append(entry)

    def add_skipped(self, step_id: str, action: str, target: str | None, reason: str) -> None:
        entry: dict[str, Any] = {
            "step_id": step_id,
            "action": action,
            "target": target,
            "approval": ApprovalRequirement.AUTOMATIC.value,
            "status": StepStatus.SKIPPED.value,
            "detail": cut(reason) or "",
            "error": None,
            "verified": None,
            "decided_by": [],
        }
        self._index[step_id] = entry
        self.data["steps"].append(entry)

    def update(self, step_id: str, **fields: Any) -> None:
        entry = self._index[step_id]
        for name, value in fields.items():
            entry[name] = cut(value) if name in ("detail", "error") else value

    def set_result(self, result: StepResult) -> None:
        self.update(result.step_id, status=result.status.value, detail=result.detail, error=result.error)
