"""The Log Analytics port: run one of Warden's named KQL queries against the workspace.

Queries live in ``shared/kql/<name>.kql`` and are rendered with typed parameters
(``shared.kql.render``). ``LogsPort`` is the contract; ``AzureLogs`` runs it over
``AzureClients.logs()`` against ``WARDEN_LOG_ANALYTICS_WORKSPACE_ID``; ``FakeLogs`` in
``shared.azure.fakes`` answers from canned rows.

Requires ``Microsoft.OperationalInsights/workspaces/query/read`` (Log Analytics Reader) on the
workspace. Raises ``LogQueryError`` when the query fails, ``PartialLogQueryError`` when the
service returned only part of the data (callers must not draw conclusions from missing rows),
and ``shared.kql.KqlError`` for an unknown query or a bad parameter (before anything is sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shared.azure.clients import AzureClients

__all__ = ["AzureLogs", "LogQueryError", "LogsPort", "PartialLogQueryError", "Row", "Timespan"]

Row = dict[str, Any]
Timespan = timedelta | tuple[datetime, datetime] | tuple[datetime, timedelta] | None


class LogQueryError(RuntimeError):
    """A Log Analytics query failed (the message names the query and the reason)."""


class PartialLogQueryError(LogQueryError):
    """The query returned partial data; ``rows`` holds what did come back."""

    def __init__(self, message: str, rows: list[Row]) -> None:
        super().__init__(message)
        self.rows = rows


class LogsPort(Protocol):
    """Runs Warden's named queries."""

    def run(self, name: str, *, timespan: Timespan = None, **params: Any) -> list[Row]:
        """Rows of query ``name`` (column name -> value; datetimes are timezone-aware)."""
        ...


class AzureLogs:
    """``LogsPort`` over ``azure-monitor-query``'s ``LogsQueryClient``."""

    def __init__(self, clients: AzureClients, workspace_id: str | None = None) -> None:
        workspace = workspace_id or clients.settings.log_analytics_workspace_id
        if not workspace:
            raise LogQueryError("no Log Analytics workspace configured: set WARDEN_LOG_ANALYTICS_WORKSPACE_ID")
        self._clients = clients
        self._workspace = workspace

    def run(self, name: str, *, timespan: Timespan = None, **params: Any) -> list[Row]:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
        from azure.monitor.query import LogsQueryStatus

        from shared.kql import render

        text = render(name, **params)
        client = self._clients.logs()
        try:
            result = client.query_workspace(self._workspace, text, timespan=timespan)
        except ClientAuthenticationError as exc:
            raise LogQueryError(
                f"query {name!r}: access denied (HTTP {exc.status_code}); Warden's identity needs "
                "Log Analytics Reader on the workspace"
            ) from None
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise LogQueryError(
                    f"query {name!r}: access denied (HTTP 403); Warden's identity needs Log Analytics "
                    "Reader on the workspace"
                ) from None
            raise LogQueryError(f"query {name!r} failed: HTTP {exc.status_code} {exc.reason or ''}".rstrip()) from None
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
