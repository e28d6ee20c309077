"""Detectors on canned rows (FakeLogs): parameters from the policy, findings with evidence,
stable dedupe keys, bad rows reported, one detector's failure isolated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.anomalies.detectors import DETECTORS, floor_time
from shared.finding import FindingSource, Severity
from shared.policy import Policy
from shared.ports.logs import LogQueryError
from shared.usecases.anomalies import run_detectors
from tests.fakes import FakeLogs
from tests.unit.anomalies.conftest import ACCOUNT, NOW, WARDEN

RESOURCE = str(ACCOUNT).lower()
BIN = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def spike_row(**kw: Any) -> dict[str, Any]:
    row = {
        "TimeGenerated": BIN,
        "ResourceId": RESOURCE,
        "MetricName": "TokenTransaction",
        "Value": 900000.0,
        "Baseline": 100000.0,
        "Score": 12.5,
    }
    row.update(kw)
    return row


def run(policy: Policy, answers: dict[str, Any], now: datetime = NOW, **kw: Any) -> Any:
    logs = FakeLogs(answers)
    report = run_detectors(logs, policy, now=now, warden_principal_id=kw.pop("warden", WARDEN), **kw)
    return logs, report


def test_spike_query_parameters_come_from_the_policy(policy: Policy) -> None:
    logs, _ = run(policy, {})
    params = dict(logs.calls)["anomaly_token_spike"]
    config = policy.anomalies.token_spike
    assert params["bin_size"] == config.step == timedelta(hours=1)
    assert params["threshold"] == config.score_threshold
    assert params["seasonality"] == 24
    assert params["until"] == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert params["since"] == params["until"] - config.baseline
    assert params["detect_since"] == params["until"] - 3 * config.step


def test_burst_query_parameters_come_from_the_policy(policy: Policy) -> None:
    logs, _ = run(policy, {})
    params = dict(logs.calls)
    auth = params["anomaly_auth_failure_burst"]
    assert auth["window"] == timedelta(minutes=5) and auth["min_count"] == 20
    assert auth["until"] == datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
    blocked = params["anomaly_blocked_prompt_spike"]
    assert blocked["window"] == timedelta(hours=1) and blocked["min_count"] == 10.0


def test_every_enabled_detector_runs_one_query(policy: Policy) -> None:
    logs, report = run(policy, {})
    assert [name for name, _ in logs.calls] == [d.query for d in DETECTORS]
    assert report.queries == len(DETECTORS) and report.findings == []


def test_a_token_spike_row_becomes_a_finding_with_evidence(policy: Policy) -> None:
    _, report = run(policy, {"anomaly_token_spike": [spike_row()]})
    (finding,) = report.findings
    assert finding.kind == "anomaly:token_spike" and finding.source is FindingSource.ANOMALY
    assert finding.severity is Severity.MEDIUM
    assert finding.resource == ACCOUNT
    assert finding.evidence["value"] == 900000.0 and finding.evidence["baseline"] == 100000.0
    assert finding.evidence["score"] == 12.5 and finding.evidence["bin_start"] == "2026-11-20T10:00:00Z"
    assert finding.first_seen == BIN and finding.last_seen == BIN + timedelta(hours=1)


def test_dedupe_key_is_detector_resource_and_bucket_and_stable_across_runs(policy: Policy) -> None:
    _, first = run(policy, {"anomaly_token_spike": [spike_row()]})
    _, later = run(policy, {"anomaly_token_spike": [spike_row(Score=20.0)]}, now=NOW + timedelta(minutes=45))
    assert first.findings[0].dedupe_key == later.findings[0].dedupe_key
    assert first.findings[0].dedupe_key == f"anomaly:token_spike|{RESOURCE}|2026-11-20T10:00:00Z"
    _, other_bin = run(policy, {"anomaly_token_spike": [spike_row(TimeGenerated=BIN + timedelta(hours=1))]})
    assert other_bin.findings[0].dedupe_key != first.findings[0].dedupe_key


def test_burst_findings_are_per_caller_ip_and_window(policy: Policy) -> None:
    start = datetime(2026, 11, 20, 11, 55, tzinfo=UTC)
    rows = [
        {"WindowStart": start, "ResourceId": RESOURCE, "CallerIPAddress": ip, "Failures": 25, "Statuses": '["401"]'}
        for ip in ("198.51.100.1", "198.51.100.2")
    ]
    _, report = run(policy, {"anomaly_auth_failure_burst": rows})
    keys = sorted(f.dedupe_key for f in report.findings)
    assert keys == [
        f"anomaly:auth_failure_burst|{RESOURCE}|198.51.100.1|2026-11-20T11:55:00Z",
        f"anomaly:auth_failure_burst|{RESOURCE}|198.51.100.2|2026-11-20T11:55:00Z",
    ]
    assert report.findings[0].evidence["statuses"] == ["401"]


def test_new_caller_ip_and_blocked_prompt_rows(policy: Policy) -> None:
    first = datetime(2026, 11, 20, 11, 10, tzinfo=UTC)
    _, report = run(
        policy,
        {
            "anomaly_new_caller_ip": [
                {
                    "FirstSeen": first,
                    "LastSeen": first,
                    "ResourceId": RESOURCE,
                    "CallerIPAddress": "203.0.113.9",
                    "Requests": 3,
                }
            ],
            "anomaly_blocked_prompt_spike": [{"WindowStart": BIN, "ResourceId": RESOURCE, "Blocked": 42.0}],
        },
    )
    kinds = {f.kind: f for f in report.findings}
    assert kinds["anomaly:new_caller_ip"].severity is Severity.LOW
    assert kinds["anomaly:new_caller_ip"].dedupe_key.endswith("|203.0.113.9|2026-11-20T11:10:00Z")
    assert kinds["anomaly:blocked_prompt_spike"].evidence["value"] == 42.0


def _key_op(caller: str, correlation: str = "c0rr-1") -> dict[str, Any]:
    return {
        "TimeGenerated": NOW - timedelta(minutes=10),
        "ResourceId": str(ACCOUNT).upper(),
        "OperationNameValue": "MICROSOFT.COGNITIVESERVICES/ACCOUNTS/LISTKEYS/ACTION",
        "Caller": caller,
        "CallerIpAddress": "198.51.100.77",
        "CorrelationId": correlation,
        "KeyName": "",
    }


def test_key_operations_by_warden_are_not_findings_and_others_are(policy: Policy) -> None:
    _, report = run(policy, {"key_operations": [_key_op(WARDEN.upper()), _key_op("mallory@contoso.example", "C0RR-2")]})
    (finding,) = report.findings
    assert finding.kind == "anomaly:key_operation_by_other" and finding.severity is Severity.HIGH
    assert finding.evidence["caller"] == "mallory@contoso.example"
    assert finding.dedupe_key == f"anomaly:key_operation_by_other|{RESOURCE}|listkeys|c0rr-2"


def test_key_operation_detector_is_skipped_without_wardens_identity(policy: Policy) -> None:
    logs, report = run(policy, {"key_operations": [_key_op("mallory@contoso.example")]}, warden=None)
    assert "key_operation_by_other" in report.skipped
    assert "key_operations" not in [name for name, _ in logs.calls]


def test_disabled_detectors_do_not_run(policy: Policy) -> None:
    anomalies = policy.anomalies.model_copy(
        update={"token_spike": policy.anomalies.token_spike.model_copy(update={"enabled": False})}
    )
    logs, report = run(policy.model_copy(update={"anomalies": anomalies}), {})
    assert "token_spike" in report.skipped
    assert "anomaly_token_spike" not in [name for name, _ in logs.calls]


def test_bad_rows_are_reported_and_good_rows_still_count(policy: Policy) -> None:
    rows = [
        spike_row(ResourceId="not-an-id"),
        spike_row(Value="lots"),
        spike_row(TimeGenerated="yesterday"),
        spike_row(Score=float("nan")),
        spike_row(),
    ]
    _, report = run(policy, {"anomaly_token_spike": rows})
    assert len(report.findings) == 1
    assert len(report.problems) == 4
    assert any("ResourceId" in p for p in report.problems) and any("Value" in p for p in report.problems)


def test_a_failing_query_does_not_stop_the_other_detectors(policy: Policy) -> None:
    def fail(**_: Any) -> list[dict[str, Any]]:
        raise LogQueryError("query 'anomaly_token_spike' failed: HTTP 503")

    _, report = run(
        policy, {"anomaly_token_spike": fail, "anomaly_request_spike": [spike_row(MetricName="AzureOpenAIRequests")]}
    )
    assert set(report.errors) == {"token_spike"}
    assert [f.kind for f in report.findings] == ["anomaly:request_spike"]


def test_floor_time_aligns_to_bins() -> None:
    assert floor_time(NOW, timedelta(hours=1)) == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert floor_time(NOW, timedelta(minutes=5)) == datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
