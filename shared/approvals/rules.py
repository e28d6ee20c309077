"""Who may decide a step, and when a step counts as decided (pure functions, no I/O).

- ``require_approver``: the approver app role (or group) from ``WARDEN_APPROVER_ROLE`` (403).
- ``check_decision``: separation of duties on one decision:
  * a step already decided, or past its deadline, takes no more decisions (409);
  * the same person never decides a step twice (409): two-approver steps need two DIFFERENT people;
  * ``approvals.ineligible.principals`` may never decide (403);
  * the resource's owners and the identity that caused the finding are *conflicted*: their
    approval counts toward the number needed but never alone (an unconflicted approver must
    approve too), and they may not reject (403), so neither an owner nor an attacker who
    caused the finding can wave a change through or block it.
- ``outcome``: the status a record has after its decisions.
"""

from __future__ import annotations

from datetime import datetime

from shared.approvals.principal import Principal
from shared.approvals.records import ApprovalRecord, ApprovalStatus, RecordedDecision

__all__ = ["DecisionRefusedError", "check_decision", "is_conflicted", "outcome", "require_approver"]


class DecisionRefusedError(Exception):
    """A decision that may not be taken; ``status`` is the HTTP status (403 or 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def require_approver(principal: Principal, role: str) -> None:
    """Raise ``DecisionRefusedError(403)`` unless ``principal`` holds ``role`` (app role or group id)."""
    if not principal.has_role_or_group(role):
        raise DecisionRefusedError(
            403,
            f"{principal.name} ({principal.id}) does not hold the approver role {role!r}; "
            "ask an administrator to assign it in the Warden app registration",
        )


def is_conflicted(record: ApprovalRecord, principal: Principal) -> str | None:
    """Why ``principal`` may not decide alone (owner or causer), or ``None``."""
    if record.owners_conflicted and principal.is_one_of(record.owners):
        return "you own the resource (owner tags)"
    if record.causer_conflicted and record.causer and principal.is_one_of([record.causer]):
        return "you caused the finding"
    return None


def check_decision(record: ApprovalRecord, principal: Principal, *, approve: bool, now: datetime) -> bool:
    """Refuse a decision that breaks a rule (``DecisionRefusedError``); returns whether it is conflicted."""
    step = f"step {record.step_id} of incident {record.incident_id}"
    if record.status is not ApprovalStatus.PENDING:
        who = ", ".join(sorted({d.approver_name or d.approver_id for d in record.decisions})) or "the timeout"
        raise DecisionRefusedError(
            409, f"{step} is already {record.status.value} (decided by {who}); nothing was changed"
        )
    if record.expired_at(now):
        raise DecisionRefusedError(
            409, f"{step} expired at {record.expires_at.isoformat()}; it can no longer be decided"
        )
    if any(principal.is_one_of([d.approver_id]) or d.approver_id == principal.id for d in record.decisions):
        raise DecisionRefusedError(
            409, f"you already decided {step}; a second approval must come from a different approver"
        )
    if principal.is_one_of(record.ineligible):
        raise DecisionRefusedError(403, f"you are listed in approvals.ineligible.principals and may not decide {step}")
    conflicted = is_conflicted(record, principal)
    if conflicted and not approve:
        raise DecisionRefusedError(403, f"{conflicted}, so you may not reject {step}; another approver must decide")
    return conflicted is not None


def outcome(record: ApprovalRecord, decisions: tuple[RecordedDecision, ...]) -> ApprovalStatus:
    """The status after ``decisions``: any rejection rejects; enough distinct approvals, at least
    one of them unconflicted, approve; otherwise still pending."""
    if any(not d.approved for d in decisions):
        return ApprovalStatus.REJECTED
    approvers = {d.approver_id for d in decisions if d.approved}
    unconflicted = any(d.approved and not d.conflicted for d in decisions)
    if len(approvers) >= record.approvals_needed and unconflicted:
        return ApprovalStatus.APPROVED
    return ApprovalStatus.PENDING
