"""A decision recorded on the approval whose audit record was lost (the host serving the request
died between the two writes — found by ``tests/reliability/test_approvals.py``, which kills
devhost during decision requests) is audited by the gate when it closes, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.approvals.principal import parse_principal
from shared.audit.chain import AuditEvent, AuditRecord
from shared.contracts.approval import ApprovalRequest, approval_instance_id
from shared.storage.memory import MemoryApprovalStore, MemoryAuditStore
from shared.usecases.approvals import ApprovalService
from tests.approvals_support import ROLE, gate_request, headers_for

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class HostDiesOnDecisionAudit(MemoryAuditStore):
    """Fails the next ``approval.approve`` / ``approval.reject`` append, as a killed host would."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def append_once(self, event: AuditEvent, key: str) -> AuditRecord | None:
        if self.armed and event.action in ("approval.approve", "approval.reject"):
            self.armed = False
            raise ConnectionError("the host died")
        return super().append_once(event, key)


def _service(audit: MemoryAuditStore) -> ApprovalService:
    return ApprovalService(store=MemoryApprovalStore(), audit=audit, approver_role=ROLE, clock=lambda: NOW)


def _decisions(audit: MemoryAuditStore, incident: str) -> list[tuple[str, object, object]]:
    return [
        (r.action, r.details.get("decision_id"), r.details.get("status_after"))
        for r in audit.records(incident_id=incident)
        if r.action in ("approval.approve", "approval.reject")
    ]


@pytest.mark.parametrize("approve", [True, False])
def test_a_decision_whose_audit_was_lost_is_audited_once_when_the_gate_closes(approve: bool) -> None:
    audit = HostDiesOnDecisionAudit()
    service = _service(audit)
    instance = approval_instance_id("inc-1", "s1-switch-rai-policy")
    service.open(ApprovalRequest.model_validate(gate_request()), instance_id=instance, requested_at=NOW)
    alice = parse_principal(headers_for("alice@contoso.com"))
    with pytest.raises(ConnectionError):
        service.decide(
            alice,
            incident_id="inc-1",
            step_id="s1-switch-rai-policy",
            approve=approve,
            justification="j",
            channel="api",
        )
    record = service.get_record(instance)
    assert len(record.decisions) == 1 and record.status.value == ("approved" if approve else "rejected")
    assert _decisions(audit, "inc-1") == []  # recorded, not audited

    result = service.close(instance)
    assert result.approved is approve
    action = "approval.approve" if approve else "approval.reject"
    expected = [(action, record.decisions[0].decision_id, record.status.value)]
    assert _decisions(audit, "inc-1") == expected
    service.close(instance)  # the close activity re-run after a host crash adds nothing
    assert _decisions(audit, "inc-1") == expected
    late = next(r for r in audit.records(incident_id="inc-1") if r.action == action)
    assert late.actor == "Alice <oid-alice@contoso.com>" and late.details["audited_late"] is True
    assert audit.verify().ok


def test_decisions_audited_by_their_request_are_not_audited_again() -> None:
    audit = MemoryAuditStore()
    service = _service(audit)
    instance = approval_instance_id("inc-2", "s1-switch-rai-policy")
    request = ApprovalRequest.model_validate(gate_request("inc-2", requirement="two_approvers"))
    service.open(request, instance_id=instance, requested_at=NOW)
    for user in ("alice@contoso.com", "bob@contoso.com"):
        service.decide(
            parse_principal(headers_for(user)),
            incident_id="inc-2",
            step_id="s1-switch-rai-policy",
            approve=True,
            justification="confirmed",
            channel="api",
        )
    before = _decisions(audit, "inc-2")
    assert [status for _, _, status in before] == ["pending", "approved"]
    service.close(instance)
    assert _decisions(audit, "inc-2") == before
    assert [r.action for r in audit.records(incident_id="inc-2")].count("approval.closed.approved") == 1
