"""Python models of Warden's named KQL queries (the emulator cannot run KQL).

Each model reproduces, over the emulator's seeded state, what its ``shared/kql/<name>.kql``
returns in Azure: the same columns, types, filters and order. A query name with no model here
is answered 400 naming it, never with a silent empty result.

``GRAPH_MODELS`` answer Resource Graph; ``LOGS_MODELS`` answer Log Analytics. When a ``.kql``
file changes, change its model in the same commit (the functional tests compare both).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from emulator.state import TenantState
from emulator.tables import table_columns

__all__ = ["GRAPH_MODELS", "LOGS_MODELS", "LogsSource", "ResultTable"]


@dataclass(slots=True)
class ResultTable:
    """A query result: columns ``(name, kusto type)`` and rows of stored Python values."""

    columns: list[tuple[str, str]]
    rows: list[list[Any]]


class LogsSource:
    """The rows a Log Analytics query can see: one workspace's tables, cut to the request's timespan."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]], start: datetime | None, end: datetime | None) -> None:
        self._tables = tables
        self._start = start
        self._end = end

    def rows(self, table: str) -> Iterable[dict[str, Any]]:
        for row in self._tables.get(table, []):
            stamp = row.get("TimeGenerated")
            if self._start is not None and (stamp is None or stamp < self._start):
                continue
            if self._end is not None and (stamp is None or stamp > self._end):
                continue
            yield row


# --------------------------------------------------------------------------------------------
# Log Analytics
# --------------------------------------------------------------------------------------------
def _visible_columns(table: str) -> list[tuple[str, str]]:
    # Columns starting with "_" (_ResourceId, _BilledSize, ...) are hidden standard columns:
    # Log Analytics returns them only when a query names them.
    return [(name, typ) for name, typ in table_columns(table) if not name.startswith("_")]


