"""``DevHost``: the local Functions host that serves one ``function_app.py``.

One aiohttp server (127.0.0.1:7071 by default, port 0 for a free one) carries what the
Functions host exposes for the app:

* ``/{routePrefix}/…`` — HTTP triggers (``http_trigger``), with function/admin/anonymous keys;
* ``/runtime/webhooks/eventgrid`` — the Event Grid extension webhook (``eventgrid``);
* ``/runtime/webhooks/durabletask/…`` and ``/durabletask/…`` — the Durable engine's HTTP API
  (``devhost.durable``, optional: only apps with durable functions need it);
* ``/admin/host/status``, ``/admin/functions[/{name}]`` — the host admin API (master key);
* ``/admin/devhost/eventhub/{name}`` — devhost's own feed for Event Hub triggers.

Timer triggers run in the background (``timers``). State (keys, timer status, the durable
store) lives in the state directory so restarts behave like a host restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from devhost.config import HostSettings, load_env_file, read_host_json
from devhost.eventgrid import WEBHOOK_PATH, EventGridWebhook, decode_event
from devhost.eventhub import EventHubPartitions, MessageFormatError, build_events, parse_messages
from devhost.http_trigger import (
    HttpRouteTable,
    build_request,
    check_status_instance_id,
    encode_response,
    is_authorized,
    presented_key,
    to_web_response,
)
from devhost.invocation import Invoker, check_parameters, log_invocation
from devhost.keys import DURABLE_SYSTEM_KEY, EVENTGRID_SYSTEM_KEY, HostKeys, load_or_create_keys
from devhost.loader import HostedFunction, LoadedApp, load_app
from devhost.statefiles import write_json_atomic
from devhost.timers import Clock, TimerRunner, TimerStatusStore, utc_now

__all__ = ["DEFAULT_MAX_BODY_SIZE", "DevHost", "DevHostError", "DevHostThread", "DurableEngineLike"]

logger = logging.getLogger("devhost")
DEFAULT_MAX_BODY_SIZE = 104_857_600  # the Functions host's default request body limit (100 MB)
DURABLE_TRIGGERS = frozenset({"orchestrationTrigger", "activityTrigger", "entityTrigger"})
HOSTED_TRIGGERS = frozenset({"httpTrigger", "eventGridTrigger", "eventHubTrigger", "timerTrigger"})


class DevHostError(RuntimeError):
    """devhost could not start (the message says what to fix)."""


class DurableEngineLike(Protocol):
    """The interface of ``devhost.durable.engine.DurableEngine`` that the server relies on."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def client_binding_json(self, base_url: str) -> str: ...

    def add_routes(self, web_app: web.Application, *, system_key: str) -> None: ...


EngineFactory = Callable[..., DurableEngineLike]


async def _close_durable_client_session() -> None:
    """Close the durable SDK's process-wide aiohttp session (it is bound to this host's loop).

    The Functions worker has no shutdown hook for it; devhost stops and starts hosts in one
    process (tests), where a session left open leaks and would be reused on a dead loop.
    """
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:  # pragma: no cover - the SDK is a runtime dependency
        return
    closer = getattr(http_utils, "_close_session", None)
    if closer is not None:
        await closer()


def needs_durable(app: LoadedApp) -> bool:
    return any(f.trigger_type in DURABLE_TRIGGERS or f.durable_client_arg for f in app.functions.values())


