"""Response-step types: what an incident plans to do, and what happened when it did.

A playbook (chosen by policy) expands into ``ResponseStep`` objects. Each step targets one
resource, names one action, and says whether it is disruptive (needs approval unless policy
says otherwise). Executing a step yields a ``StepResult`` with the state before and after,
so every change can be audited and undone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.resource_ids import AccountId, DeploymentId, VaultId, WorkspaceId

__all__ = [
    "ActionKind",
    "ApprovalRequirement",
    "ResponseStep",
    "StepResult",
    "StepStatus",
]


class ActionKind(StrEnum):
    """Every action Warden can take. Values are stable: they appear in policies and audit."""

    NOTIFY_OWNERS = "notify_owners"
    TAG_RESOURCE = "tag_resource"
    SWITCH_RAI_POLICY = "switch_rai_policy"
    DELETE_DEPLOYMENT = "delete_deployment"
    DISABLE_LOCAL_AUTH = "disable_local_auth"
    DENY_PUBLIC_NETWORK = "deny_public_network"
    ROTATE_KEY_SCHEDULED = "rotate_key_scheduled"
    ROTATE_KEY_EMERGENCY = "rotate_key_emergency"

    @property
    def disruptive(self) -> bool:
        """Whether the action can break a working application (then it needs approval by default)."""
        return self in _DISRUPTIVE

    @property
    def reversible(self) -> bool:
        """Whether a snapshot taken before the action lets Warden restore the prior state."""
        return self not in _IRREVERSIBLE


_DISRUPTIVE = frozenset(
    {
        ActionKind.SWITCH_RAI_POLICY,
        ActionKind.DELETE_DEPLOYMENT,
        ActionKind.DISABLE_LOCAL_AUTH,
        ActionKind.DENY_PUBLIC_NETWORK,
        ActionKind.ROTATE_KEY_EMERGENCY,
    }
)
# A regenerated key cannot be brought back; notifications cannot be unsent.
_IRREVERSIBLE = frozenset({ActionKind.ROTATE_KEY_SCHEDULED, ActionKind.ROTATE_KEY_EMERGENCY, ActionKind.NOTIFY_OWNERS})


class ApprovalRequirement(StrEnum):
    """How a step is allowed to run."""

    AUTOMATIC = "automatic"  # run without asking
    ONE_APPROVER = "one_approver"
    TWO_APPROVERS = "two_approvers"  # separation of duties for high-risk steps


class StepStatus(StrEnum):
    """Where a step is in its life."""

    PLANNED = "planned"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # approval timed out and policy said deny
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    NO_OP = "no_op"  # already in the desired state (idempotent re-run)
    SKIPPED = "skipped"  # a guard refused (protected resource, circuit breaker...)
    DRY_RUN = "dry_run"  # planned and recorded, nothing changed
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in {
            StepStatus.REJECTED,
            StepStatus.EXPIRED,
            StepStatus.SUCCEEDED,
            StepStatus.NO_OP,
            StepStatus.SKIPPED,
            StepStatus.DRY_RUN,
            StepStatus.FAILED,
        }


Target = AccountId | DeploymentId | VaultId | WorkspaceId


class ResponseStep(BaseModel):
    """One planned action on one resource.

    ``id`` is unique within its incident and stable across replays (it is derived from the
    playbook, not generated), so approvals and audit records can refer to it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    action: ActionKind
    target: Target
    parameters: dict[str, Any] = Field(default_factory=dict)
    approval: ApprovalRequirement = ApprovalRequirement.AUTOMATIC
    reason: str = Field(default="", max_length=1000)

    @property
    def disruptive(self) -> bool:
        return self.action.disruptive

    @property
    def needs_approval(self) -> bool:
        return self.approval is not ApprovalRequirement.AUTOMATIC


class StepResult(BaseModel):
    """The outcome of a step, with the state before and after for audit and restore.

    ``before`` is the snapshot a restore re-applies; it never contains key values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    action: ActionKind
    target: Target
    status: StepStatus
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: str = Field(default="", max_length=2000)
    error: str | None = Field(default=None, max_length=2000)
