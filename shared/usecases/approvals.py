"""Approvals: open, read, decide, expire — over the approval store and the audit trail.

The approval gate's activities (``open_approval``, ``notify_approvers``, ``check_approval``,
``escalate_approval``, ``expire_approval``, ``close_approval``; ``shared.contracts.approval``)
and the HTTP API (``shared.usecases.approvals_http``) both call ``ApprovalService``; the record in
the store is the one truth. ``decide`` validates the principal's right to decide (``rules``), appends the
decision with an ETag-conditional write (two approvers racing cannot both take the last slot),
writes it to the audit trail, and returns the decision whose ``event_name(index)`` the caller
raises on the gate instance to wake it up.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.approvals.notices import approval_notice
from shared.approvals.principal import Principal
from shared.approvals.records import ApprovalRecord, ApprovalStatus, EscalationLevelSpec, RecordedDecision
from shared.approvals.rules import DecisionRefusedError, check_decision, outcome, require_approver
from shared.audit.chain import AuditEvent
from shared.contracts.approval import (
    ApprovalOpened,
    ApprovalOutcome,
    ApprovalRef,
    ApprovalRequest,
    ApprovalState,
    DecidedBy,
    EscalateApprovalRequest,
    ExpireApprovalRequest,
    NotifyApproversRequest,
    OpenApprovalRequest,
    approval_instance_id,
)
from shared.observability import log_context
from shared.policy.schema import ApprovalPolicy
from shared.ports.channels import Channel
from shared.ports.stores import ApprovalStore, AuditStore, ConcurrentUpdateError, IdempotencyStore, StorageError
from shared.usecases.audit_trail import audit_once
from shared.usecases.notifications import deliver

__all__ = [
    "ApprovalService",
    "ApprovalsDeps",
    "DecisionRefusedError",
    "NotFoundError",
    "check_approval",
    "close_approval",
    "escalate_approval",
    "expire_approval",
    "notify_approvers",
    "open_approval",
    "outcome_of",
]

_log = logging.getLogger("warden.approvals")
_MAX_RACES = 8
_MAX_NOTIFICATION_LOG = 30


class NotFoundError(LookupError):
    """No approval for that incident and step (HTTP 404)."""


@dataclass
class ApprovalService:
    store: ApprovalStore
    audit: AuditStore
    approver_role: str = "Warden.Approver"
    policy: ApprovalPolicy | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- the gate's side -------------------------------------------------------------------
    def open(self, request: ApprovalRequest, *, instance_id: str, requested_at: datetime) -> ApprovalRecord:
        """Record the pending approval (idempotent: a re-run returns the stored record)."""
        policy = self.policy or ApprovalPolicy()
        timeout = request.timeout_seconds or int(policy.timeout.total_seconds())
        escalation = request.escalation or tuple(
            EscalationLevelSpec(approvers=level.approvers, wait_seconds=int(level.wait.total_seconds()))
            for level in policy.escalation
        )
        record = ApprovalRecord(
            instance_id=instance_id,
            incident_id=request.incident_id,
            step=request.step,
            requirement=request.requirement,
            requested_at=requested_at,
            expires_at=requested_at + timedelta(seconds=timeout),
            final_decision=request.final_decision,
            owners=request.owners,
            causer=request.causer,
            ineligible=tuple(policy.ineligible.principals),
            owners_conflicted=policy.ineligible.resource_owners,
            causer_conflicted=policy.ineligible.causer,
            title=request.title or f"{request.step.action.value} on {request.step.target}",
            explanation=request.explanation,
            evidence=request.evidence,
            escalation=escalation,
        )
        stored = self.store.create(record)
        if stored.requested_at == requested_at:
            self._audit_once(
                stored,
                action="approval.requested",
                actor="warden",
                reason=f"{stored.requirement} needed before {stored.expires_at.isoformat()}",
                details={"instance_id": instance_id, "owners": list(stored.owners)},
            )
        return stored

    def reminder_seconds(self, request: ApprovalRequest) -> int:
        policy = self.policy or ApprovalPolicy()
        return request.reminder_seconds or int(policy.reminder_interval.total_seconds())

    def get_record(self, instance_id: str) -> ApprovalRecord:
        record = self.store.get(instance_id)
        if record is None:
            raise NotFoundError(f"no approval {instance_id!r}")
        return record

    def expire(self, instance_id: str, *, now: datetime) -> ApprovalRecord:
        """Apply the final decision if the record is still pending at its deadline."""
        for _ in range(_MAX_RACES):
            record = self.get_record(instance_id)
            if record.status.terminal:
                return record
            # Approval by silence never applies to a two-approver (high-risk) step.
            auto = record.final_decision == "approve" and record.requirement == "one_approver"
            status = ApprovalStatus.AUTO if auto else ApprovalStatus.EXPIRED
            try:
                updated = self.store.update(record.model_copy(update={"status": status, "decided_at": now}))
            except ConcurrentUpdateError:
                continue
            self._audit_once(
                updated,
                action=f"approval.{status.value}",
                actor="warden",
                reason=f"no decision before {record.expires_at.isoformat()}; final decision {record.final_decision}",
                details={"instance_id": instance_id},
            )
            return updated
        raise StorageError(f"approval {instance_id!r} kept changing while it expired")

    def escalated(self, instance_id: str, level: int) -> None:
        for _ in range(_MAX_RACES):
            record = self.get_record(instance_id)
            if record.escalation_level >= level:
                return
            try:
                self.store.update(record.model_copy(update={"escalation_level": level}))
                return
            except ConcurrentUpdateError:
                continue

    def record_notification(self, instance_id: str, entry: dict[str, Any]) -> None:
        """Keep the outcome of a notification on the record (bounded log); never raises."""
        try:
            for _ in range(_MAX_RACES):
                record = self.store.get(instance_id)
                if record is None:
                    return
                log = (*record.notifications, entry)[-_MAX_NOTIFICATION_LOG:]
                try:
                    self.store.update(record.model_copy(update={"notifications": log}))
                    return
                except ConcurrentUpdateError:
                    continue
        except Exception:  # a notification log must never break the caller
            _log.exception("could not record a notification outcome on %s", instance_id)

    def close(self, instance_id: str) -> ApprovalOutcome:
        """The gate's output for a decided record, with the outcome audited once (and any recorded
        decision whose audit record was lost, first: see ``_audit_decisions``)."""
        record = self.get_record(instance_id)
        result = outcome_of(record)
        self._audit_decisions(record)
        self._audit_once(
            record,
            action=f"approval.closed.{record.status.value}",
            actor="warden",
            reason=f"gate finished: {record.status.value}",
            details={"instance_id": instance_id, "approved": result.approved},
        )
        return result

    # -- the people's side -----------------------------------------------------------------
    def pending(self, principal: Principal) -> list[ApprovalRecord]:
        require_approver(principal, self.approver_role)
        return self.store.list(status=ApprovalStatus.PENDING)

    def for_incident(self, principal: Principal, incident_id: str) -> list[ApprovalRecord]:
        require_approver(principal, self.approver_role)
        return self.store.list(incident_id=incident_id)

    def show(self, principal: Principal, incident_id: str, step_id: str) -> ApprovalRecord:
        require_approver(principal, self.approver_role)
        record = self.store.get(approval_instance_id(incident_id, step_id))
        if record is None:
            raise NotFoundError(f"no approval for step {step_id!r} of incident {incident_id!r}")
        return record

    def decide(
        self,
        principal: Principal,
        *,
        incident_id: str,
        step_id: str,
        approve: bool,
        justification: str,
        channel: str,
    ) -> tuple[ApprovalRecord, RecordedDecision]:
        """Record one decision; raises ``DecisionRefusedError`` (403/409), ``NotFoundError`` or ``ValueError``."""
        require_approver(principal, self.approver_role)
        justification = justification.strip()
        if not justification:
            raise ValueError("justification is required: say why you approve or reject this step")
        if len(justification) > 2000:
            raise ValueError("justification is longer than 2000 characters")
        instance_id = approval_instance_id(incident_id, step_id)
        for _ in range(_MAX_RACES):
            record = self.store.get(instance_id)
            if record is None:
                raise NotFoundError(f"no approval for step {step_id!r} of incident {incident_id!r}")
            now = self.clock()
            conflicted = check_decision(record, principal, approve=approve, now=now)
            decision = RecordedDecision(
                decision_id=str(uuid.uuid4()),
                index=len(record.decisions) + 1,
                approved=approve,
                approver_id=principal.id,
                approver_name=principal.name,
                justification=justification,
                decided_at=now,
                channel=channel,
                conflicted=conflicted,
            )
            decisions = (*record.decisions, decision)
            status = outcome(record, decisions)
            update: dict[str, Any] = {"decisions": decisions, "status": status}
            if status.terminal:
                update["decided_at"] = now
            try:
                updated = self.store.update(record.model_copy(update=update))
            except ConcurrentUpdateError:
                continue  # someone decided at the same moment: re-read and re-check
            audit_once(self.audit, _decision_event(updated, decision, status), _decision_key(decision))
            _log.info(
                "approval %s of %s step %s by %s via %s -> %s",
                "granted" if approve else "refused",
                incident_id,
                step_id,
                principal.id,
                channel,
                status.value,
            )
            return updated, decision
        raise DecisionRefusedError(409, "the step kept changing while your decision was recorded; reload and try again")

    # -- helpers ---------------------------------------------------------------------------
    def _audit_decisions(self, record: ApprovalRecord) -> None:
        """Audit each recorded decision the trail lacks (one record per ``decision_id``, however
        the request that recorded it and this gate race): the host serving a decision can die
        between recording it and auditing it, and the record is the truth."""
        for index, decision in enumerate(record.decisions, start=1):
            status = outcome(record, record.decisions[:index])
            if audit_once(self.audit, _decision_event(record, decision, status, late=True), _decision_key(decision)):
                _log.warning("audited decision %s of %s late", decision.decision_id, record.instance_id)

    def _audit_once(
        self, record: ApprovalRecord, *, action: str, actor: str, reason: str, details: dict[str, Any]
    ) -> None:
        audit_once(
            self.audit,
            AuditEvent(
                at=self.clock(),
                actor=actor,
                action=action,
                incident_id=record.incident_id,
                target=str(record.step.target),
                reason=reason,
                details={"step_id": record.step_id, **details},
            ),
            f"approval|{record.step_id}|{action}",
        )


def _decision_key(decision: RecordedDecision) -> str:
    return f"approval.decision|{decision.decision_id}"


def _decision_event(
    record: ApprovalRecord, decision: RecordedDecision, status: ApprovalStatus, *, late: bool = False
) -> AuditEvent:
    """The audit record of one decision (``late``: written by the gate, not by the request)."""
    details: dict[str, Any] = {
        "step_id": record.step_id,
        "decision_id": decision.decision_id,
        "approver_id": decision.approver_id,
        "approver_name": decision.approver_name,
        "channel": decision.channel,
        "conflicted": decision.conflicted,
        "status_after": status.value,
    }
    if late:
        details["audited_late"] = True
    return AuditEvent(
        at=decision.decided_at,
        actor=f"{decision.approver_name} <{decision.approver_id}>"[:300],
        action="approval.approve" if decision.approved else "approval.reject",
        incident_id=record.incident_id,
        target=str(record.step.target),
        reason=decision.justification,
        details=details,
    )


def outcome_of(record: ApprovalRecord) -> ApprovalOutcome:
    """The gate's output for a decided record."""
    if record.status is ApprovalStatus.PENDING:
        raise ValueError(f"approval {record.instance_id} is still pending")
    return ApprovalOutcome(
        approved=record.status in (ApprovalStatus.APPROVED, ApprovalStatus.AUTO),
        decided_by=tuple(
            DecidedBy(
                approver_id=d.approver_id,
                approver_name=d.approver_name,
                decided_at=d.decided_at.astimezone(UTC).isoformat(),
                justification=d.justification,
                channel=d.channel,
            )
            for d in record.decisions
        ),
        reason=record.status.value,
    )


