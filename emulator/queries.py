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
from datetime import datetime
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
