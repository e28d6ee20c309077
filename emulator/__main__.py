"""``python -m emulator --tenant PATH [--host 127.0.0.1] [--port 0] [--ready-file F]``.

Loads the tenant, serves the emulator on a loopback address, prints its URL on the first line
of standard output, and (with ``--ready-file``) writes the URL to that file once the port is
bound (written atomically, so a reader never sees a partial URL). Stops on SIGINT/SIGTERM.
Exit code 2 for a bad tenant file or a non-loopback host.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from pathlib import Path

from emulator import DEMO_TENANT
from emulator.core import Emulator
from emulator.server import EmulatorServer
from emulator.tenant import TenantError, load_tenant


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", type=Path, default=DEMO_TENANT, help="tenant YAML file (default: the demo)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once serving")
    parser.add_argument("--seed", type=int, help="seed for generated keys (reproducible runs)")
    parser.add_argument("--throttling", action="store_true", help="enforce ARM's token buckets (429s)")
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        print(f"error: --host {args.host!r} is not a loopback address", file=sys.stderr)
        return 2
    try:
        tenant = load_tenant(args.tenant)
    except TenantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(tenant, seed=args.seed, throttling=args.throttling)
    server = EmulatorServer(emulator, host=args.host, port=args.port).start()
    url = server.url
    print(url, flush=True)
    if args.ready_file is not None:
        tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
        tmp.write_text(url + "\n", encoding="utf-8")
        os.replace(tmp, args.ready_file)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
