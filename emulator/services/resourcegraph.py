"""Resource Graph: ``POST https://management.azure.com/providers/Microsoft.ResourceGraph/resources``.

Request ``{"subscriptions": [...], "query": "...", "options": {"$top", "$skip", "$skipToken",
"resultFormat"}}``; response ``{"totalRecords", "count", "resultTruncated", "$skipToken"?,
"data", "facets"}`` (azure-mgmt-resourcegraph 8.0.1, api-version 2021-03-01). Pages hold at most
1000 rows (``$top`` is capped at 1000); the next page is asked for with ``$skipToken``.

The emulator cannot run KQL: the query must be a named Warden query (``shared.kql.render``),
answered by its model in ``emulator.queries.GRAPH_MODELS``; any other query is answered 400
naming the problem.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import HttpError, Request, Response, json_response
from emulator.queries import GRAPH_MODELS, LOGS_MODELS
from shared import kql

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["MAX_PAGE", "ResourceGraphService"]

MAX_PAGE = 1000
_ARG_TYPES = {"string": "string", "bool": "boolean", "long": "integer", "int": "integer", "real": "number"}


class ResourceGraphService:
    """Routes and handlers for the Resource Graph resources query."""

    name = "resourcegraph"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def route(self, req: Request) -> Route:
        if req.path.rstrip("/").lower() != "/providers/microsoft.resourcegraph/resources":
            raise HttpError(400, "NotEmulated", f"The emulator does not emulate {req.method} {req.path}.")
        if req.method != "POST":
            raise HttpError(405, "MethodNotAllowed", f"The requested resource does not support '{req.method}'.")
        return Route("resourcegraph.query", self._query)

    def authenticate(self, req: Request, route: Route) -> None:
        if not req.query.get("api-version"):
            raise HttpError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if req.bearer() is None:
            raise HttpError(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "RateLimiting",
                rule.message or "Please provide below info when asking for support: throttled (injected fault).",
                headers={
                    "Retry-After": _seconds(rule.retry_after),
                    "x-ms-user-quota-remaining": "0",
                    "x-ms-user-quota-resets-after": "00:00:05",
                },
            )
        return HttpError(rule.status, rule.code or "ServiceUnavailable", rule.message or "Injected fault.")

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        response.headers.setdefault("x-ms-user-quota-remaining", "14")
        response.headers.setdefault("x-ms-user-quota-resets-after", "00:00:05")

    def _query(self, req: Request, call: Call) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "BadRequest", "The request body must be a JSON object.")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "BadRequest", "Property 'query' is required.")
        name, params = _parse_named(text, "Resource Graph")
        model = GRAPH_MODELS.get(name)
        if model is None:
            other = " (it is a Log Analytics query)" if name in LOGS_MODELS else ""
            raise _invalid_query(f"The emulator has no Resource Graph model for query '{name}'{other}.")
        subs_raw = body.get("subscriptions")
        subscriptions = {str(s).lower() for s in subs_raw} if isinstance(subs_raw, list) and subs_raw else None
        table = model(self.emu.state, subscriptions, params)
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise HttpError(400, "BadRequest", "'options' must be an object.")
        fingerprint = hashlib.sha256(
            json.dumps([text, sorted(subscriptions or [])], separators=(",", ":")).encode()
        ).hexdigest()[:16]
        top = options.get("$top")
        top = MAX_PAGE if top is None else int(top)
        if not 0 < top <= MAX_PAGE:
            top = MAX_PAGE
        start = int(options.get("$skip") or 0)
        token = options.get("$skipToken")
        if token:
            start = _read_token(str(token), fingerprint)
        page = table.rows[start : start + top]
        result: dict[str, Any] = {
            "totalRecords": len(table.rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
        }
        if start + top < len(table.rows):
            result["$skipToken"] = _write_token(start + top, fingerprint)
        if str(options.get("resultFormat") or "objectArray").lower() == "table":
            result["data"] = {
                "columns": [{"name": n, "type": _ARG_TYPES.get(t, "object")} for n, t in table.columns],
                "rows": page,
            }
        else:
            names = [n for n, _ in table.columns]
            result["data"] = [dict(zip(names, row, strict=True)) for row in page]
        return json_response(200, result)


def _parse_named(text: str, service: str) -> tuple[str, dict[str, Any]]:
    try:
        parsed = kql.parse_rendered(text)
    except kql.UnnamedQueryError as exc:
        raise _invalid_query(f"{exc} ({service} in the emulator answers only named queries).") from None
    except kql.KqlError as exc:
        raise _invalid_query(str(exc)) from None
    return parsed.name, parsed.params


def _invalid_query(message: str) -> HttpError:
    return HttpError(400, "BadRequest", message, extra={"details": [{"code": "InvalidQuery", "message": message}]})


def _write_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, fingerprint: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        if data["q"] != fingerprint:
            raise ValueError("token belongs to another query")
    except (ValueError, KeyError, TypeError) as exc:
        raise HttpError(400, "BadRequest", f"The $skipToken is not valid for this query: {exc}.") from None
    return offset


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