def security_alerts(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``security_alerts.kql``: AI alerts in [since, until), by TimeGenerated, SystemAlertId."""
    since: datetime = params["since"]
    until: datetime = params["until"]
    columns = _visible_columns("SecurityAlert")
    selected = [
        row
        for row in source.rows("SecurityAlert")
        if since <= row["TimeGenerated"] < until and str(row.get("AlertType") or "").lower().startswith("ai.")
    ]
    selected.sort(key=lambda r: (r["TimeGenerated"], str(r.get("SystemAlertId") or "")))
    return ResultTable(columns, [[row.get(name) for name, _ in columns] for row in selected])


_KEY_OPERATIONS = {
    "microsoft.cognitiveservices/accounts/listkeys/action",
    "microsoft.cognitiveservices/accounts/regeneratekey/action",
}


def _key_name(properties: Any) -> str:
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except ValueError:
            return ""
    if not isinstance(properties, dict):
        return ""
    body = properties.get("requestbody")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return ""
    if isinstance(body, dict) and body.get("keyName") is not None:
        return str(body["keyName"])
    return ""


def key_operations(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``key_operations.kql``: successful listKeys/regenerateKey since a time."""
    since: datetime = params["since"]
    columns = [
        ("TimeGenerated", "datetime"),
        ("ResourceId", "string"),
        ("OperationNameValue", "string"),
        ("Caller", "string"),
        ("CallerIpAddress", "string"),
        ("CorrelationId", "string"),
        ("KeyName", "string"),
    ]
    selected = [
        row
        for row in source.rows("AzureActivity")
        if row["TimeGenerated"] >= since
        and str(row.get("OperationNameValue") or "").lower() in _KEY_OPERATIONS
        and str(row.get("ActivityStatusValue") or "").lower() in ("success", "succeeded")
    ]
    selected.sort(key=lambda r: (r["TimeGenerated"], str(r.get("CorrelationId") or "")))
    rows = [
        [
            row["TimeGenerated"],
            row.get("ResourceId"),
            row.get("OperationNameValue"),
            row.get("Caller"),
            row.get("CallerIpAddress"),
            row.get("CorrelationId"),
            _key_name(row.get("Properties_d")),
        ]
        for row in selected
    ]
    return ResultTable(columns, rows)


LOGS_MODELS: dict[str, Callable[[LogsSource, dict[str, Any]], ResultTable]] = {
    "security_alerts": security_alerts,
    "key_operations": key_operations,
}


# --------------------------------------------------------------------------------------------
# Resource Graph
# --------------------------------------------------------------------------------------------
def ai_accounts(state: TenantState, subscriptions: set[str] | None, params: dict[str, Any]) -> ResultTable:
    """Model of ``ai_accounts.kql`` over the emulated accounts (``order by id asc``)."""
    kinds = params["kinds"]
    wanted = {str(k).lower() for k in (kinds if isinstance(kinds, list) else [kinds])}
    columns = [
        ("id", "string"),
        ("name", "string"),
        ("kind", "string"),
        ("location", "string"),
        ("resourceGroup", "string"),
        ("subscriptionId", "string"),
        ("sku", "string"),
        ("tags", "dynamic"),
        ("disableLocalAuth", "bool"),
        ("publicNetworkAccess", "string"),
        ("networkDefaultAction", "string"),
        ("ipRuleCount", "long"),
        ("endpoint", "string"),
    ]
    rows: list[list[Any]] = []
    for sub_id, accounts in state.accounts.items():
        if subscriptions is not None and sub_id not in subscriptions:
            continue
        for account in accounts.values():
            if account.kind.lower() not in wanted:
                continue
            props = account.properties
            acls = props.get("networkAcls") or {}
            dla = props.get("disableLocalAuth")
            rows.append(
                [
                    account.id,
                    account.name,
                    account.kind,
                    account.location.lower(),
                    account.resource_group.lower(),  # Resource Graph lowercases resourceGroup
                    account.subscription_id,
                    str(account.sku.get("name") or ""),
                    dict(account.tags),
                    dla if isinstance(dla, bool) else False,
                    str(props.get("publicNetworkAccess") or ""),
                    str(acls.get("defaultAction") or ""),
                    len(acls.get("ipRules") or []),
                    str(props.get("endpoint") or ""),
                ]
            )
    rows.sort(key=lambda r: str(r[0]))
    return ResultTable(columns, rows)


GRAPH_MODELS: dict[str, Callable[[TenantState, set[str] | None, dict[str, Any]], ResultTable]] = {
    "ai_accounts": ai_accounts,
}


# --------------------------------------------------------------------------------------------
# Usage anomaly detectors (shared/kql/anomaly_*.kql)
# --------------------------------------------------------------------------------------------
# The Kusto series functions the anomaly queries use, modelled in pure Python from their
# documentation (microsoft/Kusto-Query-Language doc/series-decompose-function.md,
# series-decompose-anomaliesfunction.md, series-outliersfunction.md):
#
# * series_decompose(x, seasonality, trend): the seasonal component is, for each phase of the
#   period, the median of the points in that phase (constant 0 when seasonality is 0); it is
#   subtracted from x; the trend is extracted from that deseasonalised series ("avg": its
#   average; "linefit": its least-squares line; "none": 0); baseline = seasonal + trend and
#   residual = x - baseline.
# * series_outliers(residual, "ctukey"): Tukey's fence test on the 10th-90th percentile range:
#   a point above the 90th percentile scores (x - p90) / (p90 - p10), below the 10th
#   (x - p10) / (p90 - p10), anything in between 0 (a flat residual scales by 1).
#   NOT CONFIRMED: Kusto's exact percentile interpolation and its normalisation of the custom
#   range (the docs give the range, not the formula); linear interpolation and the plain range
#   are used here.
# * series_decompose_anomalies(x, threshold, seasonality, trend): flag +1 where score >
#   threshold, -1 where score < -threshold, else 0; returns (flag, score, baseline).
# Automatic seasonality detection (-1) is not modelled: Warden always passes the period.


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def series_decompose(values: list[float], seasonality: int, trend: str = "avg") -> tuple[list[float], list[float]]:
    """Model of Kusto ``series_decompose``: returns ``(baseline, residual)``."""
    n = len(values)
    seasonal = [0.0] * n
    if seasonality > 0 and n >= seasonality:
        for phase in range(seasonality):
            median = _median([values[i] for i in range(phase, n, seasonality)])
            for i in range(phase, n, seasonality):
                seasonal[i] = median
    deseasoned = [v - s for v, s in zip(values, seasonal, strict=True)]
    if trend == "none" or n == 0:
        trend_line = [0.0] * n
    elif trend == "linefit" and n > 1:
        mean_x = (n - 1) / 2.0
        mean_y = sum(deseasoned) / n
        sxx = sum((i - mean_x) ** 2 for i in range(n))
        slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(deseasoned)) / sxx
        trend_line = [mean_y + slope * (i - mean_x) for i in range(n)]
    else:
        average = sum(deseasoned) / n
        trend_line = [average] * n
    baseline = [s + t for s, t in zip(seasonal, trend_line, strict=True)]
    residual = [v - b for v, b in zip(values, baseline, strict=True)]
    return baseline, residual


