"""Contract tests: the in-memory approval store and the Table Storage one (on Azurite) behave alike;
plus the service on the Table store, where two approvers race for the last slot."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.approvals.principal import parse_principal
from shared.approvals.records import ApprovalRecord, ApprovalStatus
from shared.approvals.rules import DecisionRefusedError
from shared.contracts.approval import ApprovalRequest, approval_instance_id
from shared.ports.stores import ConcurrentUpdateError
from shared.storage.memory import MemoryApprovalStore, MemoryAuditStore
from shared.storage.tables import TableApprovalStore
from shared.usecases.approvals import ApprovalService
from tests.approvals_support import gate_request, headers_for, step

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "tables"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryApprovalStore()
    azurite: Azurite = request.getfixturevalue("azurite")
    return TableApprovalStore(TableServiceClient.from_connection_string(azurite.table_connection_string))


def record(incident: str) -> ApprovalRecord:
    return ApprovalRecord(
        instance_id=approval_instance_id(incident, "s1-switch-rai-policy"),
        incident_id=incident,
        step=step(),
        requirement="one_approver",
        requested_at=T0,
        expires_at=T0 + timedelta(hours=4),
        evidence={"description": "<script>x</script>"},
    )


def test_create_is_idempotent_and_get_returns_the_record_with_an_etag(store: Any) -> None:
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    first = store.create(record(incident))
    again = store.create(record(incident).model_copy(update={"title": "changed"}))
    assert first.etag and again.etag == first.etag and again.title == ""
    assert store.get(first.instance_id) == first
    assert store.get("nope:approval:x") is None


def test_updates_are_conditional_on_the_etag(store: Any) -> None:
    stored = store.create(record(f"inc-{uuid.uuid4().hex[:8]}"))
    updated = store.update(stored.model_copy(update={"status": ApprovalStatus.APPROVED}))
    assert updated.etag and updated.etag != stored.etag
    with pytest.raises(ConcurrentUpdateError):
        store.update(stored.model_copy(update={"status": ApprovalStatus.REJECTED}))
    assert store.get(stored.instance_id).status is ApprovalStatus.APPROVED
    assert store.update(updated.model_copy(update={"escalation_level": 1})).escalation_level == 1


def test_lists_filter_by_status_and_incident(store: Any) -> None:
    a, b = f"inc-{uuid.uuid4().hex[:8]}", f"inc-{uuid.uuid4().hex[:8]}"
    store.create(record(a))
    done = store.create(record(b))
    store.update(done.model_copy(update={"status": ApprovalStatus.EXPIRED}))
    pending = {r.incident_id for r in store.list(status=ApprovalStatus.PENDING)}
    assert a in pending and b not in pending
    assert [r.incident_id for r in store.list(incident_id=b)] == [b]


def test_two_approvers_racing_for_the_last_slot_cannot_both_win(store: Any) -> None:
    service = ApprovalService(store=store, audit=MemoryAuditStore())
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    request = ApprovalRequest.model_validate(gate_request(incident))
    service.open(request, instance_id=approval_instance_id(incident, request.step.id), requested_at=datetime.now(UTC))
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def approve(user: str) -> None:
        barrier.wait()
        try:
            service.decide(
                parse_principal(headers_for(user)),
                incident_id=incident,
                step_id=request.step.id,
                approve=True,
                justification="race",
                channel="api",
            )
            outcomes.append("ok")
        except DecisionRefusedError as exc:
            outcomes.append(str(exc.status))

    threads = [threading.Thread(target=approve, args=(f"user{i}@contoso.com",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "409", "409", "ok"]
    final = store.get(approval_instance_id(incident, request.step.id))
    assert final.status is ApprovalStatus.APPROVED and len(final.decisions) == 1