def _default_engine_factory() -> EngineFactory:
    try:
        module = importlib.import_module("devhost.durable.engine")
    except ImportError as exc:
        raise DevHostError(
            "the app uses Durable Functions (orchestrations, activities, entities or a durable "
            f"client binding) but the devhost Durable engine is not available: {exc}"
        ) from exc
    factory: EngineFactory = module.DurableEngine
    return factory


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class DevHost:
    """Hosts ``app_path`` (a ``function_app.py``) until ``stop``.

    ``start`` raises ``AppLoadError`` (app import failed, unsupported binding, bad route or
    schedule) or ``DevHostError`` with a message naming what to fix.
    """

    def __init__(
        self,
        app_path: str | os.PathLike[str],
        state_dir: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
        max_request_body_size: int = DEFAULT_MAX_BODY_SIZE,
        env_file: str | os.PathLike[str] | None = None,
        ready_file: str | os.PathLike[str] | None = None,
        clock: Clock = utc_now,
        task_hub: str | None = None,
        activity_concurrency: int | None = None,
        engine_factory: EngineFactory | None = None,
        worker_threads: int | None = None,
    ) -> None:
        self.app_path = Path(app_path).resolve()
        self.state_dir = Path(state_dir).resolve()
        self.bind_host = host
        self.requested_port = port
        self.max_request_body_size = max_request_body_size
        self.env_file = Path(env_file) if env_file is not None else None
        self.ready_file = Path(ready_file) if ready_file is not None else None
        self._clock = clock
        self._task_hub = task_hub
        self._activity_concurrency = activity_concurrency
        self._engine_factory = engine_factory
        self._worker_threads = worker_threads
        self._keys: HostKeys | None = None
        self._app: LoadedApp | None = None
        self._settings = HostSettings()
        self._routes: HttpRouteTable | None = None
        self._timers: TimerRunner | None = None
        self._engine: DurableEngineLike | None = None
        self._client_json: str | None = None
        self._invoker: Invoker | None = None
        self._runner: web.AppRunner | None = None
        self._partitions = EventHubPartitions()
        self._background: set[asyncio.Task[Any]] = set()
        self._url: str | None = None
        self._started_at = time.monotonic()

    # -- public surface -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` once started."""
        if self._url is None:
            raise DevHostError("devhost is not started")
        return self._url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def keys(self) -> HostKeys:
        if self._keys is None:
            raise DevHostError("devhost is not started")
        return self._keys

    @property
    def master_key(self) -> str:
        return self.keys.master

    @property
    def function_key(self) -> str:
        return self.keys.function

    def system_key(self, name: str) -> str:
        """A system key by name, e.g. ``eventgrid_extension`` or ``durabletask_extension``."""
        return self.keys.system_key(name)

    @property
    def app(self) -> LoadedApp:
        if self._app is None:
            raise DevHostError("devhost is not started")
        return self._app

    @property
    def engine(self) -> DurableEngineLike | None:
        return self._engine

    async def start(self) -> None:
        if self._runner is not None:
            raise DevHostError("devhost is already started")
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop timers, wait for in-flight background invocations, then the server and engine."""
        if self._timers is not None:
            await self._timers.stop()
            self._timers = None
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.stop()
        await _close_durable_client_session()
        if self._invoker is not None:
            self._invoker.close()
            self._invoker = None
        if self.ready_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.ready_file.unlink()

    def banner(self) -> list[str]:
        """Start-up lines: URL, keys and every function with how to reach it."""
        url = self.url
        lines = [
            f"devhost: {self.app_path} on {url}",
            f"  master key:   {self.master_key}",
            f"  function key: {self.function_key}",
            f"  system keys:  {', '.join(f'{k}={v}' for k, v in sorted(self.keys.system.items()))}",
            "Functions:",
        ]
        if self._routes is not None:
            lines += [f"  {line}" for line in self._routes.describe(url)]
        eg_key = self.system_key(EVENTGRID_SYSTEM_KEY)
        for fn in self.app.functions.values():
            if fn.trigger_type == "eventGridTrigger":
                webhook = f"{url}{WEBHOOK_PATH}?functionName={fn.name}&code={eg_key}"
                lines.append(f"  {fn.name}: eventGridTrigger {webhook}")
            elif fn.trigger_type == "eventHubTrigger":
                feed = f"{url}/admin/devhost/eventhub/{fn.name}"
                lines.append(f"  {fn.name}: eventHubTrigger POST {feed} (master key)")
            elif fn.trigger_type == "timerTrigger":
                lines.append(f"  {fn.name}: timerTrigger '{fn.trigger.get('schedule')}'")
            elif fn.trigger_type in DURABLE_TRIGGERS:
                lines.append(f"  {fn.name}: {fn.trigger_type}")
        return lines

    # -- start-up -------------------------------------------------------------------------

    async def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.env_file is not None:
            load_env_file(self.env_file)
        self._keys = load_or_create_keys(self.state_dir)
        self._settings = read_host_json(self.app_path.parent)
        app = load_app(self.app_path)
        self._app = app
        for fn in app.functions.values():
            if fn.trigger_type in HOSTED_TRIGGERS:
                check_parameters(fn)
        self._routes = HttpRouteTable(app.by_trigger("httpTrigger"), self._settings.route_prefix)
        app_dir = str(self.app_path.parent)
        self._invoker = Invoker(max_threads=self._worker_threads, function_directory=app_dir)
        timers = TimerRunner(
            app.by_trigger("timerTrigger"),
            TimerStatusStore(self.state_dir / "timers.json"),
            self._invoke_timer,
            clock=self._clock,
        )

        web_app = web.Application(client_max_size=self.max_request_body_size)
        web_app.router.add_get("/admin/host/status", self._handle_host_status)
        web_app.router.add_get("/admin/functions", self._handle_list_functions)
        web_app.router.add_post("/admin/functions/{name}", self._handle_admin_invoke)
        web_app.router.add_post("/admin/devhost/eventhub/{name}", self._handle_eventhub)
        EventGridWebhook(app, self.keys, self._invoke_event_grid).add_routes(web_app)
        if needs_durable(app):
            factory = self._engine_factory or _default_engine_factory()
            concurrency = self._activity_concurrency or self._settings.max_concurrent_activities or 10
            self._engine = factory(
                app,
                self.state_dir / "durable.sqlite3",
                task_hub=self._task_hub or self._settings.task_hub,
                activity_concurrency=concurrency,
            )
            self._engine.add_routes(web_app, system_key=self.system_key(DURABLE_SYSTEM_KEY))
        web_app.router.add_route("*", "/{tail:.*}", self._handle_http)

        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind_host, self.requested_port)
        await site.start()
        port = self._runner.addresses[0][1]
        url_host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "", "::") else self.bind_host  # noqa: S104  # nosec B104 # a comparison, not a bind
        if ":" in url_host:
            url_host = f"[{url_host}]"
        self._url = f"http://{url_host}:{port}"
        if self._engine is not None:
            await self._engine.start()
            self._client_json = self._engine.client_binding_json(self._url)
        self._timers = timers
        await timers.start()
        if self.ready_file is not None:
            write_json_atomic(
                self.ready_file,
                {
                    "url": self._url,
                    "masterKey": self.master_key,
                    "functionKey": self.function_key,
                    "systemKeys": dict(self.keys.system),
                    "pid": os.getpid(),
                    "stateDir": str(self.state_dir),
                },
                private=True,
            )
        logger.info("%s listening on %s (%d functions)", self.app_path.name, self._url, len(app.functions))
        for line in self.banner()[4:]:
            logger.debug("%s", line)

    # -- invocation helpers ---------------------------------------------------------------

    def _client_for(self, fn: HostedFunction) -> str | None:
        if fn.durable_client_arg is None:
            return None
        if self._client_json is None:
            raise DevHostError(f"function {fn.name!r} needs the durable client but the engine is not running")
        return self._client_json

    @property
    def _invoke(self) -> Invoker:
        if self._invoker is None:
            raise DevHostError("devhost is not started")
        return self._invoker

    def _failed_before_call(self, fn: HostedFunction, exc: Exception) -> None:
        logger.error("Decoding the trigger of 'Functions.%s' failed", fn.name, exc_info=exc)
        detail = f"{type(exc).__name__}: {exc}"
        log_invocation(fn.name, invocation_id="-", succeeded=False, duration_ms=0.0, detail=detail)

    async def _invoke_event_grid(self, fn: HostedFunction, event: dict[str, Any]) -> bool:
        try:
            value = decode_event(event)
        except Exception as exc:
            self._failed_before_call(fn, exc)
            return False
        result = await self._invoke.invoke(
            fn, value, durable_client=self._client_for(fn), detail=f"(event id={event.get('id')})"
        )
        return result.succeeded

    async def _invoke_timer(self, fn: HostedFunction, request: Any) -> bool:
        result = await self._invoke.invoke(fn, request, durable_client=self._client_for(fn))
        return result.succeeded

    def _authorized_master(self, request: web.Request) -> bool:
        return self.keys.is_master(presented_key(request))

    # -- handlers -------------------------------------------------------------------------

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        routes = self._routes
        if routes is None:
            return web.Response(status=503)
        resolved = routes.resolve(request.raw_path, request.method)
        if resolved is None:
            if request.path == "/" and request.method in ("GET", "HEAD"):
                return web.Response(text="Your Functions app (devhost) is up and running.\n")
            return web.Response(status=404)
        route, params = resolved
        if not is_authorized(route.auth_level, self.keys, presented_key(request)):
            return web.Response(status=401)
        if (request.content_length or 0) > self.max_request_body_size:
            return web.Response(status=413)
        body = await request.read()
        http_request = build_request(
            request.method,
            url=str(request.url),
            headers=request.headers.items(),
            query=request.query.items(),
            route_params=params,
            body=body,
        )
        result = await self._invoke.invoke(
            route.function,
            http_request,
            durable_client=self._client_for(route.function),
            convert=encode_response,
            detail=f"({request.method} {request.path})",
            instance_id_of=check_status_instance_id if route.function.durable_client_arg else None,
        )
        if not result.succeeded:
            return web.Response(status=500)
        return to_web_response(result.value, head=request.method == "HEAD")

    async def _handle_host_status(self, request: web.Request) -> web.Response:
        if not self._authorized_master(request):
            return web.Response(status=401)
        return web.json_response(
            {
                "id": "devhost",
                "state": "Running",
                "version": "devhost",
                "processUptime": int((time.monotonic() - self._started_at) * 1000),
                "durable": self._engine is not None,
            }
        )

    async def _handle_list_functions(self, request: web.Request) -> web.Response:
        if not self._authorized_master(request):
            return web.Response(status=401)
        return web.json_response(
            [
                {"name": fn.name, "trigger": fn.trigger, "bindings": list(fn.bindings)}
                for fn in self.app.functions.values()
            ]
        )

    async def _handle_admin_invoke(self, request: web.Request) -> web.Response:
        """``POST /admin/functions/{name}`` ``{"input": "..."}``: run a non-HTTP function now.

        As the host: 202 and the invocation runs in the background. devhost extension:
        ``?wait=true`` waits and answers 200 (succeeded) or 500 (failed) with the invocation id.
        """
        if not self._authorized_master(request):
            return web.Response(status=401)
        fn = self.app.get(request.match_info["name"])
        if fn is None:
            return web.Response(status=404)
        raw = await request.read()
        try:
            payload = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _json_error(400, f'body must be JSON like {{"input": "..."}}: {exc}')
        given = payload.get("input") if isinstance(payload, dict) else None
        if given is not None and not isinstance(given, str):
            given = json.dumps(given)
        try:
            value = self._admin_trigger_value(fn, given)
        except ValueError as exc:
            return _json_error(400, str(exc))
        call = self._invoke.invoke(fn, value, durable_client=self._client_for(fn), detail="(admin)")
        if request.query.get("wait", "").lower() in ("1", "true", "yes"):
            result = await call
            outcome = {
                "invocationId": result.invocation_id,
                "status": "Succeeded" if result.succeeded else "Failed",
                "error": result.error_message,
            }
            return web.json_response(outcome, status=200 if result.succeeded else 500)
        task = asyncio.create_task(call)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return web.Response(status=202)

    def _admin_trigger_value(self, fn: HostedFunction, given: str | None) -> Any:
        if fn.trigger_type == "timerTrigger":
            if self._timers is None:
                raise ValueError("timers are not running")
            return self._timers.current_request(fn.name)
        if fn.trigger_type == "eventGridTrigger":
            try:
                event = json.loads(given or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"input for an Event Grid function must be an event as JSON: {exc}") from exc
            if not isinstance(event, dict):
                raise ValueError("input for an Event Grid function must be one event object")
            return decode_event(event)
        if fn.trigger_type == "eventHubTrigger":
            hub = str(fn.trigger.get("eventHubName") or "")
            messages, partition = parse_messages([given or ""])
            (stamped,) = self._partitions.stamp(hub, partition, messages)
            return build_events(fn.trigger, partition, [stamped])
        raise ValueError(
            f"function {fn.name!r} has a {fn.trigger_type}; the admin API runs timer, Event Grid and "
            "Event Hub functions (call HTTP functions on their route)"
        )

    async def _handle_eventhub(self, request: web.Request) -> web.Response:
        if not self._authorized_master(request):
            return web.Response(status=401)
        name = request.match_info["name"]
        fn = self.app.get(name)
        if fn is None or fn.trigger_type != "eventHubTrigger":
            return _json_error(404, f"no eventHubTrigger function named {name!r}")
        raw = await request.read()
        try:
            messages, partition = parse_messages(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _json_error(400, f"request body is not valid JSON: {exc}")
        except MessageFormatError as exc:
            return _json_error(400, str(exc))
        hub = str(fn.trigger.get("eventHubName") or "")
        stamped = self._partitions.stamp(hub, partition, messages)
        many = str(fn.trigger.get("cardinality") or "one").lower() == "many"
        size = self._settings.event_hub_max_batch if many else 1
        report: list[dict[str, Any]] = []
        for start in range(0, len(stamped), size):
            batch = stamped[start : start + size]
            sequence_numbers = [s.sequence_number for s in batch]
            try:
                value = build_events(fn.trigger, partition, batch)
            except Exception as exc:
                self._failed_before_call(fn, exc)
                error = f"{type(exc).__name__}: {exc}"
                report.append({"sequenceNumbers": sequence_numbers, "status": "Failed", "error": error})
                continue
            detail = f"(partition {partition}, {len(batch)} event(s))"
            result = await self._invoke.invoke(fn, value, durable_client=self._client_for(fn), detail=detail)
            report.append(
                {
                    "invocationId": result.invocation_id,
                    "sequenceNumbers": sequence_numbers,
                    "status": "Succeeded" if result.succeeded else "Failed",
                    "error": result.error_message,
                }
            )
        failed = [n for r in report if r["status"] == "Failed" for n in r["sequenceNumbers"]]
        return web.json_response(
            {
                "function": fn.name,
                "eventHubName": hub,
                "partitionId": partition,
                "cardinality": "many" if many else "one",
                "messages": len(stamped),
                "invocations": report,
                "failedSequenceNumbers": failed,
            }
        )


class DevHostThread:
    """Runs a ``DevHost`` on its own event loop in a background thread (for sync tests).

    ``with DevHostThread(app, state_dir, port=0) as host: requests.get(host.url + "/api/x")``
    """

    def __init__(self, app_path: str | os.PathLike[str], state_dir: str | os.PathLike[str], **kwargs: Any) -> None:
        self.host = DevHost(app_path, state_dir, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.host.url

    @property
    def master_key(self) -> str:
        return self.host.master_key

    @property
    def function_key(self) -> str:
        return self.host.function_key

    def system_key(self, name: str) -> str:
        return self.host.system_key(name)

    def start(self, timeout: float = 60.0) -> DevHostThread:
        if self._thread is not None:
            raise DevHostError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                try:
                    loop.run_until_complete(self.host.start())
                except BaseException as exc:
                    failure.append(exc)
                    return
                finally:
                    ready.set()
                loop.run_forever()
                loop.run_until_complete(self.host.stop())
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        self._thread = threading.Thread(target=run, name="devhost", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise DevHostError(f"devhost did not start within {timeout}s")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def call(self, coro: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine on the host's loop and return its result."""
        if self._loop is None:
            raise DevHostError("not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> DevHostThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
