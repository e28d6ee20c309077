"""The hash chain detects altered, removed, inserted and truncated records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.audit.chain import GENESIS, AuditEvent, seal, verify_chain
from tests.fakes import TamperableAuditStore

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def event(n: int, **extra: object) -> AuditEvent:
    data: dict[str, object] = {
        "at": T0 + timedelta(seconds=n),
        "actor": "warden",
        "action": "step.succeeded",
        "incident_id": "inc-1",
        "target": "/subscriptions/x",
        "reason": f"step {n}",
        "before": {"raiPolicyName": "Microsoft.Default"},
        "after": {"raiPolicyName": "warden-strict"},
    }
    data.update(extra)
    return AuditEvent.model_validate(data)


def chain(n: int) -> TamperableAuditStore:
    store = TamperableAuditStore()
    for i in range(1, n + 1):
        store.append(event(i))
    return store


def test_intact_chain_verifies_and_reports_its_head() -> None:
    store = chain(5)
    report = store.verify()
    assert report.ok, report.problems
    assert report.records == 5
    assert report.head_seq == 5
    assert report.head_hash == store.records()[-1].hash
    assert store.records()[0].prev_hash == GENESIS


def test_altered_record_is_detected() -> None:
    store = chain(4)
    original = store.records()[1]
    store.tamper_replace(2, original.model_copy(update={"actor": "mallory"}))
    report = store.verify()
    assert not report.ok
    assert "record 2: content does not match its hash (altered)" in report.problems


def test_resealed_record_breaks_the_next_link() -> None:
    store = chain(4)
    original = store.records()[1]
    forged = seal(event(2, actor="mallory"), seq=2, prev_hash=original.prev_hash)
    store.tamper_replace(2, forged)
    report = store.verify()
    assert not report.ok
    assert any("record 3: prev_hash does not match" in p for p in report.problems)


def test_removed_middle_record_is_detected() -> None:
    store = chain(5)
    store.tamper_delete(3)
    report = store.verify()
    assert not report.ok
    assert "record 3 is missing (next present is 4)" in report.problems


def test_removed_newest_records_are_detected_by_the_head() -> None:
    store = chain(5)
    store.tamper_delete(5)
    report = store.verify()
    assert not report.ok
    assert any("head says 5" in p for p in report.problems)


def test_empty_chain_is_valid() -> None:
    report = verify_chain([])
    assert report.ok
    assert report.head_hash == GENESIS


def test_hash_covers_every_field() -> None:
    a = seal(event(1), seq=1, prev_hash=GENESIS)
    for change in (
        {"reason": "other"},
        {"before": None},
        {"target": "/x"},
        {"at": T0},
        {"details": {"k": 1}},
    ):
        b = seal(event(1, **change), seq=1, prev_hash=GENESIS)
        assert a.hash != b.hash, change


def test_events_validate_time_and_size() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        event(1, at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="snapshot larger than"):
        event(1, before={"blob": "x" * 40_000})


def test_records_can_be_filtered_by_incident() -> None:
    store = chain(2)
    store.append(event(3, incident_id="inc-2"))
    assert [r.seq for r in store.records(incident_id="inc-2")] == [3]