def series_outliers(values: list[float], min_percentile: float = 10.0, max_percentile: float = 90.0) -> list[float]:
    """Model of Kusto ``series_outliers(series, "ctukey")``: one score per point (see above)."""
    ordered = sorted(values)
    low = _percentile(ordered, min_percentile)
    high = _percentile(ordered, max_percentile)
    # A flat residual (p90 == p10) has no spread to scale by: deviations score in raw units
    # (an assumption; Kusto's behaviour there is not documented).
    spread = high - low if high > low else 1.0
    scores = []
    for value in values:
        if value > high:
            scores.append((value - high) / spread)
        elif value < low:
            scores.append((value - low) / spread)
        else:
            scores.append(0.0)
    return scores


def series_decompose_anomalies(
    values: list[float], threshold: float = 1.5, seasonality: int = 0, trend: str = "avg"
) -> tuple[list[int], list[float], list[float]]:
    """Model of Kusto ``series_decompose_anomalies``: ``(flag, score, baseline)`` per point."""
    baseline, residual = series_decompose(values, seasonality, trend)
    scores = series_outliers(residual)
    flags = [1 if s > threshold else -1 if s < -threshold else 0 for s in scores]
    return flags, scores, baseline


def _is_cognitive(row: dict[str, Any]) -> bool:
    return str(row.get("ResourceProvider") or "").upper() == "MICROSOFT.COGNITIVESERVICES"


def _resource(row: dict[str, Any]) -> str:
    return str(row.get("_ResourceId") or "").lower()


def _bin(stamp: datetime, size: timedelta) -> datetime:
    """Kusto ``bin(t, size)``: floor to a multiple of ``size`` since 0001-01-01 (same as the epoch
    for sizes dividing a day)."""
    epoch = datetime(1970, 1, 1, tzinfo=stamp.tzinfo)
    steps = (stamp - epoch) // size
    return epoch + steps * size


