"""``python -m devhost``: ``serve`` the app, or ``eventhub send`` messages to a running host."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devhost.keys import ENV_MASTER_KEY

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description="Warden's local Functions host.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="host function_app.py (HTTP, Event Grid, Event Hub, timers)")
    serve.add_argument("--app", default="function_app.py", help="the app module (default: function_app.py)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port (default: 7071; 0 picks a free one)")
    serve.add_argument("--state-dir", default=".warden/devhost", help="keys, timer status, durable store")
    serve.add_argument("--env-file", help="app settings: local.settings.json or KEY=VALUE lines")
    serve.add_argument("--ready-file", help="write {url, keys} here (JSON, 0600) once serving")
    serve.add_argument("--max-body-size", type=int, help="request body limit in bytes (default 100 MB)")
    serve.add_argument("--log-level", default="INFO", help="devhost log level (default INFO)")

    eventhub = sub.add_parser("eventhub", help="Event Hub trigger helpers")
    eh_sub = eventhub.add_subparsers(dest="eventhub_command", required=True)
    send = eh_sub.add_parser("send", help="send a JSON file of messages to an eventHubTrigger function")
    send.add_argument("function", help="the function name")
    send.add_argument("file", help="JSON: an array of messages, or {\"events\": [...]}; '-' for stdin")
    send.add_argument("--endpoint", help="devhost URL (default: from --ready-file, else http://127.0.0.1:7071)")
    send.add_argument("--master-key", help=f"master key (default: env {ENV_MASTER_KEY} or --ready-file)")
    send.add_argument("--ready-file", help="a ready file written by 'serve --ready-file'")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from devhost.serve import serve

    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=args.log_level.upper(), format=log_format)
    options: dict[str, Any] = {"host": args.host, "port": args.port}
    if args.env_file:
        options["env_file"] = args.env_file
    if args.ready_file:
        options["ready_file"] = args.ready_file
    if args.max_body_size:
        options["max_request_body_size"] = args.max_body_size
    from devhost.loader import AppLoadError
    from devhost.server import DevHostError

    try:
        return serve(args.app, args.state_dir, **options)
    except (AppLoadError, DevHostError, ValueError, OSError) as exc:
        # Load errors name the function and binding; OSError covers a port already in use.
        print(f"devhost serve: error: {exc}", file=sys.stderr)
        return 1


def send_eventhub(endpoint: str, master_key: str, function: str, payload: Any, timeout: float = 300.0) -> Any:
    """POST ``payload`` to the devhost Event Hub feed; returns the per-invocation report.

    Raises ``RuntimeError`` with the host's message on a non-200 answer.
    """
    url = f"{endpoint.rstrip('/')}/admin/devhost/eventhub/{urllib.parse.quote(function)}"
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own devhost
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "x-functions-key": master_key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 # http(s) endpoint given by the operator
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise RuntimeError(f"devhost answered {exc.code} for {url}: {detail or exc.reason}") from exc


def _eventhub_send(args: argparse.Namespace) -> int:
    ready: dict[str, Any] = {}
    if args.ready_file:
        ready = json.loads(Path(args.ready_file).read_text(encoding="utf-8"))
    endpoint = args.endpoint or ready.get("url") or "http://127.0.0.1:7071"
    key = args.master_key or os.environ.get(ENV_MASTER_KEY) or ready.get("masterKey")
    if not key:
        print(f"error: give --master-key, set {ENV_MASTER_KEY}, or pass --ready-file", file=sys.stderr)
        return 2
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"error: {args.file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        report = send_eventhub(endpoint, key, args.function, payload)
    except (RuntimeError, urllib.error.URLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 1 if report.get("failedSequenceNumbers") else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _eventhub_send(args)
