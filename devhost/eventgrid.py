"""The Event Grid extension's webhook: ``/runtime/webhooks/eventgrid?functionName=NAME``.

Follows the host (``HttpRequestProcessor`` / ``EventGridExtensionConfigProvider``):

* the ``eventgrid_extension`` system key (or the master key) is required, as ``?code=``;
* ``aeg-event-type: SubscriptionValidation`` -> 200 ``{"validationResponse": code}`` (a CloudEvent's
  ``data`` may arrive JSON-encoded as a string; it is parsed first);
* ``Notification`` -> the body is an array (Event Grid schema) or one object (CloudEvents); each
  event is one invocation ("single dispatch"), run concurrently; 202 when all succeed, else 500
  so Event Grid redelivers;
* ``Unsubscribe`` / ``SubscriptionDeletion`` -> 202; a missing or other header -> 400;
* unknown function -> 404 (checked for notifications, as the host does);
* the CloudEvents abuse-protection ``OPTIONS`` handshake (``WebHook-Request-Origin``) -> 200 with
  ``WebHook-Allowed-Origin`` and ``WebHook-Allowed-Rate``.

Events are decoded by azure-functions' own ``EventGridEventInConverter``: a body with
``specversion`` becomes ``func.CloudEvent``, anything else ``func.EventGridEvent``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from devhost.keys import EVENTGRID_SYSTEM_KEY, HostKeys
from devhost.loader import HostedFunction, LoadedApp

__all__ = ["WEBHOOK_PATH", "EventGridWebhook", "decode_event"]

WEBHOOK_PATH = "/runtime/webhooks/eventgrid"
EVENT_TYPE_HEADER = "aeg-event-type"

Invoke = Callable[[HostedFunction, Any], Awaitable[bool]]


def decode_event(event: dict[str, Any]) -> Any:
    """One event object -> ``func.EventGridEvent`` or ``func.CloudEvent``, as the worker decodes it."""
    return EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class EventGridWebhook:
    """aiohttp handlers for the Event Grid webhook; ``invoke`` runs one function invocation."""

    def __init__(self, app: LoadedApp, keys: HostKeys, invoke: Invoke) -> None:
        self._app = app
        self._keys = keys
        self._invoke = invoke

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_route("POST", WEBHOOK_PATH, self.handle_post)
        web_app.router.add_route("OPTIONS", WEBHOOK_PATH, self.handle_options)

    def _authorized(self, request: web.Request) -> bool:
        key = request.query.get("code") or request.headers.get("x-functions-key")
        return self._keys.is_system(EVENTGRID_SYSTEM_KEY, key)

    def _function(self, name: str | None) -> HostedFunction | None:
        if not name:
            return None
        fn = self._app.get(name)
        return fn if fn is not None and fn.trigger_type == "eventGridTrigger" else None

    async def handle_options(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return _problem(400, "OPTIONS requires the WebHook-Request-Origin header (CloudEvents handshake)")
        return web.Response(
            status=200,
            headers={
                "WebHook-Allowed-Origin": origin,
                "WebHook-Allowed-Rate": "*",
                "Allow": "POST, OPTIONS",
            },
        )

    async def handle_post(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        kind = (request.headers.get(EVENT_TYPE_HEADER) or "").lower()
        if kind == "subscriptionvalidation":
            return await self._validate(request)
        if kind == "notification":
            return await self._notify(request)
        if kind in ("unsubscribe", "subscriptiondeletion"):
            return web.Response(status=202)
        return _problem(
            400,
            f"header {EVENT_TYPE_HEADER!r} must be SubscriptionValidation, Notification, Unsubscribe or "
            f"SubscriptionDeletion (got {request.headers.get(EVENT_TYPE_HEADER)!r})",
        )

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"request body is not valid JSON: {exc}"}),
                content_type="application/json",
            ) from exc

    async def _validate(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        event = body[0] if isinstance(body, list) and body else body
        if not isinstance(event, dict):
            return _problem(400, "a validation request must carry one event object")
        data = event.get("data")
        if isinstance(data, str):  # CloudEvents validation: data is JSON encoded twice
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                return _problem(400, "validation event 'data' is a string but not JSON")
        code = data.get("validationCode") if isinstance(data, dict) else None
        if not isinstance(code, str):
            return _problem(400, "validation event has no data.validationCode")
        return web.json_response({"validationResponse": code}, status=200)

    async def _notify(self, request: web.Request) -> web.Response:
        name = request.query.get("functionName")
        fn = self._function(name)
        if fn is None:
            return _problem(404, f"cannot find function: {name!r} (no eventGridTrigger by that name)")
        body = await self._json_body(request)
        events = body if isinstance(body, list) else [body]
        if not all(isinstance(e, dict) for e in events):
            return _problem(400, "every event must be a JSON object")
        results = await asyncio.gather(*(self._invoke_one(fn, e) for e in events))
        return web.Response(status=202 if all(results) else 500)

    async def _invoke_one(self, fn: HostedFunction, event: dict[str, Any]) -> bool:
        return await self._invoke(fn, event)
