"""``warden scan``: a read-only look at the estate — inventory, key age, posture.

Runs the same code as the Function App's scheduled key-age scan and posture sweep, against the
subscriptions in ``WARDEN_SUBSCRIPTION_IDS`` with ``DefaultAzureCredential`` (or the emulator
with ``WARDEN_EMULATOR_URL``), and prints the findings. It changes nothing: no rotation, no
incident, no write to Azure or to Table Storage.

Needs Reader-level access: Resource Graph and account reads on the subscriptions, Log Analytics
Reader on ``WARDEN_LOG_ANALYTICS_WORKSPACE_ID`` (key operations; optional), "Key Vault Secrets
User"-level metadata listing on ``WARDEN_KEY_VAULTS`` (optional).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from shared.finding import Finding

__all__ = ["ScanOutcome", "render_table", "run_scan"]


@dataclass
class ScanOutcome:
    accounts: int = 0
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "findings": [f.model_dump(mode="json") for f in self.findings],
            "counts": dict(Counter(f.kind for f in self.findings)),
            "problems": self.problems,
            "calls": self.calls,
            "phase_seconds": self.phases,
        }


@contextmanager
def _progress(label: str, out: TextIO, enabled: bool, phases: dict[str, float]) -> Iterator[None]:
    """A one-line progress indicator with elapsed seconds (on a terminal), and the phase's time."""
    started = time.monotonic()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5):
            out.write(f"\r  {label} … {time.monotonic() - started:5.1f}s")
            out.flush()

    ticker = threading.Thread(target=tick, daemon=True) if enabled else None
    if ticker is not None:
        ticker.start()
    try:
        yield
    finally:
        stop.set()
        if ticker is not None:
            ticker.join()
        phases[label] = round(time.monotonic() - started, 3)
        if enabled:
            out.write(f"\r  {label} ✓ {phases[label]:5.1f}s\n")
            out.flush()


def run_scan(*, progress: bool = False, err: TextIO = sys.stderr) -> ScanOutcome:
    """Inventory + key-age scan + posture sweep (read-only). Raises on unreadable sources."""
    from shared.bootstrap import container, read_only_keys_ports
    from shared.usecases.estate_sweep import run_sweep
    from shared.usecases.key_hygiene import run_key_scan

    c = container()
    settings = c.settings
    config = c.keys
    logs = c.logs
    outcome = ScanOutcome()
    # Read-only ports: the key scan only lists and queries; its in-process stores are never touched.
    ports = read_only_keys_ports(c.clients, logs=logs if logs is not None else _NoLogs())
    if logs is not None:
        with _progress("inventory and key age", err, progress, outcome.phases):
            keys = run_key_scan(
                ports,
                subscriptions=settings.subscription_ids,
                vaults=config.vault_urls,
                window=config.activity_window,
                policy=config.policy,
                warden_principal_id=settings.identity_principal_id,
            )
        outcome.findings.extend(keys.findings)
        outcome.problems.extend(keys.problems)
        outcome.accounts = keys.stats.get("accounts", 0)
    else:
        outcome.problems.append("key age skipped: WARDEN_LOG_ANALYTICS_WORKSPACE_ID is not set")
    with _progress("posture and model allowlist", err, progress, outcome.phases):
        sweep = run_sweep(
            inventory=ports.inventory,
            cognitive=ports.cognitive,
            posture=c.posture,
            logs=logs,
            policy=c.policy,
            subscriptions=settings.subscription_ids,
            now=datetime.now(UTC),
        )
    seen = {f.dedupe_key for f in outcome.findings}
    outcome.findings.extend(f for f in sweep.findings if f.dedupe_key not in seen)
    outcome.problems.extend(sweep.problems)
    outcome.accounts = max(outcome.accounts, sweep.accounts)
    outcome.calls = dict(sweep.calls)
    return outcome


class _NoLogs:
    def run(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:  # pragma: no cover - guarded above
        raise RuntimeError("no Log Analytics workspace configured")


def render_table(outcome: ScanOutcome, write: Callable[[str], None]) -> None:
    """Findings as an aligned table, most severe first, then a summary."""
    rows = sorted(outcome.findings, key=lambda f: (-f.severity.rank, f.kind, str(f.resource or "")))
    headers = ("SEVERITY", "KIND", "RESOURCE", "TITLE")
    table = [(f.severity.value, f.kind, _short(str(f.resource or "-")), f.title[:70].replace("\n", " ")) for f in rows]
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(headers[:3])]
    write("  ".join(h.ljust(w) for h, w in zip(headers[:3], widths, strict=True)) + "  " + headers[3])
    for row in table:
        write("  ".join(v.ljust(w) for v, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    counts = Counter(f.severity.value for f in rows)
    summary = ", ".join(f"{counts[s]} {s.lower()}" for s in ("High", "Medium", "Low", "Informational") if counts[s])
    write(f"\n{outcome.accounts} AI account(s) scanned; {len(rows)} finding(s){': ' + summary if summary else ''}")
    for problem in outcome.problems:
        write(f"note: {problem}")


def _short(resource: str) -> str:
    """``sub/rg/account[/deployment]`` instead of the full ARM id."""
    parts = resource.strip("/").split("/")
    if len(parts) >= 8 and parts[0].lower() == "subscriptions":
        tail = "/".join(parts[7:])
        tail = tail.replace("deployments/", "")
        return f"{parts[1][:8]}…/{parts[3]}/{tail}"
    return resource


def dump_json(outcome: ScanOutcome) -> str:
    return json.dumps(outcome.as_json(), indent=2, default=str)
