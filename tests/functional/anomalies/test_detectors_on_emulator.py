"""The detectors through the real LogsQueryClient against the emulator seeded with the labeled
dataset: every injected anomaly is found, normal traffic raises nothing, one query per detector."""

from __future__ import annotations

import asyncio

from emulator.datasets import label_matches
from emulator.datasets.anomalies import WARDEN_PRINCIPAL_ID
from shared.anomalies.detectors import DETECTORS
from shared.azure.logs import AzureLogs
from shared.policy import Policy
from shared.storage.memory import MemoryIdempotencyStore, MemoryIncidentFindingsStore, MemoryOpenIncidentStore
from shared.usecases.anomalies import DetectionReport, ingest_findings, run_detectors
from shared.usecases.intake import IngestStatus, IntakeDeps
from tests.fakes import FakeOrchestrations
from tests.functional.anomalies.conftest import NOW, Estate


def _run(estate: Estate, policy: Policy) -> DetectionReport:
    return run_detectors(AzureLogs(estate.clients), policy, now=NOW, warden_principal_id=WARDEN_PRINCIPAL_ID)


def test_every_injected_anomaly_is_found_and_nothing_else(injected: Estate, policy: Policy) -> None:
    report = _run(injected, policy)
    assert report.errors == {} and report.problems == []
    labels = injected.dataset.labels
    assert {label.detector for label in labels} == {d.name for d in DETECTORS}
    for label in labels:
        found = [f for f in report.findings if label_matches(label, f.kind, str(f.resource), f.evidence)]
        assert len(found) == 1, f"{label} found {len(found)} times in {report.kinds()}"
    assert len(report.findings) == len(labels), report.kinds()


def test_normal_traffic_raises_no_finding(normal: Estate, policy: Policy) -> None:
    report = _run(normal, policy)
    assert report.errors == {}
    assert report.findings == []
    assert sorted(report.ran) == sorted(d.name for d in DETECTORS)


def test_each_detector_costs_one_log_analytics_query(injected: Estate, policy: Policy) -> None:
    injected.emulator.reset_counters()
    report = _run(injected, policy)
    assert report.queries == len(DETECTORS) == injected.emulator.calls("logs.query")


def test_findings_carry_value_baseline_score_and_window(injected: Estate, policy: Policy) -> None:
    spike = next(f for f in _run(injected, policy).findings if f.kind == "anomaly:token_spike")
    evidence = spike.evidence
    assert evidence["value"] > evidence["baseline"] > 0
    assert evidence["score"] > policy.anomalies.token_spike.score_threshold
    assert evidence["window"]["baseline_from"] < evidence["bin_start"] < evidence["window"]["until"]


def test_a_partial_result_is_reported_not_used(injected: Estate, policy: Policy) -> None:
    injected.emulator.inject_fault("logs.query", "partial", count=len(DETECTORS), keep_rows=0)
    try:
        report = _run(injected, policy)
    finally:
        injected.emulator.clear_faults()
    assert report.findings == []
    assert set(report.errors) == {d.name for d in DETECTORS}


def test_a_second_run_ingests_nothing_new(injected: Estate, policy: Policy) -> None:
    starter = FakeOrchestrations()
    deps = IntakeDeps(MemoryIdempotencyStore(), MemoryOpenIncidentStore(), MemoryIncidentFindingsStore(), starter)
    first = asyncio.run(ingest_findings(_run(injected, policy).findings, deps, now=NOW))
    second = asyncio.run(ingest_findings(_run(injected, policy).findings, deps, now=NOW))
    assert first.errors == [] and second.errors == []
    statuses = first.statuses()
    # four accounts have findings: one incident each, the rest joined
    assert statuses.get(IngestStatus.OPENED.value) == 4
    assert second.statuses() == {IngestStatus.DUPLICATE.value: len(injected.dataset.labels)}
