"""The emulator's aiohttp loopback server: the gateway for Azure calls, and an admin API.

Gateway convention (as ``shared.azure.redirect.RedirectTransport`` sends): a request to
``http://127.0.0.1:PORT/{host}/{path}?{query}`` is answered as ``https://{host}/{path}?{query}``.
So ``WARDEN_EMULATOR_URL=http://127.0.0.1:PORT`` routes every SDK client there, and an Event
Grid topic endpoint can be given directly as ``http://127.0.0.1:PORT/{topic host}/api/events``.

Admin API (JSON; loopback only, no auth):

=======  =============================================  ==============================================
method   path                                           does
=======  =============================================  ==============================================
GET      ``/_emulator/health``                          ``{"status": "ok"}``
GET      ``/_emulator/state``                           state snapshot (keys/secrets as fingerprints)
GET      ``/_emulator/counters``                        call counters (``Emulator.counts``)
POST     ``/_emulator/counters/reset``                  zero the counters
GET      ``/_emulator/apis``                            API names (for faults and counters)
GET      ``/_emulator/faults``                          active fault rules
POST     ``/_emulator/faults``                          add a rule: ``{"api", "kind", "count"?, ...}``
DELETE   ``/_emulator/faults[?api=NAME|id=N]``          remove rules
POST     ``/_emulator/reset``                           rebuild state from the loaded tenant
GET      ``/_emulator/events[?topic=NAME]``             published Event Grid events
DELETE   ``/_emulator/events``                          forget published events
POST     ``/_emulator/workspaces/{ws}/tables/{table}``  append rows: ``{"rows": [...]}`` or ``[...]``
POST     ``/_emulator/tenant``                          load a tenant (JSON or YAML body)
POST     ``/_emulator/operations/settle``               complete every in-progress LRO
POST     ``/_emulator/throttling``                      ``{"enabled": true|false}``
=======  =============================================  ==============================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import yaml
from aiohttp import web

from emulator.core import Emulator
from emulator.faults import LOST_ANSWER_HEADER
from emulator.tenant import TenantError

__all__ = ["ADMIN_PREFIX", "EmulatorServer", "build_app"]

_log = logging.getLogger("warden.emulator")

ADMIN_PREFIX = "/_emulator/"
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=lambda o: json.dumps(o, default=str))


def _problem(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def build_app(emulator: Emulator) -> web.Application:
    """The aiohttp application serving ``emulator`` (gateway routes and ``/_emulator/`` admin API)."""
    app = web.Application(client_max_size=8 * 1024 * 1024)

    async def gateway(request: web.Request) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await admin(request)
        tail = request.raw_path.lstrip("/")
        host, _, rest = tail.partition("/")
        if not host or "." not in host:
            return _problem(404, f"expected /{{azure host}}/{{path}}, got {request.raw_path!r}")
        url = f"https://{host}/{rest}"
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        loop = asyncio.get_running_loop()
        status, out_headers, payload = await loop.run_in_executor(
            None, emulator.handle, request.method, url, headers, body
        )
        if out_headers.pop(LOST_ANSWER_HEADER, None) is not None and request.transport is not None:
            request.transport.abort()  # the change is made; the client never hears of it
            raise asyncio.CancelledError
        response = web.Response(status=status, body=payload if status not in (204, 304) else None)
        for key, value in out_headers.items():
            if key.lower() not in _HOP_HEADERS:
                response.headers[key] = value
        return response

    async def admin(request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path[len(ADMIN_PREFIX) :].split("/") if p]
        method = request.method
        try:
            if parts == ["health"] and method == "GET":
                return _json({"status": "ok"})
            if parts == ["state"] and method == "GET":
                return _json(emulator.snapshot())
            if parts == ["counters"] and method == "GET":
                return _json(emulator.counts())
            if parts == ["counters", "reset"] and method == "POST":
                emulator.reset_counters()
                return _json({"reset": True})
            if parts == ["apis"] and method == "GET":
                return _json(emulator.api_names())
            if parts == ["faults"]:
                if method == "GET":
                    return _json(emulator.list_faults())
                if method == "POST":
                    spec = await request.json()
                    if not isinstance(spec, dict) or "api" not in spec or "kind" not in spec:
                        return _problem(400, "expected a JSON object with 'api' and 'kind'")
                    api = str(spec.pop("api"))
                    kind = str(spec.pop("kind"))
                    rule_id = emulator.inject_fault(api, kind, **spec)
                    return _json({"id": rule_id}, 201)
                if method == "DELETE":
                    raw_id = request.query.get("id")
                    removed = emulator.clear_faults(
                        request.query.get("api"), int(raw_id) if raw_id is not None else None
                    )
                    return _json({"removed": removed})
            if parts == ["reset"] and method == "POST":
                emulator.reset()
                return _json({"reset": True})
            if parts == ["events"]:
                if method == "GET":
                    return _json(emulator.published_events(request.query.get("topic")))
                if method == "DELETE":
                    emulator.clear_events()
                    return _json({"cleared": True})
            if len(parts) == 4 and parts[0] == "workspaces" and parts[2] == "tables" and method == "POST":
                payload = await request.json()
                rows = payload.get("rows") if isinstance(payload, dict) else payload
                if not isinstance(rows, list):
                    return _problem(400, "expected {'rows': [...]} or a JSON array of rows")
                count = emulator.append_rows(parts[1], parts[3], rows)
                return _json({"table": parts[3], "rows": count}, 201)
            if parts == ["tenant"] and method == "POST":
                text = await request.text()
                data = yaml.safe_load(text)
                emulator.load_tenant(data)
                return _json({"loaded": True, "tenantId": emulator.tenant_id})
            if parts == ["operations", "settle"] and method == "POST":
                return _json({"settled": emulator.settle_operations()})
            if parts == ["throttling"] and method == "POST":
                payload = await request.json()
                enabled = bool(payload.get("enabled")) if isinstance(payload, dict) else False
                emulator.set_throttling(enabled)
                return _json({"enabled": enabled})
        except TenantError as exc:
            return _json({"error": "invalid tenant", "problems": exc.problems}, 400)
        except (ValueError, TypeError, KeyError, yaml.YAMLError) as exc:
            return _problem(400, str(exc))
        return _problem(404, f"no admin route {method} {request.path}")

    app.router.add_route("*", "/{tail:.*}", gateway)
    return app


class EmulatorServer:
    """Runs ``build_app(emulator)`` on a loopback port in a background thread.

    ``start()`` returns once the port is bound; ``url`` is then ``http://HOST:PORT``.
    ``stop()`` shuts it down. Usable as a context manager. Raises ``RuntimeError`` if the
    server cannot start.
    """

    def __init__(self, emulator: Emulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def url(self) -> str:
        if not self._ready.is_set() or self._error is not None:
            raise RuntimeError("the emulator server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("the emulator server is already started")
        self._thread = threading.Thread(target=self._run, name="warden-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the emulator server did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the emulator server failed to start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # pragma: no cover - reported through start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        runner = web.AppRunner(build_app(self.emulator), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            self._error = exc
            self._ready.set()
            await runner.cleanup()
            return
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopped, thread = self._loop, self._stopped, self._thread
        if loop is not None and stopped is not None and loop.is_running():
            loop.call_soon_threadsafe(stopped.set)
        if thread is not None:
            thread.join(timeout)
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