# --------------------------------------------------------------------------------------------
# what the approvals handlers get, and the gate's activities
# --------------------------------------------------------------------------------------------
@dataclass
class ApprovalsDeps:
    """What the approval gate, API and page need (``shared.bootstrap.Container.approvals_deps``)."""

    service: ApprovalService
    idempotency: IdempotencyStore
    channels: list[Channel] = field(default_factory=list)
    link_key: bytes | None = None
    base_url: str | None = None
    approver_role: str = "Warden.Approver"
    notify_attempts: int = 3
    notify_backoff: float = 0.5
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    csrf_key: bytes = b""


def _state(record: ApprovalRecord) -> ApprovalState:
    return ApprovalState(status=record.status.value, decisions=len(record.decisions))


def open_approval(deps: ApprovalsDeps, request: OpenApprovalRequest) -> ApprovalOpened:
    """``approval_open``: record the pending approval (idempotent). Needs Table Storage."""
    with log_context(incident_id=request.request.incident_id):
        record = deps.service.open(request.request, instance_id=request.instance_id, requested_at=request.requested_at)
    return ApprovalOpened(
        **_state(record).model_dump(),
        requested_at=record.requested_at,
        expires_at=record.expires_at,
        reminder_seconds=deps.service.reminder_seconds(request.request),
        escalation=record.escalation,
        escalation_level=record.escalation_level,
    )