def _metric_spike(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    since: datetime = params["since"]
    until: datetime = params["until"]
    detect_since: datetime = params["detect_since"]
    size: timedelta = params["bin_size"]
    metric: str = params["metric"]
    bins = max(0, -(-(until - since) // size))
    series: dict[str, list[float]] = {}
    for row in source.rows("AzureMetrics"):
        stamp = row["TimeGenerated"]
        if not since <= stamp < until or not _is_cognitive(row) or row.get("MetricName") != metric:
            continue
        values = series.setdefault(_resource(row), [0.0] * bins)
        values[(stamp - since) // size] += float(row.get("Total") or 0.0)
    columns = [
        ("TimeGenerated", "datetime"),
        ("ResourceId", "string"),
        ("MetricName", "string"),
        ("Value", "real"),
        ("Baseline", "real"),
        ("Score", "real"),
    ]
    rows: list[list[Any]] = []
    for resource in sorted(series):
        values = series[resource]
        flags, scores, baseline = series_decompose_anomalies(
            values, float(params["threshold"]), int(params["seasonality"]), "linefit"
        )
        for i, flag in enumerate(flags):
            when = since + i * size
            if when >= detect_since and flag == 1:
                rows.append([when, resource, metric, values[i], baseline[i], scores[i]])
    return ResultTable(columns, rows)


def anomaly_token_spike(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``anomaly_token_spike.kql`` (make-series + series_decompose_anomalies, linefit)."""
    return _metric_spike(source, params)


def anomaly_request_spike(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``anomaly_request_spike.kql`` (the same shape over AzureOpenAIRequests)."""
    return _metric_spike(source, params)


def anomaly_auth_failure_burst(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``anomaly_auth_failure_burst.kql``: 401/403 per account, IP and tumbling window."""
    since: datetime = params["since"]
    until: datetime = params["until"]
    window: timedelta = params["window"]
    groups: dict[tuple[str, str, datetime], list[dict[str, Any]]] = {}
    for row in source.rows("AzureDiagnostics"):
        stamp = row["TimeGenerated"]
        if not since <= stamp < until or not _is_cognitive(row):
            continue
        if str(row.get("ResultSignature") or "") not in ("401", "403"):
            continue
        key = (_resource(row), str(row.get("CallerIPAddress") or ""), _bin(stamp, window))
        groups.setdefault(key, []).append(row)
    columns = [
        ("WindowStart", "datetime"),
        ("ResourceId", "string"),
        ("CallerIPAddress", "string"),
        ("Failures", "long"),
        ("FirstSeen", "datetime"),
        ("LastSeen", "datetime"),
        ("Statuses", "dynamic"),
    ]
    rows: list[list[Any]] = []
    for (resource, ip, start), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        if len(members) < int(params["min_count"]):
            continue
        stamps = [m["TimeGenerated"] for m in members]
        statuses = sorted({str(m.get("ResultSignature")) for m in members})[:4]
        rows.append([start, resource, ip, len(members), min(stamps), max(stamps), statuses])
    return ResultTable(columns, rows)


def anomaly_blocked_prompt_spike(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``anomaly_blocked_prompt_spike.kql``: RAIRejectedRequests per account and window."""
    since: datetime = params["since"]
    until: datetime = params["until"]
    window: timedelta = params["window"]
    sums: dict[tuple[str, datetime], float] = {}
    for row in source.rows("AzureMetrics"):
        stamp = row["TimeGenerated"]
        if not since <= stamp < until or not _is_cognitive(row) or row.get("MetricName") != "RAIRejectedRequests":
            continue
        key = (_resource(row), _bin(stamp, window))
        sums[key] = sums.get(key, 0.0) + float(row.get("Total") or 0.0)
    columns = [("WindowStart", "datetime"), ("ResourceId", "string"), ("Blocked", "real")]
    rows = [
        [start, resource, total]
        for (resource, start), total in sorted(sums.items())
        if total >= float(params["min_count"])
    ]
    return ResultTable(columns, rows)


def anomaly_new_caller_ip(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``anomaly_new_caller_ip.kql``: IPs of the detection window unseen in the baseline."""
    since: datetime = params["since"]
    detect_since: datetime = params["detect_since"]
    until: datetime = params["until"]
    known: set[tuple[str, str]] = set()
    recent: dict[tuple[str, str], list[datetime]] = {}
    for row in source.rows("AzureDiagnostics"):
        stamp = row["TimeGenerated"]
        ip = str(row.get("CallerIPAddress") or "")
        if not since <= stamp < until or not _is_cognitive(row) or not ip:
            continue
        if str(row.get("ResultSignature") or "") in ("401", "403"):
            continue
        key = (_resource(row), ip)
        if stamp < detect_since:
            known.add(key)
        else:
            recent.setdefault(key, []).append(stamp)
    with_baseline = {resource for resource, _ in known}
    columns = [
        ("FirstSeen", "datetime"),
        ("LastSeen", "datetime"),
        ("ResourceId", "string"),
        ("CallerIPAddress", "string"),
        ("Requests", "long"),
    ]
    rows = [
        [min(stamps), max(stamps), resource, ip, len(stamps)]
        for (resource, ip), stamps in recent.items()
        if (resource, ip) not in known and resource in with_baseline
    ]
    rows.sort(key=lambda r: (r[2], r[0], r[3]))
    return ResultTable(columns, rows)


LOGS_MODELS.update(
    {
        "anomaly_token_spike": anomaly_token_spike,
        "anomaly_request_spike": anomaly_request_spike,
        "anomaly_auth_failure_burst": anomaly_auth_failure_burst,
        "anomaly_blocked_prompt_spike": anomaly_blocked_prompt_spike,
        "anomaly_new_caller_ip": anomaly_new_caller_ip,
    }
)


def posture_reporting_accounts(source: LogsSource, params: dict[str, Any]) -> ResultTable:
    """Model of ``posture_reporting_accounts.kql``: accounts with AzureMetrics/AzureDiagnostics rows."""
    since: datetime = params["since"]
    last: dict[str, datetime] = {}
    for table in ("AzureMetrics", "AzureDiagnostics"):
        for row in source.rows(table):
            stamp = row["TimeGenerated"]
            if stamp < since or not _is_cognitive(row):
                continue
            resource = _resource(row)
            if resource not in last or stamp > last[resource]:
                last[resource] = stamp
    columns = [("ResourceId", "string"), ("LastSeen", "datetime")]
    return ResultTable(columns, [[resource, last[resource]] for resource in sorted(last)])


LOGS_MODELS["posture_reporting_accounts"] = posture_reporting_accounts
