"""Every catalogue entry, generated in every format, normalizes to the right finding."""

from __future__ import annotations

import pytest

from shared.alerts import (
    Accepted,
    AlertFormat,
    CatalogueEntry,
    NormalizeOutcome,
    default_catalogue,
    normalize,
)
from shared.finding import FindingSource
from shared.resource_ids import AccountId, DeploymentId
from tests.alertgen import FORMATS, alert_id_for, deployment_resource_id, make_alert, to_bytes

MAX = 256 * 1024
# The doc publishes no id for the Kubernetes alert; tests send a made-up non-AI type with its
# exact display name (NOT CONFIRMED: the real type).
K8S_TYPE = "K8S_ExposedAIServiceLoadBalancer"
ENTRIES = default_catalogue().entries


def _type_of(entry: CatalogueEntry) -> str:
    return entry.alert_type or K8S_TYPE


def _id(entry: CatalogueEntry) -> str:
    return _type_of(entry)


def _accepted(outcome: NormalizeOutcome) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.value for f in FORMATS])
@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_generated_alert_is_accepted_with_canonical_type_category_severity_and_resource(
    entry: CatalogueEntry, fmt: AlertFormat
) -> None:
    alert_type = _type_of(entry)
    resource_id = deployment_resource_id("contoso-openai", "gpt-4o")
    payload = make_alert(alert_type, fmt, resource_id=resource_id, display_name=entry.display_name)

    result = _accepted(normalize(to_bytes(payload), source="test", max_bytes=MAX))

    finding = result.finding
    assert result.alert.alert_type == alert_type
    assert result.alert.catalogue_entry == entry
    assert result.alert.source_format is fmt
    assert finding.source is FindingSource.DEFENDER_ALERT
    assert finding.kind == f"defender:{alert_type}"
    assert finding.evidence["category"] == entry.category.value
    assert finding.severity is entry.severity
    assert isinstance(finding.resource, DeploymentId)
    assert str(finding.resource) == resource_id
    assert finding.dedupe_key == "defender:" + alert_id_for(alert_type).lower()
    assert finding.title == entry.display_name


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_one_alert_from_all_three_paths_gives_one_dedupe_key_and_one_incident(entry: CatalogueEntry) -> None:
    alert_type = _type_of(entry)
    resource_id = deployment_resource_id("contoso-openai", "gpt-4o")
    findings = [
        _accepted(
            normalize(
                make_alert(alert_type, fmt, resource_id=resource_id, display_name=entry.display_name),
                source=fmt.value,
                max_bytes=MAX,
            )
        ).finding
        for fmt in FORMATS
    ]
    assert len({f.dedupe_key for f in findings}) == 1
    assert len({f.instance_id for f in findings}) == 1
    assert len({f.kind for f in findings}) == 1
    assert len({(f.first_seen, f.last_seen) for f in findings}) == 1
    assert len({f.incident_key for f in findings}) == 1


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.value for f in FORMATS])
def test_account_only_resource_gives_an_account_finding(fmt: AlertFormat) -> None:
    rid = deployment_resource_id("contoso-openai", "gpt-4o").rsplit("/deployments/", 1)[0]
    result = _accepted(
        normalize(make_alert("AI.Azure_AccessFromSuspiciousIP", fmt, resource_id=rid), source="t", max_bytes=MAX)
    )
    assert isinstance(result.finding.resource, AccountId)
    assert result.finding.resource.name == "contoso-openai"


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.value for f in FORMATS])
def test_alert_without_resource_is_a_finding_without_resource(fmt: AlertFormat) -> None:
    payload = make_alert("AI.Azure_DOWVolumeAnomaly", fmt, resource_id=None, compromised_entity="contoso-openai")
    result = _accepted(normalize(payload, source="t", max_bytes=MAX))
    assert result.finding.resource is None
    assert result.finding.incident_key == "finding:" + result.finding.dedupe_key
    assert "compromised_entity is a name" in result.finding.evidence["resource_notes"][0]
