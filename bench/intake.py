"""Intake benchmarks: the Event Grid alert path, and a storm of duplicate alerts.

(a) **intake**: alerts per second and CPU microseconds per alert through Warden's alert path
    (size check, JSON decode, format detection, validation, normalization, dedupe record,
    correlation claim, incident start), as a ratio to ``json.loads`` of the same payloads
    measured in the same run. Two variants: the core path on in-memory stores (what Warden's
    own code costs), and the same path on Table Storage (Azurite) to show where time goes.
(d) **storm**: 10,000 deliveries of the SAME alert (Event Grid redelivers; several export paths)
    → exactly one incident; time to absorb them, on Azurite.

``python -m bench intake`` / ``python -m bench storm`` (``bench/storm.py``); ``--quick`` uses smaller sizes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from shared.ports.durable import OrchestrationStatus
from shared.ports.stores import QuarantineStore
from shared.storage.cache import CompletedCache
from shared.storage.memory import (
    MemoryIdempotencyStore,
    MemoryIncidentFindingsStore,
    MemoryOpenIncidentStore,
    MemoryQuarantineStore,
    MemoryWatermarkStore,
)
from shared.storage.tables import (
    TableIdempotencyStore,
    TableIncidentFindingsStore,
    TableOpenIncidentStore,
    TableQuarantineStore,
)
from shared.usecases.alerts import AlertDeps, take_alerts
from shared.usecases.intake import IntakeDeps

JAILBREAK = "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"
MAX_BYTES = 1_048_576


class CountingOrchestrations:
    """Stands in for the durable client (its HTTP round trip is measured by the e2e tests)."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def start(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        self.started.append(instance_id)

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        return OrchestrationStatus("Running")

    async def raise_event(self, instance_id: str, event: str, payload: dict[str, Any]) -> None:
        return None


def _alerts(n: int) -> list[bytes]:
    from tests.alertgen import alert_id_for, deployment_resource_id, make_alert

    return [
        json.dumps(
            make_alert(
                JAILBREAK,
                "workflow_automation",
                system_alert_id=alert_id_for(f"bench-{i}"),
                resource_id=deployment_resource_id(deployment=f"dep-{i % 50}"),
            )
        ).encode()
        for i in range(n)
    ]


def _measure(fn: Any, payloads: list[bytes]) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    fn(payloads)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def _take_all(deps: AlertDeps, payloads: list[bytes]) -> None:
    from datetime import UTC, datetime

    async def go() -> None:
        now = datetime.now(UTC)
        for payload in payloads:
            await take_alerts(payload, source="eventgrid", deps=deps, now=now)

    asyncio.run(go())


def _alert_deps(intake: IntakeDeps, quarantine: QuarantineStore) -> AlertDeps:
    return AlertDeps(
        intake=intake, quarantine=quarantine, watermarks=MemoryWatermarkStore(), logs=None, max_bytes=MAX_BYTES
    )


def _memory_deps() -> tuple[AlertDeps, CountingOrchestrations]:
    orchestrations = CountingOrchestrations()
    intake = IntakeDeps(
        seen=MemoryIdempotencyStore(),
        open_incidents=MemoryOpenIncidentStore(),
        findings=MemoryIncidentFindingsStore(),
        orchestrations=orchestrations,
    )
    return _alert_deps(intake, MemoryQuarantineStore()), orchestrations


def _table_deps(connection_string: str) -> tuple[AlertDeps, CountingOrchestrations]:
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(connection_string)
    orchestrations = CountingOrchestrations()
    intake = IntakeDeps(
        seen=CompletedCache(TableIdempotencyStore(service)),  # as Container.seen_findings
        open_incidents=TableOpenIncidentStore(service),
        findings=TableIncidentFindingsStore(service),
        orchestrations=orchestrations,
    )
    return _alert_deps(intake, TableQuarantineStore(service)), orchestrations


def run(quick: bool = False) -> dict[str, Any]:
    """(a) the alert path vs json.loads, in memory and on Azurite."""
    from devhost.azurite import Azurite

    n = 500 if quick else 5000
    payloads = _alerts(n)
    _, base_cpu = _measure(lambda ps: [json.loads(p) for p in ps], payloads)
    deps, started = _memory_deps()
    mem_wall, mem_cpu = _measure(lambda ps: _take_all(deps, ps), payloads)
    table_n = min(n, 1000)
    with Azurite() as azurite:
        tdeps, _ = _table_deps(azurite.table_connection_string)
        tab_wall, tab_cpu = _measure(lambda ps: _take_all(tdeps, ps), payloads[:table_n])
    return {
        "alerts": n,
        "json_loads_us_per_alert_cpu": round(base_cpu / n * 1e6, 2),
        "core_path_alerts_per_s": round(n / mem_wall, 1),
        "core_path_us_per_alert_cpu": round(mem_cpu / n * 1e6, 1),
        "core_path_cpu_ratio_to_json_loads": round(mem_cpu / max(base_cpu, 1e-9), 1),
        "azurite_alerts": table_n,
        "azurite_path_alerts_per_s": round(table_n / tab_wall, 1),
        "azurite_path_us_per_alert_cpu": round(tab_cpu / table_n * 1e6, 1),
        "incidents_started_core": len(started.started),
    }


def run_storm(quick: bool = False) -> dict[str, Any]:
    """(d) N deliveries of one alert → one incident, on Azurite."""
    from devhost.azurite import Azurite

    n = 1000 if quick else 10_000
    (payload,) = _alerts(1)
    with Azurite() as azurite:
        deps, started = _table_deps(azurite.table_connection_string)
        wall, cpu = _measure(lambda ps: _take_all(deps, ps), [payload] * n)
        incidents = len(started.started)
    if incidents != 1:
        raise AssertionError(f"storm of {n} duplicates started {incidents} incidents, expected exactly 1")
    return {
        "duplicate_deliveries": n,
        "incidents": incidents,
        "absorb_wall_s": round(wall, 2),
        "deliveries_per_s": round(n / wall, 1),
        "us_per_delivery_cpu": round(cpu / n * 1e6, 1),
    }
