"""``LogsPort`` over ``azure-monitor-query``: the Azure implementation.

Runs Warden's named queries (``shared.kql.render``) with ``AzureClients.logs()`` against
``WARDEN_LOG_ANALYTICS_WORKSPACE_ID``. Requires
``Microsoft.OperationalInsights/workspaces/query/read`` (Log Analytics Reader) on the workspace.
Errors (``shared.azure.errors``; the port's ``LogQueryError``): a failed query, access denied;
``PartialLogQueryError`` when the service returned only part of the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.azure.errors import ErrorKinds, azure_call
from shared.ports.logs import LogQueryError, PartialLogQueryError, Row, Timespan

if TYPE_CHECKING:
    from shared.azure.clients import AzureClients

__all__ = ["AzureLogs"]

_KINDS = ErrorKinds(failed=LogQueryError, denied=LogQueryError)


class AzureLogs:
    """``LogsPort`` over ``azure-monitor-query``'s ``LogsQueryClient``."""

    def __init__(self, clients: AzureClients, workspace_id: str | None = None) -> None:
        workspace = workspace_id or clients.settings.log_analytics_workspace_id
        if not workspace:
            raise LogQueryError("no Log Analytics workspace configured: set WARDEN_LOG_ANALYTICS_WORKSPACE_ID")
        self._clients = clients
        self._workspace = workspace

    def run(self, name: str, *, timespan: Timespan = None, **params: Any) -> list[Row]:
        from azure.monitor.query import LogsQueryStatus

        from shared.kql import render

        text = render(name, **params)
        client = self._clients.logs()
        result = azure_call(
            f"query {name!r}",
            "Log Analytics Reader on the workspace",
            lambda: client.query_workspace(self._workspace, text, timespan=timespan),
            _KINDS,
        )
        if result.status == LogsQueryStatus.PARTIAL:
            partial = getattr(result, "partial_data", None) or []
            error = getattr(result, "partial_error", None)
            raise PartialLogQueryError(
                f"query {name!r} returned partial data: {getattr(error, 'message', error)}",
                [row for table in partial for row in _rows(table)],
            )
        tables = getattr(result, "tables", None) or []
        return [row for table in tables[:1] for row in _rows(table)]


def _rows(table: Any) -> list[Row]:
    columns = list(table.columns)
    return [dict(zip(columns, list(row), strict=False)) for row in table.rows]
