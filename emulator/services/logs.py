"""Log Analytics query API: ``POST https://api.loganalytics.io/v1/workspaces/{id}/query`` and ``/v1/$batch``.

Request ``{"query", "timespan": "PT3600.0S" | "start/end" | "start/PTnS" | null, "workspaces"}``;
response ``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [...]}]}``.
A 200 body that also has ``"error": {"code": "PartialError", ...}`` is a partial result
(azure-monitor-query 2.0.0 returns ``LogsQueryPartialResult``); the emulator sends one when a
``partial`` fault fires. Datetime cells are ISO 8601 strings; dynamic cells are JSON text.

The query must be a named Warden query (``shared.kql.render``) answered by its model in
``emulator.queries.LOGS_MODELS``; an unnamed query, an unknown name or a query without a Log
Analytics model is answered 400 ``BadArgumentError`` naming it. Rows outside the request's
``timespan`` are not visible (as in the service, which filters on ``TimeGenerated``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import HttpError, Request, Response, json_response
from emulator.queries import GRAPH_MODELS, LOGS_MODELS, LogsSource, ResultTable
from emulator.tables import format_cell, parse_datetime
from shared import kql

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["LogsService", "parse_timespan"]

_DURATION_RE = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def _duration(text: str) -> timedelta:
    match = _DURATION_RE.match(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def parse_timespan(value: Any, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Parse the query body's ISO 8601 ``timespan`` into ``(start, end)``; ``None`` means unbounded.

    Raises ``ValueError`` for a malformed value.
    """
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise ValueError(f"timespan must be a string, got {type(value).__name__}")
    if "/" not in value:
        return now - _duration(value), now
    left, right = value.split("/", 1)
    if left.upper().startswith("P"):
        end = parse_datetime(right)
        return end - _duration(left), end
    start = parse_datetime(left)
    if right.upper().startswith("P"):
        return start, start + _duration(right)
    return start, parse_datetime(right)


class LogsService:
    """Routes and handlers for ``api.loganalytics.io``."""

    name = "logs"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, req: Request) -> Route:
        seg = [s for s in req.path.split("/") if s]
        low = [s.lower() for s in seg]
        if len(seg) == 4 and low[0] == "v1" and low[1] == "workspaces" and low[3] == "query":
            if req.method != "POST":
                raise HttpError(405, "MethodNotAllowed", "Use POST for /v1/workspaces/{id}/query in the emulator.")
            workspace = seg[2]
            return Route("logs.query", lambda q, c: self._query(q, c, workspace))
        if len(seg) == 2 and low == ["v1", "$batch"]:
            if req.method != "POST":
                raise HttpError(405, "MethodNotAllowed", "Use POST for /v1/$batch.")
            return Route("logs.batch", self._batch)
        raise HttpError(404, "PathNotFoundError", f"The requested path does not exist: {req.path}")

    def authenticate(self, req: Request, route: Route) -> None:
        if req.bearer() is None:
            raise HttpError(401, "AuthorizationRequiredError", "Valid authentication was not provided")

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "ThrottledError",
                rule.message or "Your request was throttled (injected fault).",
                headers={"Retry-After": _seconds(rule.retry_after)},
            )
        return HttpError(rule.status, rule.code or "ServiceError", rule.message or "Injected fault.")

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        response.headers.setdefault("Via", "1.1 draft-oms-emulator")

    # -- handlers -------------------------------------------------------------------------------
    def _query(self, req: Request, call: Call, workspace: str) -> Response:
        body = req.json()
        status, payload = self._run(workspace, body, call)
        if status != 200:
            return json_response(status, payload)
        return json_response(200, payload)

    def _batch(self, req: Request, call: Call) -> Response:
        body = req.json()
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list):
            raise _bad("The batch body must be {'requests': [...]}.")
        responses = []
        for item in requests:
            if not isinstance(item, dict) or "id" not in item:
                raise _bad("Each batch request needs an 'id'.")
            workspace = str(item.get("workspace") or "")
            status, payload = self._run(workspace, item.get("body"), call)
            responses.append({"id": item["id"], "status": status, "body": payload})
        return json_response(200, {"responses": responses})

    def _run(self, workspace_ref: str, body: Any, call: Call) -> tuple[int, dict[str, Any]]:
        try:
            table = self._evaluate(workspace_ref, body)
        except HttpError as exc:
            return exc.status, {"error": {"message": exc.message, "code": exc.code, **exc.extra}}
        columns = [{"name": n, "type": t} for n, t in table.columns]
        rows = [[format_cell(t, v) for (_, t), v in zip(table.columns, row, strict=True)] for row in table.rows]
        payload: dict[str, Any] = {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}
        partial = call.fault("partial")
        if partial is not None:
            keep = partial.keep_rows if partial.keep_rows is not None else len(rows) // 2
            payload["tables"][0]["rows"] = rows[: max(0, keep)]
            payload["error"] = {
                "code": "PartialError",
                "message": partial.message or "There were some errors when processing your query.",
                "details": [
                    {
                        "code": partial.code or "EngineError",
                        "message": "Query result set has exceeded the internal limit (injected fault).",
                        "innererror": {"code": "-2133196797", "message": "E_QUERY_RESULT_SET_TOO_LARGE"},
                    }
                ],
            }
        return 200, payload

    def _evaluate(self, workspace_ref: str, body: Any) -> ResultTable:
        ws = self.emu.state.workspace(workspace_ref)
        if ws is None:
            raise HttpError(404, "WorkspaceNotFoundError", f"The workspace {workspace_ref} could not be found")
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object with a 'query'.")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise _bad("The 'query' property is required.")
        try:
            start, end = parse_timespan(body.get("timespan"), self.emu.clock())
        except ValueError as exc:
            raise _bad(f"Invalid timespan: {exc}") from None
        try:
            parsed = kql.parse_rendered(text)
        except kql.UnnamedQueryError as exc:
            raise _bad(f"{exc} (Log Analytics in the emulator answers only named queries).") from None
        except kql.KqlError as exc:
            raise _bad(str(exc)) from None
        model = LOGS_MODELS.get(parsed.name)
        if model is None:
            other = " (it is a Resource Graph query)" if parsed.name in GRAPH_MODELS else ""
            raise _bad(f"The emulator has no Log Analytics model for query '{parsed.name}'{other}.")
        return model(LogsSource(ws.tables, start, end), parsed.params)


def _bad(message: str) -> HttpError:
    return HttpError(
        400,
        "BadArgumentError",
        message,
        extra={"innererror": {"code": "SemanticError", "message": message}},
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
