"""Run the Durable engine on its own: ``python -m devhost.durable.runner --app APP --store DB``.

Serves the Durable HTTP API on ``--host``/``--port`` (port 0 picks a free one) and prints one JSON
line on stdout once ready: ``{"base_url": ..., "client_binding": ...}`` (the binding is what a
``durableClient`` parameter would receive). SIGTERM/SIGINT stop it cleanly; SIGKILL is safe too:
the next start resumes every orchestration from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

from aiohttp import web

from devhost.durable.engine import DurableEngine
from devhost.loader import load_app

__all__ = ["main", "serve"]


async def serve(args: argparse.Namespace) -> None:
    app = load_app(args.app)
    engine = DurableEngine(app, args.store, task_hub=args.task_hub, activity_concurrency=args.activity_concurrency)
    web_app = web.Application()
    engine.add_routes(web_app, system_key=args.system_key)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://{args.host}:{port}"
    binding = engine.client_binding_json(base_url)
    await engine.start()
    print(json.dumps({"base_url": base_url, "client_binding": binding}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await engine.stop()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost.durable.runner", description=__doc__)
    parser.add_argument("--app", required=True, help="path to function_app.py")
    parser.add_argument("--store", required=True, help="path of the SQLite store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--task-hub", default="WardenHub")
    parser.add_argument("--activity-concurrency", type=int, default=10)
    parser.add_argument("--system-key", default=None, help="key required on the webhook routes")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
