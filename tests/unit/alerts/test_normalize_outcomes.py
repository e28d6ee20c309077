"""normalize(): exactly one outcome per payload; bad input is rejected with an actionable message."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shared.alerts import (
    Accepted,
    AlertCategory,
    AlertFormat,
    NormalizeOutcome,
    Rejected,
    RejectReason,
    Skipped,
    SkipReason,
    normalize,
    normalize_batch,
)
from shared.finding import Severity
from tests.alertgen import FORMATS, START, deployment_resource_id, make_alert, to_bytes

MAX = 256 * 1024
RID = deployment_resource_id("contoso-openai", "gpt-4o")
FMT_IDS = [f.value for f in FORMATS]


def _run(payload: Any, max_bytes: int = MAX) -> NormalizeOutcome:
    return normalize(payload, source="test", max_bytes=max_bytes)


def _accepted(outcome: NormalizeOutcome) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


def _rejected(outcome: NormalizeOutcome, reason: RejectReason) -> Rejected:
    assert isinstance(outcome, Rejected), outcome
    assert outcome.reason_code is reason, outcome
    return outcome


# -- spelling variants, unknown and non-AI types -------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS, ids=FMT_IDS)
@pytest.mark.parametrize(
    ("received", "canonical"),
    [
        ("Azure_Agentic_BlockedJailbreak", "AI.Azure_Agentic_BlockedJailbreak"),
        ("AI.Azure_Agentic_LLMReconaissance", "AI.Azure_Agentic_LLMReconnaissance"),
        ("ai.azure_accessfromsuspiciousip", "AI.Azure_AccessFromSuspiciousIP"),
    ],
)
def test_spelling_variants_normalize_to_the_canonical_kind(fmt: AlertFormat, received: str, canonical: str) -> None:
    result = _accepted(_run(make_alert(received, fmt, resource_id=RID)))
    assert result.finding.kind == "defender:" + canonical
    assert result.alert.alert_type_received == received
    assert result.finding.evidence["alert_type_received"] == received


@pytest.mark.parametrize("fmt", FORMATS, ids=FMT_IDS)
def test_unknown_ai_type_is_accepted_as_ai_other_with_the_alerts_severity(fmt: AlertFormat) -> None:
    result = _accepted(_run(make_alert("AI.Azure_BrandNewDetection", fmt, resource_id=RID, severity="Low")))
    assert result.finding.kind == "defender:AI.Azure_BrandNewDetection"
    assert result.finding.severity is Severity.LOW
    assert result.alert.category is AlertCategory.AI_OTHER
    assert result.finding.evidence["category"] == "ai_other"
    assert result.finding.evidence["catalogued"] is False


@pytest.mark.parametrize("fmt", FORMATS, ids=FMT_IDS)
def test_non_ai_alert_is_skipped_with_its_type_and_id(fmt: AlertFormat) -> None:
    outcome = _run(make_alert("VM_EICAR", fmt, system_alert_id="abc_123", resource_id=RID))
    assert isinstance(outcome, Skipped)
    assert outcome.reason is SkipReason.NOT_AI_ALERT
    assert outcome.alert_type == "VM_EICAR"
    assert outcome.system_alert_id == "abc_123"


def test_non_ai_alert_with_odd_fields_is_still_skipped_not_rejected() -> None:
    alert = make_alert("VM_EICAR", AlertFormat.REST_RESOURCE)
    alert["properties"]["entities"] = "not-a-list"
    alert["properties"]["startTimeUtc"] = "yesterday"
    assert isinstance(_run(alert), Skipped)


def test_other_arm_resource_on_the_export_hub_is_skipped_as_not_an_alert() -> None:
    assessment = {
        "id": "/subscriptions/x/providers/Microsoft.Security/assessments/1",
        "type": "Microsoft.Security/assessments",
        "properties": {"status": {"code": "Unhealthy"}},
    }
    outcome = _run(assessment)
    assert isinstance(outcome, Skipped)
    assert outcome.reason is SkipReason.NOT_AN_ALERT
    assert outcome.alert_type is None


def test_unknown_ai_type_without_severity_is_rejected_naming_the_field() -> None:
    alert = make_alert("AI.Azure_BrandNewDetection", AlertFormat.WORKFLOW_AUTOMATION)
    del alert["Severity"]
    r = _rejected(_run(alert), RejectReason.MISSING_FIELD)
    assert r.field == "Severity"
    assert "Informational, Low, Medium, High" in r.message


def test_known_ai_type_without_severity_takes_the_catalogue_default() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    alert["AlertSeverity"] = ""
    assert _accepted(_run(alert)).finding.severity is Severity.HIGH


def test_unknown_ai_type_with_characters_unfit_for_a_kind_is_rejected() -> None:
    r = _rejected(_run(make_alert("AI.<script>", AlertFormat.REST_RESOURCE)), RejectReason.INVALID_FIELD)
    assert r.field == "properties.alertType"
    assert "'AI.<script>'" in r.message


# -- identity and times --------------------------------------------------------------------------


def test_dedupe_key_ignores_the_case_of_the_system_alert_id() -> None:
    upper = _accepted(_run(make_alert("AI.Azure_ASCIISmuggling", "rest_resource", system_alert_id="1_ABCDEF")))
    lower = _accepted(_run(make_alert("AI.Azure_ASCIISmuggling", "security_alert_row", system_alert_id="1_abcdef")))
    assert upper.finding.dedupe_key == lower.finding.dedupe_key == "defender:1_abcdef"
    assert upper.alert.system_alert_id == "1_ABCDEF"


@pytest.mark.parametrize(
    ("fmt", "field"),
    [
        (AlertFormat.REST_RESOURCE, "properties.systemAlertId"),
        (AlertFormat.WORKFLOW_AUTOMATION, "SystemAlertId"),
        (AlertFormat.SECURITY_ALERT_ROW, "SystemAlertId"),
    ],
)
def test_missing_system_alert_id_is_rejected_naming_the_field(fmt: AlertFormat, field: str) -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", fmt)
    body = alert["properties"] if fmt is AlertFormat.REST_RESOURCE else alert
    del body[field.rsplit(".", maxsplit=1)[-1]]
    r = _rejected(_run(alert), RejectReason.MISSING_FIELD)
    assert r.field == field
    assert r.message.startswith(f"{field} is missing")


def test_system_alert_id_with_spaces_is_rejected_with_the_value_shown() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.WORKFLOW_AUTOMATION, system_alert_id="a b")
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.message == "SystemAlertId='a b': expected 1-256 letters, digits, '_', '.', ':' or '-'"


def test_times_are_tz_aware_utc_and_keep_up_to_microseconds() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["startTimeUtc"] = "2026-05-01T14:00:00.1234567+02:00"
    alert["properties"]["endTimeUtc"] = "2026-05-01T12:30:00"
    a = _accepted(_run(alert)).alert
    assert a.start_time.isoformat() == "2026-05-01T12:00:00.123456+00:00"
    assert a.end_time.isoformat() == "2026-05-01T12:30:00+00:00"


def test_missing_start_time_falls_back_to_time_generated() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.WORKFLOW_AUTOMATION)
    del alert["StartTimeUtc"]
    del alert["EndTimeUtc"]
    f = _accepted(_run(alert)).finding
    assert f.first_seen == f.last_seen == START + timedelta(minutes=7)


def test_missing_start_and_generated_times_are_rejected() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    del alert["StartTime"]
    del alert["TimeGenerated"]
    r = _rejected(_run(alert), RejectReason.MISSING_FIELD)
    assert r.field == "StartTime"


def test_end_before_start_is_read_as_a_point_in_time() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", "rest_resource", end_time=START - timedelta(hours=1))
    f = _accepted(_run(alert)).finding
    assert f.first_seen == f.last_seen == START


def test_unparseable_time_is_rejected_naming_field_value_and_form() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["startTimeUtc"] = "yesterday"
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.field == "properties.startTimeUtc"
    assert r.message == (
        "properties.startTimeUtc='yesterday': expected an ISO 8601 date-time such as 2024-05-01T12:00:00Z"
    )


# -- wrong types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "path", "value", "field"),
    [
        (AlertFormat.REST_RESOURCE, ("properties", "entities"), "not-a-list", "properties.entities"),
        (AlertFormat.REST_RESOURCE, ("properties", "extendedProperties"), [1, 2], "properties.extendedProperties"),
        (AlertFormat.REST_RESOURCE, ("properties", "severity"), "Severe", "properties.severity"),
        (AlertFormat.REST_RESOURCE, ("properties", "description"), 42, "properties.description"),
        (AlertFormat.REST_RESOURCE, ("properties", "systemAlertId"), 12345, "properties.systemAlertId"),
        (AlertFormat.WORKFLOW_AUTOMATION, ("Entities",), "{not json", "Entities"),
        (AlertFormat.WORKFLOW_AUTOMATION, ("ResourceIdentifiers",), {"a": 1}, "ResourceIdentifiers"),
        (AlertFormat.SECURITY_ALERT_ROW, ("ExtendedProperties",), "[1, 2]", "ExtendedProperties"),
        (AlertFormat.SECURITY_ALERT_ROW, ("Entities",), "[[[[", "Entities"),
        (AlertFormat.SECURITY_ALERT_ROW, ("IsIncident",), "perhaps", "IsIncident"),
    ],
)
def test_wrong_types_are_rejected_naming_the_field(
    fmt: AlertFormat, path: tuple[str, ...], value: object, field: str
) -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", fmt)
    target = alert
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.field is not None
    assert r.field.startswith(field)
    assert r.message.startswith(field)


def test_non_string_alert_type_is_rejected() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.WORKFLOW_AUTOMATION)
    alert["AlertType"] = ["AI.Azure_ASCIISmuggling"]
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.message == "AlertType=an array of 1 items: expected a string alert type"


def test_missing_alert_type_is_rejected() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    del alert["properties"]["alertType"]
    r = _rejected(_run(alert), RejectReason.MISSING_FIELD)
    assert r.field == "properties.alertType"


def test_long_bad_values_are_truncated_in_the_message() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["severity"] = "x" * 10_000
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert len(r.message) < 400
    assert "…" in r.message


# -- payload-level problems ----------------------------------------------------------------------


def test_oversized_payload_is_rejected_before_parsing() -> None:
    payload = b"{" + b" " * 2000  # not even JSON: size is checked first
    r = _rejected(_run(payload, max_bytes=1000), RejectReason.TOO_LARGE)
    assert r.message == "payload is 2001 bytes; at most 1000 accepted"


def test_oversized_text_and_dict_payloads_are_rejected() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", "rest_resource", description="d" * 5000)
    _rejected(_run(json.dumps(alert), max_bytes=4000), RejectReason.TOO_LARGE)
    _rejected(_run(alert, max_bytes=4000), RejectReason.TOO_LARGE)
    assert isinstance(_run(alert, max_bytes=20_000), Accepted)


def test_multibyte_text_is_measured_in_utf8_bytes() -> None:
    _rejected(_run('"' + "é" * 600 + '"', max_bytes=1000), RejectReason.TOO_LARGE)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe{}", RejectReason.INVALID_ENCODING),
        (b'{"a": ', RejectReason.INVALID_JSON),
        ("[NaN]", RejectReason.INVALID_JSON),
        ("[" * 100_000 + "]" * 100_000, RejectReason.INVALID_JSON),
        ("", RejectReason.EMPTY),
        ("   ", RejectReason.EMPTY),
        ("[]", RejectReason.EMPTY),
        ("42", RejectReason.NOT_AN_OBJECT),
        ('"alert"', RejectReason.NOT_AN_OBJECT),
        ("[1, 2]", RejectReason.MULTIPLE_ALERTS),
        ("{}", RejectReason.UNKNOWN_FORMAT),
        ('{"foo": 1}', RejectReason.UNKNOWN_FORMAT),
        ('{"properties": {"foo": 1}}', RejectReason.UNKNOWN_FORMAT),
        ('{"AlertType": "AI.Azure_ASCIISmuggling", "SystemAlertId": "1"}', RejectReason.UNKNOWN_FORMAT),
    ],
)
def test_unreadable_payloads_are_rejected_with_a_reason_code(payload: str | bytes, reason: RejectReason) -> None:
    _rejected(_run(payload, max_bytes=1_000_000), reason)


def test_ambiguous_pascal_case_object_is_rejected_naming_both_formats() -> None:
    r = _rejected(_run('{"AlertType": "AI.X", "SystemAlertId": "1"}'), RejectReason.UNKNOWN_FORMAT)
    assert "workflow-automation" in r.message
    assert "SecurityAlert row" in r.message


def test_utf8_bom_is_accepted() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", "workflow_automation")
    assert isinstance(_run(b"\xef\xbb\xbf" + to_bytes(alert)), Accepted)


def test_bare_rest_properties_without_envelope_are_accepted() -> None:
    props = make_alert("AI.Azure_ASCIISmuggling", "rest_resource", resource_id=RID)["properties"]
    assert _accepted(_run(props)).alert.source_format is AlertFormat.REST_RESOURCE


def test_caller_mistakes_raise_value_error() -> None:
    with pytest.raises(ValueError, match="source"):
        normalize("{}", source="bad source!", max_bytes=10)
    with pytest.raises(ValueError, match="max_bytes"):
        normalize("{}", source="ok", max_bytes=0)


def test_received_via_records_the_source() -> None:
    result = _accepted(
        normalize(make_alert("AI.Azure_ASCIISmuggling", "rest_resource"), source="eventhub", max_bytes=MAX)
    )
    assert result.alert.received_via == "eventhub"
    assert result.finding.evidence["received_via"] == "eventhub"


# -- batches -------------------------------------------------------------------------------------


def test_batch_gives_each_element_its_own_outcome_in_order() -> None:
    good = make_alert("AI.Azure_ASCIISmuggling", "rest_resource", system_alert_id="1_a", resource_id=RID)
    broken = make_alert("AI.Azure_ASCIISmuggling", "rest_resource", system_alert_id="1_b")
    broken["properties"]["severity"] = "Severe"
    non_ai = make_alert("VM_EICAR", "rest_resource")
    also_good = make_alert("AI.Azure_DOWVolumeAnomaly", "rest_resource", system_alert_id="1_c")

    outcomes = normalize_batch(to_bytes([good, broken, non_ai, "junk", also_good]), source="eventhub", max_bytes=MAX)

    assert [type(o) for o in outcomes] == [Accepted, Rejected, Skipped, Rejected, Accepted]
    assert isinstance(outcomes[0], Accepted)
    assert outcomes[0].finding.dedupe_key == "defender:1_a"
    assert isinstance(outcomes[3], Rejected)
    assert outcomes[3].reason_code is RejectReason.NOT_AN_OBJECT
    assert isinstance(outcomes[4], Accepted)
    assert outcomes[4].finding.dedupe_key == "defender:1_c"


def test_batch_accepts_a_single_object_envelope() -> None:
    (outcome,) = normalize_batch(make_alert("AI.Azure_ASCIISmuggling", "rest_resource"), source="eh", max_bytes=MAX)
    assert isinstance(outcome, Accepted)


def test_batch_of_nothing_gives_no_outcomes_and_bad_json_gives_one_rejection() -> None:
    assert normalize_batch("[]", source="eh", max_bytes=MAX) == ()
    (outcome,) = normalize_batch("[{", source="eh", max_bytes=MAX)
    assert isinstance(outcome, Rejected)
    (too_big,) = normalize_batch(b"[" + b"{}," * 100 + b"{}]", source="eh", max_bytes=50)
    assert isinstance(too_big, Rejected)
    assert too_big.reason_code is RejectReason.TOO_LARGE


def test_same_alert_twice_in_a_batch_has_one_dedupe_key() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", "rest_resource")
    outcomes = normalize_batch([alert, alert], source="eh", max_bytes=MAX)
    keys = {o.finding.dedupe_key for o in outcomes if isinstance(o, Accepted)}
    assert len(keys) == 1


def test_type_errors_read_as_field_value_and_expectation() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["description"] = 5
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.message == "properties.description=5: expected a valid string"


def test_several_problems_are_all_named() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["description"] = 5
    alert["properties"]["entities"] = "x"
    r = _rejected(_run(alert), RejectReason.INVALID_FIELD)
    assert r.message.endswith("(also: properties.entities)")


def test_alert_resource_whose_properties_is_not_an_object_is_rejected() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"] = "x"
    r = _rejected(_run(alert), RejectReason.UNKNOWN_FORMAT)
    assert r.message == "'properties' is str; expected the alert's properties object"


def test_row_json_column_that_is_not_json_is_rejected_with_the_expected_form() -> None:
    row = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    row["ExtendedProperties"] = "{oops"
    r = _rejected(_run(row), RejectReason.INVALID_FIELD)
    assert r.message == "ExtendedProperties='{oops': expected JSON text of an object"
