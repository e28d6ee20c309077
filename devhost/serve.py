"""``devhost.serve``: run devhost in the foreground until SIGTERM/SIGINT.

``python -m devhost.serve --app function_app.py …`` is the same as ``python -m devhost serve …``;
from Python, ``serve(app_path, state_dir, port=…)`` blocks and ``serve_async`` is awaitable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from devhost.server import DevHost

__all__ = ["main", "serve", "serve_async"]


async def serve_async(app_path: str | os.PathLike[str], state_dir: str | os.PathLike[str], **options: Any) -> None:
    """Start a ``DevHost``, print its URL, keys and functions, and run until a stop signal."""
    host = DevHost(app_path, state_dir, **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await host.start()
        for line in host.banner():
            print(line, flush=True)
        await stop.wait()
        logging.getLogger("devhost").info("devhost: stopping")
    finally:
        await host.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def serve(app_path: str | os.PathLike[str], state_dir: str | os.PathLike[str], **options: Any) -> int:
    """Blocking form of ``serve_async``; returns the process exit code."""
    try:
        asyncio.run(serve_async(app_path, state_dir, **options))
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m devhost.serve [serve options]``."""
    from devhost.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
