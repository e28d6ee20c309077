"""Log Analytics through the real LogsQueryClient, answered by the named-query models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.monitor.query import LogsBatchQuery, LogsQueryError, LogsQueryPartialResult, LogsQueryStatus

from shared import kql
from tests.functional.emulator.conftest import ACCOUNT_DEV, RG_DEV, SUB_DEV, WORKSPACE, Env

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def _alerts(env: Env, since: datetime = NOV, until: datetime = DEC, **kwargs: Any) -> Any:
    text = kql.render("security_alerts", since=since, until=until)
    return env.clients.logs().query_workspace(WORKSPACE, text, timespan=kwargs.pop("timespan", None), **kwargs)


def test_security_alerts_returns_ai_alerts_in_time_order(env: Env) -> None:
    result = _alerts(env)
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert [row["AlertType"] for row in table.rows] == [
        "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
        "AI.Azure_AccessFromAnonymizedIP",
    ]
    assert table.rows[0]["TimeGenerated"] == datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    assert table.rows[0]["IsIncident"] is False
    assert "SystemAlertId" in table.columns and "ExtendedProperties" in table.columns
    assert not any(column.startswith("_") for column in table.columns)  # hidden columns stay hidden


def test_security_alerts_window_is_half_open(env: Env) -> None:
    first = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    assert [r["AlertName"] for r in _alerts(env, since=first, until=first).tables[0].rows] == []
    rows = _alerts(env, since=first, until=first + timedelta(seconds=1)).tables[0].rows
    assert len(rows) == 1


def test_request_timespan_limits_visible_rows(env: Env) -> None:
    result = _alerts(env, timespan=(datetime(2026, 11, 24, 11, 0, tzinfo=UTC), timedelta(hours=1)))
    assert [row["AlertType"] for row in result.tables[0].rows] == ["AI.Azure_AccessFromAnonymizedIP"]


def test_partial_result_is_returned_as_logs_query_partial_result(env: Env) -> None:
    env.emulator.inject_fault("logs.query", "partial", keep_rows=1)
    result = _alerts(env)
    assert isinstance(result, LogsQueryPartialResult)
    assert result.status == LogsQueryStatus.PARTIAL
    assert result.partial_error is not None and result.partial_error.code == "PartialError"
    assert len(result.partial_data[0].rows) == 1


def test_unknown_named_query_is_an_error_naming_it(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.logs().query_workspace(WORKSPACE, "// warden-query: not_a_query\nSecurityAlert", timespan=None)
    assert info.value.status_code == 400
    assert "not_a_query" in str(info.value)


def test_unnamed_query_is_an_error(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.logs().query_workspace(WORKSPACE, "SecurityAlert | take 10", timespan=None)
    assert "warden-query" in str(info.value)


def test_resource_graph_query_sent_to_log_analytics_is_an_error(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.logs().query_workspace(WORKSPACE, kql.render("ai_accounts"), timespan=None)
    assert "ai_accounts" in str(info.value)


def test_unknown_workspace_is_not_found(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.logs().query_workspace(
            "00000000-0000-0000-0000-00000000dead", kql.render("security_alerts", since=NOV, until=DEC), timespan=None
        )
    assert info.value.status_code == 404


def test_key_operations_include_seeded_and_emulated_key_actions(env: Env) -> None:
    env.emulator.principals["warden-emulator-token"] = "11111111-2222-3333-4444-555555555555"
    env.clients.cognitive(SUB_DEV).accounts.regenerate_key(RG_DEV, ACCOUNT_DEV, key_name="Key1")
    text = kql.render("key_operations", since=NOV)
    result: Any = env.clients.logs().query_workspace(WORKSPACE, text, timespan=None)
    rows = result.tables[0].rows
    assert [r["OperationNameValue"] for r in rows] == [
        "MICROSOFT.COGNITIVESERVICES/ACCOUNTS/LISTKEYS/ACTION",
        "MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION",
    ]
    assert rows[0]["Caller"] == "alex@contoso.example" and rows[0]["KeyName"] == ""
    assert rows[1]["Caller"] == "11111111-2222-3333-4444-555555555555"
    assert rows[1]["KeyName"] == "Key1"
    assert ACCOUNT_DEV.upper() in rows[1]["ResourceId"]


def test_batch_returns_results_and_errors_in_request_order(env: Env) -> None:
    good = LogsBatchQuery(WORKSPACE, kql.render("security_alerts", since=NOV, until=DEC), timespan=None)
    bad = LogsBatchQuery(WORKSPACE, "// warden-query: nope\nSecurityAlert", timespan=None)
    results: Any = env.clients.logs().query_batch([good, bad])
    assert results[0].status == LogsQueryStatus.SUCCESS
    assert len(results[0].tables[0].rows) == 2
    assert isinstance(results[1], LogsQueryError)
    assert "nope" in results[1].message


def test_rows_appended_through_the_admin_api_are_queryable(loopback: Env) -> None:
    row = {
        "TimeGenerated": "2026-11-25T08:00:00Z",
        "SystemAlertId": "fresh-alert",
        "AlertType": "AI.Azure_ASCIISmuggling",
        "AlertSeverity": "High",
    }
    response = requests.post(
        f"{loopback.url}/_emulator/workspaces/law-contoso-security/tables/SecurityAlert",
        json={"rows": [row]},
        timeout=10,
    )
    assert response.status_code == 201
    rows = _alerts(loopback).tables[0].rows
    assert rows[-1]["SystemAlertId"] == "fresh-alert"


def test_appending_a_row_with_an_unknown_column_is_rejected(loopback: Env) -> None:
    response = requests.post(
        f"{loopback.url}/_emulator/workspaces/law-contoso-security/tables/SecurityAlert",
        json=[{"TimeGenerated": "2026-11-25T08:00:00Z", "NoSuchColumn": 1}],
        timeout=10,
    )
    assert response.status_code == 400
    assert "NoSuchColumn" in response.json()["error"]
