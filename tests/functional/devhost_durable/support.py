"""Helpers for the Durable engine tests: an engine with an HTTP server and a client, history shapes.

There is no pytest-asyncio here, so each test runs its scenario with ``asyncio.run(...)``; the
``durable_host`` helper starts the engine and an aiohttp server on 127.0.0.1 port 0 and closes
everything (including the SDK's module-level aiohttp session) when the scenario ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import azure.durable_functions as df
from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from devhost.durable import Clock, DurableEngine
from devhost.durable.history import EventType
from devhost.loader import LoadedApp, load_app

FIXTURE_APP = Path(__file__).resolve().parents[2] / "fixtures" / "durable_app" / "function_app.py"

T = TypeVar("T")


def load_fixture_app() -> LoadedApp:
    return load_app(FIXTURE_APP)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario to completion."""
    return asyncio.run(coro)


@dataclass
class DurableHost:
    engine: DurableEngine
    base_url: str
    client: df.DurableOrchestrationClient
    binding: str


@contextlib.asynccontextmanager
async def durable_host(
    app: LoadedApp,
    store: Path,
    *,
    clock: Clock | None = None,
    system_key: str | None = None,
    activity_concurrency: int = 10,
) -> AsyncIterator[DurableHost]:
    engine = DurableEngine(app, store, clock=clock, activity_concurrency=activity_concurrency)
    web_app = web.Application()
    engine.add_routes(web_app, system_key=system_key)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://127.0.0.1:{port}"
    binding = engine.client_binding_json(base_url)
    await engine.start()
    try:
        yield DurableHost(engine, base_url, df.DurableOrchestrationClient(binding), binding)
    finally:
        await engine.stop()
        await http_utils._close_session()
        await runner.cleanup()


def shape(history: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """A history as (event type, id) pairs: the id is EventId for scheduled events, the id
    being completed for completions (TaskScheduledId / TimerId), the name for EventRaised."""
    out: list[tuple[str, Any]] = []
    for event in history:
        etype = EventType(event["EventType"])
        if etype in (EventType.TaskCompleted, EventType.TaskFailed) or etype in (
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            ref: Any = event["TaskScheduledId"]
        elif etype == EventType.TimerFired:
            ref = event["TimerId"]
        elif etype == EventType.EventRaised:
            ref = event["Name"]
        else:
            ref = event["EventId"]
        out.append((etype.name, ref))
    return out


def episode(*events: tuple[str, Any]) -> list[tuple[str, Any]]:
    """One episode's expected shape: OrchestratorStarted, the events, OrchestratorCompleted."""
    return [("OrchestratorStarted", -1), *events, ("OrchestratorCompleted", -1)]
