"""The Durable Functions HTTP API (webhook and local RPC), as the 1.x Python client calls it.

Registered twice, like the extension's ``HttpApiHandler``: under the public webhook prefix
``/runtime/webhooks/durabletask/`` (protected by the system key when one is configured) and under
the RPC prefix ``/durabletask/`` that ``rpcBaseUrl`` points at (loopback clients only, no key).
Every response body is JSON, because the SDK parses every body with ``response.json()``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable.history import EventType, parse_time
from devhost.durable.status import (
    ALL_STATUSES,
    TERMINAL_STATUSES,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    OrchestratorNotFoundError,
)

if TYPE_CHECKING:
    from devhost.durable.engine import DurableEngine

__all__ = ["WEBHOOK_PREFIX", "client_binding", "register_routes"]

WEBHOOK_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _query(task_hub: str, system_key: str | None) -> str:
    query = f"taskHub={quote(task_hub)}&connection=Storage"
    return f"{query}&code={quote(system_key)}" if system_key else query


def management_urls(base: str, instance_id: str, task_hub: str, system_key: str | None) -> dict[str, str]:
    """The management URL set (``base`` is ``{origin}/runtime/webhooks/durabletask``)."""
    q = _query(task_hub, system_key)
    inst = f"{base}/instances/{instance_id}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{inst}?{q}",
        "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{inst}/terminate?reason={{text}}&{q}",
        "rewindPostUri": f"{inst}/rewind?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{inst}?{q}",
        "restartPostUri": f"{inst}/restart?{q}",
        "suspendPostUri": f"{inst}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{inst}/resume?reason={{text}}&{q}",
    }


def client_binding(base_url: str, task_hub: str, system_key: str | None) -> dict[str, Any]:
    """The ``durableClient`` binding payload (``BindingHelper.DurableOrchestrationClientToString``)."""
    base = f"{base_url}{WEBHOOK_PREFIX}"
    code = f"code={quote(system_key)}" if system_key else ""
    suffix = f"?{code}" if code else ""
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    wait_query = "timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"
    return {
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{create}{suffix}",
            "createAndWaitOnNewInstancePostUri": f"{create}?{wait_query}{'&' + code if code else ''}",
        },
        "managementUrls": management_urls(base, INSTANCE_PLACEHOLDER, task_hub, system_key),
        "baseUrl": base,
        "requiredQueryStringParameters": code,
        "rpcBaseUrl": f"{base_url}{RPC_PREFIX}/",
    }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _error(status: int, message: str, exception_type: str = "System.InvalidOperationException") -> web.Response:
    # The shape of the extension's error responses (an ASP.NET HttpError).
    return _json(
        {
            "Message": "Something went wrong while processing your request",
            "ExceptionMessage": message,
            "ExceptionType": exception_type,
        },
        status,
    )


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() == "true"


class DurableHttpApi:
    """Request handlers bound to one engine."""

    def __init__(self, engine: DurableEngine, system_key: str | None) -> None:
        self.engine = engine
        self.system_key = system_key

    # ---- guards ----------------------------------------------------------------------------

    def guard(self, handler: Handler, *, webhook: bool) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if webhook and self.system_key is not None:
                given = request.query.get("code") or request.headers.get("x-functions-key") or ""
                if not hmac.compare_digest(given.encode(), self.system_key.encode()):
                    return _json({"Message": "Unauthorized: a valid system key is required"}, 401)
            if not webhook and not _is_loopback(request.remote):
                return _json({"Message": "The durable RPC endpoint only serves loopback clients"}, 403)
            return await handler(request)

        return guarded

    def _origin_base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{WEBHOOK_PREFIX}"

    def check_status_body(self, request: web.Request, instance_id: str) -> dict[str, str]:
        return management_urls(self._origin_base(request), instance_id, self.engine.task_hub, self.system_key)

    # ---- handlers --------------------------------------------------------------------------

    async def start(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["function_name"]
        instance_id = request.match_info.get("instance_id") or None
        text = (await request.text()).strip()
        stored: str | None = None
        if text:
            try:
                json.loads(text)
            except ValueError:
                return _error(400, "The request body must be JSON", "System.ArgumentException")
            stored = text  # ExecutionStarted.Input keeps the body as sent (double-encoded JSON)
        try:
            iid = self.engine.create_instance(name, stored, instance_id)
        except OrchestratorNotFoundError as exc:
            return _error(400, str(exc), "System.ArgumentException")
        except InstanceAlreadyExistsError as exc:
            return _error(500, str(exc))
        body = self.check_status_body(request, iid)
        return _json(body, 202, {"Location": body["statusQueryGetUri"], "Retry-After": "10"})

    async def status(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        inst = self.engine.store.get_instance(instance_id)
        if inst is None:
            return _json(None, 404)
        status = self.engine.status_of(inst)
        body = status.to_json(show_input=_flag(request, "showInput", True))
        if _flag(request, "showHistory", False):
            body["historyEvents"] = _history_view(
                self.engine.get_history(instance_id), _flag(request, "showHistoryOutput", False)
            )
        if status.runtime_status in TERMINAL_STATUSES:
            code = 200
            if status.runtime_status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure", False):
                code = 500
            return _json(body, code)
        location = self.check_status_body(request, instance_id)["statusQueryGetUri"]
        return _json(body, 202, {"Location": location, "Retry-After": "10"})

    def _filters(self, request: web.Request) -> dict[str, Any]:
        q = request.query
        statuses = [s.strip() for s in q.get("runtimeStatus", "").split(",") if s.strip()]
        unknown = [s for s in statuses if s not in ALL_STATUSES]
        if unknown:
            raise web.HTTPBadRequest(
                text=json.dumps({"Message": f"unknown runtimeStatus {unknown}; expected {sorted(ALL_STATUSES)}"}),
                content_type="application/json",
            )
        return {
            "created_from": parse_time(q["createdTimeFrom"]) if q.get("createdTimeFrom") else None,
            "created_to": parse_time(q["createdTimeTo"]) if q.get("createdTimeTo") else None,
            "runtime_status": statuses or None,
        }

    async def list_status(self, request: web.Request) -> web.StreamResponse:
        filters = self._filters(request)
        show_input = _flag(request, "showInput", False)
        statuses = self.engine.list_statuses(
            instance_id_prefix=request.query.get("instanceIdPrefix") or None, **filters
        )
        return _json([s.to_json(show_input=show_input) for s in statuses])

    async def purge_one(self, request: web.Request) -> web.StreamResponse:
        deleted = await self.engine.purge(request.match_info["instance_id"])
        return _json({"instancesDeleted": deleted}, 200 if deleted else 404)

    async def purge_many(self, request: web.Request) -> web.StreamResponse:
        deleted = await self.engine.purge_by(**self._filters(request))
        return _json({"instancesDeleted": deleted}, 200 if deleted else 404)

    async def raise_event(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        if request.content_type not in ("application/json", "application/octet-stream") and request.body_exists:
            return _json({"Message": "Only application/json request content is supported"}, 400)
        text = (await request.text()).strip() or None
        if text is not None:
            try:
                json.loads(text)
            except ValueError:
                return _json({"Message": "The request body must be JSON"}, 400)
        try:
            # EventRaised.Input is the body as sent: the Python client's payload arrives in the
            # orchestrator as JSON text (double encoding, issue #295), as on Azure.
            self.engine.enqueue_event(instance_id, request.match_info["event_name"], text)
        except InstanceNotFoundError as exc:
            return _json({"Message": str(exc)}, 404)
        except InstanceGoneError as exc:
            return _json({"Message": str(exc)}, 410)
        return _json(None, 202)

    async def terminate(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        try:
            self.engine.enqueue_terminate(instance_id, request.query.get("reason", ""))
        except InstanceNotFoundError as exc:
            return _json({"Message": str(exc)}, 404)
        except InstanceGoneError as exc:
            return _json({"Message": str(exc)}, 410)
        return _json(None, 202)

    async def not_supported(self, request: web.Request) -> web.StreamResponse:
        return _json(
            {"Message": f"devhost's durable engine does not implement {request.method} {request.path}"},
            501,
        )


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


_HISTORY_NAMES = {int(e): e.name for e in EventType}


def _history_view(history: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    """The status API's ``historyEvents``: DTFx events without the episode markers.

    A simplified rendering of the extension's: event types by name, scheduled events folded
    into their completions (with ``FunctionName`` and ``ScheduledTime``), payloads only with
    ``showHistoryOutput``.
    """
    scheduled: dict[int, dict[str, Any]] = {}
    view: list[dict[str, Any]] = []
    for event in history:
        etype = event["EventType"]
        if etype in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            continue
        if etype in (
            EventType.TaskScheduled,
            EventType.SubOrchestrationInstanceCreated,
            EventType.TimerCreated,
        ):
            scheduled[int(event["EventId"])] = event
            continue
        item: dict[str, Any] = {"EventType": _HISTORY_NAMES.get(etype, str(etype)), "Timestamp": event["Timestamp"]}
        source_id = event.get("TaskScheduledId", event.get("TimerId"))
        source = scheduled.get(int(source_id)) if source_id is not None else None
        if source is not None:
            item["ScheduledTime"] = source["Timestamp"]
            if "Name" in source:
                item["FunctionName"] = source["Name"]
        if etype == EventType.ExecutionStarted:
            item["FunctionName"] = event.get("Name")
        if etype == EventType.EventRaised:
            item["Name"] = event.get("Name")
        if etype == EventType.TimerFired:
            item["FireAt"] = event.get("FireAt")
        if etype == EventType.ExecutionCompleted:
            item["OrchestrationStatus"] = event.get("OrchestrationStatus")
        if etype in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            item["Reason"] = event.get("Reason")
            item["Details"] = event.get("Details")
        if show_output:
            for key in ("Input", "Result"):
                if key in event and event[key] is not None:
                    try:
                        item[key] = json.loads(event[key])
                    except (TypeError, ValueError):
                        item[key] = event[key]
        view.append(item)
    return view


def register_routes(app: web.Application, engine: DurableEngine, system_key: str | None) -> None:
    """Add the API under both prefixes to ``app``."""
    api = DurableHttpApi(engine, system_key)
    for prefix, webhook in ((WEBHOOK_PREFIX, True), (RPC_PREFIX, False)):

        def add(method: str, path: str, handler: Handler, *, _p: str = prefix, _w: bool = webhook) -> None:
            app.router.add_route(method, f"{_p}/{path}", api.guard(handler, webhook=_w))

        add("POST", "orchestrators/{function_name}", api.start)
        add("POST", "orchestrators/{function_name}/{instance_id}", api.start)
        add("GET", "instances", api.list_status)
        add("GET", "instances/", api.list_status)
        add("DELETE", "instances", api.purge_many)
        add("DELETE", "instances/", api.purge_many)
        add("GET", "instances/{instance_id}", api.status)
        add("DELETE", "instances/{instance_id}", api.purge_one)
        add("POST", "instances/{instance_id}/raiseEvent/{event_name}", api.raise_event)
        add("POST", "instances/{instance_id}/terminate", api.terminate)
        for op in ("suspend", "resume", "rewind", "restart"):
            add("POST", f"instances/{{instance_id}}/{op}", api.not_supported)
        add("*", "entities/{tail:.*}", api.not_supported)
