"""The Log Analytics port: run one of Warden's named KQL queries against the workspace.

Queries live in ``shared/kql/<name>.kql`` and are rendered with typed parameters
(``shared.kql.render``). ``LogsPort`` is the contract; the Azure implementation is
``shared.azure.logs.AzureLogs``; unit tests use ``tests.fakes.FakeLogs`` (canned rows).

Errors: ``LogQueryError`` when the query fails, ``PartialLogQueryError`` when the service
returned only part of the data (callers must not draw conclusions from missing rows), and
``shared.kql.KqlError`` for an unknown query or a bad parameter (before anything is sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = ["LogQueryError", "LogsPort", "PartialLogQueryError", "Row", "Timespan"]

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
