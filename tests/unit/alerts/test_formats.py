"""Format detection and the typed input models of the three documented alert formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.alerts import (
    AlertFormat,
    FormatError,
    NotAnAlertError,
    RestAlertResource,
    SecurityAlertRow,
    WorkflowAutomationAlert,
    detect_format,
    parse_alert_payload,
)
from shared.alerts.formats import parse_utc
from tests.alertgen import FORMATS, make_alert

MODELS = {
    AlertFormat.REST_RESOURCE: RestAlertResource,
    AlertFormat.WORKFLOW_AUTOMATION: WorkflowAutomationAlert,
    AlertFormat.SECURITY_ALERT_ROW: SecurityAlertRow,
}


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.value for f in FORMATS])
def test_generated_alerts_are_detected_and_parsed_as_their_format(fmt: AlertFormat) -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", fmt)
    assert detect_format(alert) is fmt
    assert isinstance(parse_alert_payload(alert, fmt), MODELS[fmt])


def test_security_alert_row_is_detected_by_its_type_column_alone() -> None:
    assert detect_format({"Type": "SecurityAlert"}) is AlertFormat.SECURITY_ALERT_ROW


def test_row_without_type_column_is_detected_by_its_column_names() -> None:
    row = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    del row["Type"]
    assert detect_format(row) is AlertFormat.SECURITY_ALERT_ROW


def test_workflow_object_is_detected_by_its_field_names() -> None:
    assert detect_format({"AlertType": "x", "AlertDisplayName": "y", "StartTimeUtc": "z"}) is (
        AlertFormat.WORKFLOW_AUTOMATION
    )


def test_non_object_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="expected a JSON object"):
        detect_format([1])


def test_arm_resource_of_another_type_is_not_an_alert() -> None:
    with pytest.raises(NotAnAlertError) as info:
        detect_format({"type": "Microsoft.Security/assessments", "properties": {}})
    assert info.value.resource_type == "Microsoft.Security/assessments"


def test_arm_type_is_compared_without_case() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["type"] = "MICROSOFT.SECURITY/LOCATIONS/ALERTS"
    assert detect_format(alert) is AlertFormat.REST_RESOURCE


def test_unknown_object_error_lists_the_keys_seen() -> None:
    with pytest.raises(FormatError, match=r"keys seen: \['foo', 'bar'\]"):
        detect_format({"foo": 1, "bar": 2})


def test_row_json_in_string_columns_are_decoded() -> None:
    row = make_alert(
        "AI.Azure_ASCIISmuggling",
        AlertFormat.SECURITY_ALERT_ROW,
        extended_properties={"a": "b"},
        entities=[{"type": "ip", "Address": "192.0.2.1"}],
        remediation_steps=["one", "two"],
    )
    parsed = parse_alert_payload(row, AlertFormat.SECURITY_ALERT_ROW)
    assert isinstance(parsed, SecurityAlertRow)
    assert parsed.extended_properties == {"a": "b"}
    assert parsed.entities == [{"type": "ip", "Address": "192.0.2.1"}]
    assert parsed.remediation_steps == ["one", "two"]
    assert parsed.tactics == ["Impact"]


def test_row_columns_may_also_arrive_already_decoded_or_empty() -> None:
    row = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    row.update(Entities=[{"type": "ip"}], ExtendedProperties="", RemediationSteps="Rotate the keys.")
    parsed = parse_alert_payload(row, AlertFormat.SECURITY_ALERT_ROW)
    assert isinstance(parsed, SecurityAlertRow)
    assert parsed.entities == [{"type": "ip"}]
    assert parsed.extended_properties == {}
    assert parsed.remediation_steps == ["Rotate the keys."]


def test_row_times_may_be_datetimes_from_the_query_sdk() -> None:
    row = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.SECURITY_ALERT_ROW)
    row["StartTime"] = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    parsed = parse_alert_payload(row, AlertFormat.SECURITY_ALERT_ROW)
    assert isinstance(parsed, SecurityAlertRow)
    assert parsed.start_time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_workflow_json_encoded_extended_properties_are_decoded() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.WORKFLOW_AUTOMATION)
    alert["ExtendedProperties"] = '{"DeploymentName": "gpt-4o"}'
    parsed = parse_alert_payload(alert, AlertFormat.WORKFLOW_AUTOMATION)
    assert isinstance(parsed, WorkflowAutomationAlert)
    assert parsed.extended_properties == {"DeploymentName": "gpt-4o"}


def test_validation_errors_use_the_payloads_own_field_names() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", AlertFormat.REST_RESOURCE)
    alert["properties"]["isIncident"] = "perhaps"
    with pytest.raises(ValidationError) as info:
        parse_alert_payload(alert, AlertFormat.REST_RESOURCE)
    assert info.value.errors()[0]["loc"] == ("properties", "isIncident")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-02-22T00:00:00.0000000Z", datetime(2020, 2, 22, tzinfo=UTC)),
        ("2020-02-23T13:47:58.9205584Z", datetime(2020, 2, 23, 13, 47, 58, 920558, tzinfo=UTC)),
        ("2016-12-20T13:38:00.000Z", datetime(2016, 12, 20, 13, 38, tzinfo=UTC)),
        ("2026-05-01T14:00:00+02:00", datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
        ("2026-05-01 12:00:00", datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_parse_utc_reads_defender_timestamps(text: str, expected: datetime) -> None:
    parsed = parse_utc(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01T00:00:00Z", "1" * 100, 1714560000, None])
def test_parse_utc_rejects_other_values_with_the_expected_form(bad: object) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_utc(bad)
