"""The public samples (tests/samples, each with its .source.txt) and AI variants built from them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.alerts import (
    Accepted,
    AlertFormat,
    NormalizeOutcome,
    Rejected,
    RejectReason,
    Skipped,
    SkipReason,
    detect_format,
    normalize,
)
from shared.finding import Severity
from shared.resource_ids import DeploymentId
from tests.alertgen import deployment_resource_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
REST_EXAMPLE = "defender_alert_rest_api_GetAlertSubscriptionLocation_example.json"
WORKFLOW_SCHEMA = "defender_alert_workflow_automation_schema.json"
ACTIVITY_LOG = "defender_alert_activity_log_event_sample.json"
MAX = 256 * 1024


def _load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _rest_alert() -> dict[str, Any]:
    body: dict[str, Any] = _load(REST_EXAMPLE)["responses"]["200"]["body"]
    return body


def _workflow_alert_from_schema_examples() -> dict[str, Any]:
    """The object the workflow-automation schema describes, filled with its own examples."""
    schema = _load(WORKFLOW_SCHEMA)
    alert: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if "examples" in prop:
            alert[name] = prop["examples"][0]
        elif prop["type"] == "array":
            items = prop.get("items", {})
            alert[name] = [items["examples"][0]] if "examples" in items else []
        elif prop["type"] == "object":
            alert[name] = {k: v["examples"][0] for k, v in prop["properties"].items()}
    return alert


def _accepted(outcome: NormalizeOutcome) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


@pytest.mark.parametrize("name", [REST_EXAMPLE, WORKFLOW_SCHEMA, ACTIVITY_LOG])
def test_every_copied_sample_has_its_source_note(name: str) -> None:
    source = (SAMPLES / name).with_suffix(".source.txt").read_text(encoding="utf-8")
    assert source.startswith("Source:")


def test_rest_api_example_is_a_non_ai_vm_eicar_alert_and_is_skipped() -> None:
    raw = json.dumps(_rest_alert()).encode()
    outcome = normalize(raw, source="sample", max_bytes=MAX)
    assert outcome == Skipped(
        SkipReason.NOT_AI_ALERT,
        "VM_EICAR",
        "2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a",
        detail="alert type is not a Defender for AI type (rest_resource)",
    )


def test_rest_api_example_with_an_ai_type_and_account_is_accepted_with_its_fields() -> None:
    alert = copy.deepcopy(_rest_alert())
    props = alert["properties"]
    props["alertType"] = "AI.Azure_AccessFromAnonymizedIP"
    props["resourceIdentifiers"][0]["azureResourceId"] = deployment_resource_id("contoso-openai", "gpt-4o")

    result = _accepted(normalize(alert, source="sample", max_bytes=MAX))

    a = result.alert
    assert a.system_alert_id == "2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a"
    assert a.severity is Severity.HIGH
    assert a.start_time.isoformat() == "2020-02-22T00:00:00+00:00"
    assert a.time_generated is not None
    assert a.time_generated.isoformat() == "2020-02-23T13:47:58+00:00"
    assert a.tactics == ("Execution",)
    assert a.techniques[:3] == ("T1059", "T1053", "T1072")
    assert a.compromised_entity == "vm1"
    assert a.remediation_steps == ("No further action is needed.",)
    assert a.extended_properties == {"Property1": "Property1 information"}
    assert a.product_name == "Azure Security Center"
    assert a.alert_uri is not None
    assert a.alert_uri.startswith("https://portal.azure.com/")
    assert a.entities[0]["address"] == "192.0.2.1"
    assert isinstance(result.finding.resource, DeploymentId)
    assert result.finding.evidence["entities"]["ips"] == ["192.0.2.1"]


def test_rest_api_example_as_a_one_element_event_hub_array_is_accepted() -> None:
    alert = copy.deepcopy(_rest_alert())
    alert["properties"]["alertType"] = "AI.Azure_ASCIISmuggling"
    outcome = normalize(json.dumps([alert]), source="eventhub", max_bytes=MAX)
    assert isinstance(outcome, Accepted)


def test_rest_api_example_keeps_the_vm_resource_out_of_the_finding() -> None:
    alert = copy.deepcopy(_rest_alert())
    alert["properties"]["alertType"] = "AI.Azure_ASCIISmuggling"
    result = _accepted(normalize(alert, source="sample", max_bytes=MAX))
    assert result.finding.resource is None
    assert "not a Cognitive Services account" in result.finding.evidence["resource_notes"][0]


def test_workflow_schema_example_object_is_detected_and_skipped_as_non_ai() -> None:
    alert = _workflow_alert_from_schema_examples()
    assert detect_format(alert) is AlertFormat.WORKFLOW_AUTOMATION
    outcome = normalize(alert, source="logicapp", max_bytes=MAX)
    assert isinstance(outcome, Skipped)
    assert outcome.alert_type == "SUSPECT_SVCHOST"


def test_workflow_schema_example_with_an_ai_type_is_accepted_and_stringifies_extended_properties() -> None:
    alert = _workflow_alert_from_schema_examples()
    alert["AlertType"] = "AI.Azure_CredentialTheftAttempt"
    alert["AzureResourceId"] = deployment_resource_id("contoso-openai", "gpt-4o")

    result = _accepted(normalize(alert, source="logicapp", max_bytes=MAX))

    assert result.alert.severity is Severity.HIGH  # the example's Severity, not the catalogue's Medium
    assert result.alert.extended_properties["PID"] == "944"
    assert result.alert.extended_properties["Process Path"] == "c:\\temp\\svchost.exe"
    assert result.alert.status.value == "Active"  # the example's "New"
    assert isinstance(result.finding.resource, DeploymentId)


def test_workflow_reported_severity_quirk_is_read_when_severity_is_absent() -> None:
    alert = _workflow_alert_from_schema_examples()
    alert["AlertType"] = "AI.Azure_CredentialTheftAttempt"
    del alert["Severity"]
    alert["ReportedSeverity"] = "Low"
    assert _accepted(normalize(alert, source="logicapp", max_bytes=MAX)).alert.severity is Severity.LOW


def test_workflow_severity_wins_over_reported_severity() -> None:
    alert = _workflow_alert_from_schema_examples()
    alert["AlertType"] = "AI.Azure_CredentialTheftAttempt"
    alert["ReportedSeverity"] = "Low"
    assert _accepted(normalize(alert, source="logicapp", max_bytes=MAX)).alert.severity is Severity.HIGH


def test_activity_log_record_is_rejected_with_a_pointer_to_the_supported_formats() -> None:
    outcome = normalize(_load(ACTIVITY_LOG), source="activitylog", max_bytes=MAX)
    assert isinstance(outcome, Rejected)
    assert outcome.reason_code is RejectReason.UNKNOWN_FORMAT
    assert "Activity Log" in outcome.message
