"""Run Warden's benchmarks: ``python -m bench [NAME ...] [--quick]``.

Each benchmark module exposes ``run(quick: bool) -> dict[str, Any]`` returning flat metrics.
Results go to stdout as a table and to ``bench/results.json`` (with machine facts).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# name -> module; each module has run(quick: bool) -> dict[str, Any]
BENCHMARKS: dict[str, str] = {
    "intake": "bench.intake",
    "storm": "bench.storm",
    "key_scan": "bench.key_scan",
    "scan": "bench.scan",
    "orchestration": "bench.orchestration",
    "anomalies": "bench.anomalies",
}

RESULTS = Path(__file__).with_name("results.json")


def _table(name: str, metrics: dict[str, Any]) -> str:
    width = max((len(k) for k in metrics), default=0)
    lines = [f"== {name} =="]
    for key, value in metrics.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        lines.append(f"  {key.ljust(width)}  {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    chosen = args.names or list(BENCHMARKS)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "quick": args.quick,
        "benchmarks": {},
    }
    for name in chosen:
        module = importlib.import_module(BENCHMARKS[name])
        started = time.perf_counter()
        metrics = module.run(quick=args.quick)
        metrics["bench_wall_s"] = round(time.perf_counter() - started, 3)
        results["benchmarks"][name] = metrics
        print(_table(name, metrics), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