def notify_approvers(deps: ApprovalsDeps, request: NotifyApproversRequest) -> list[dict[str, Any]]:
    """``approval_notify``: tell the approvers (Event Grid CloudEvent + Teams card); retried,
    recorded on the approval, never raises (a notification never blocks the gate or containment)."""
    instance_id = request.instance_id
    try:
        record = deps.service.get_record(instance_id)
        notice = approval_notice(
            record,
            kind=request.kind,
            level=request.level,
            default_role=deps.approver_role,
            base_url=deps.base_url,
            link_key=deps.link_key,
            now=deps.clock(),
        )
        statuses = [
            s.as_dict()
            for s in deliver(deps.channels, notice, attempts=deps.notify_attempts, backoff=deps.notify_backoff)
        ]
    except Exception as exc:  # never block the gate (or containment) on a notification
        _log.exception("approval notification for %s failed", instance_id)
        statuses = [{"channel": "all", "ok": False, "attempts": 0, "error": type(exc).__name__}]
    entry = {"kind": request.kind, "level": request.level, "at": deps.clock().isoformat(), "results": statuses}
    deps.service.record_notification(instance_id, entry)
    return statuses


def check_approval(deps: ApprovalsDeps, request: ApprovalRef) -> ApprovalState:
    """``approval_check``: the approval's status and decision count, read from the store (the truth)."""
    return _state(deps.service.get_record(request.instance_id))


def escalate_approval(deps: ApprovalsDeps, request: EscalateApprovalRequest) -> bool:
    """``approval_escalate``: mark the approval as escalated to ``request.level``."""
    deps.service.escalated(request.instance_id, request.level)
    return True


def expire_approval(deps: ApprovalsDeps, request: ExpireApprovalRequest) -> ApprovalState:
    """``approval_expire``: apply the final decision (default deny) if nobody decided in time; audited."""
    return _state(deps.service.expire(request.instance_id, now=request.now))


def close_approval(deps: ApprovalsDeps, request: ApprovalRef) -> ApprovalOutcome:
    """``approval_close``: the gate's outcome, audited once."""
    return deps.service.close(request.instance_id)
