"""Findings and incidents are validated, immutable, and deduplicate deterministically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from shared.finding import Finding, FindingSource, Severity, incident_instance_id
from shared.resource_ids import AccountId, parse_resource_id

SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-oai"
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def finding(**overrides: object) -> Finding:
    data: dict[str, object] = {
        "source": FindingSource.DEFENDER_ALERT,
        "kind": "defender:AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
        "severity": Severity.MEDIUM,
        "title": "Jailbreak attempt blocked",
        "resource": ACCOUNT + "/deployments/gpt-4o",
        "evidence": {"description": "<script>alert(1)</script>"},
        "dedupe_key": "defender:abc",
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=1),
    }
    data.update(overrides)
    return Finding.model_validate(data)


def test_finding_round_trips_through_json() -> None:
    f = finding()
    again = Finding.model_validate_json(f.model_dump_json())
    assert again == f
    assert again.account == AccountId(SUB, "rg-ai", "contoso-oai")


def test_finding_is_immutable() -> None:
    f = finding()
    with pytest.raises(ValidationError):
        f.title = "changed"  # type: ignore[misc]


def test_naive_datetimes_are_rejected_and_offsets_normalised_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        finding(first_seen=datetime(2026, 1, 1))
    plus_two = timezone(timedelta(hours=2))
    f = finding(first_seen=datetime(2026, 11, 25, 5, 0, tzinfo=plus_two), last_seen=T0)
    assert f.first_seen == T0
    assert f.first_seen.tzinfo == UTC


def test_last_seen_before_first_seen_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"last_seen .* is before first_seen"):
        finding(last_seen=T0 - timedelta(seconds=1))


def test_oversized_evidence_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"evidence is .* bytes"):
        finding(evidence={"blob": "x" * 40_000})


@pytest.mark.parametrize("kind", ["", "has space", "semi;colon", "x" * 201])
def test_kind_must_be_a_stable_identifier(kind: str) -> None:
    with pytest.raises(ValidationError):
        finding(kind=kind)


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        finding(colour="red")


def test_instance_id_is_deterministic_and_url_safe() -> None:
    a = finding().instance_id
    assert a == finding(title="other title").instance_id
    assert a != finding(dedupe_key="defender:other").instance_id
    assert a == incident_instance_id("defender:abc")
    assert a.startswith("inc-")
    assert a.replace("-", "").isalnum()


def test_incident_key_groups_by_resource_when_known() -> None:
    assert finding().incident_key == "resource:" + (ACCOUNT + "/deployments/gpt-4o").lower()
    assert finding(resource=None).incident_key == "finding:defender:abc"


def test_severity_parse_is_case_insensitive_and_names_valid_values() -> None:
    assert Severity.parse("high") is Severity.HIGH
    assert Severity.LOW.rank < Severity.HIGH.rank
    with pytest.raises(ValueError, match="expected one of Informational, Low, Medium, High"):
        Severity.parse("Critical!")


def test_finding_resource_accepts_typed_ids() -> None:
    rid = parse_resource_id(ACCOUNT)
    assert finding(resource=rid).resource == rid
