"""Anomaly detectors on the labeled synthetic dataset: precision and recall per detector.

Each trial generates ``emulator.datasets.generate_anomaly_dataset`` (14 days of seasonal traffic
on 4 accounts, every detector's anomaly injected once), loads it into the emulator and runs
Warden's real detectors (``shared.anomalies.run_detectors``) through the real LogsQueryClient
with the shipped ``policy.yaml``. A finding matching a label (``label_matches``: detector,
account, bucket / caller IP) is a true positive; any other finding a false positive; a label
with no finding a false negative. Each trial also runs the same seed with ``inject=False``
(every finding there is a false positive).

Two series: ``standard`` (injected magnitude 1.0) and ``weak`` (magnitude drawn from
[0.02, 1.0] per trial: smaller spikes and bursts, some below the policy thresholds on purpose,
so recall there says how strong an anomaly must be to be seen).

``python -m bench anomalies [--quick]``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator import Emulator
from emulator.datasets import AnomalyDataset, generate_anomaly_dataset, label_matches
from emulator.datasets.anomalies import SUBSCRIPTION_ID, WARDEN_PRINCIPAL_ID, WORKSPACE_ID
from emulator.transport import EmulatorTransport
from shared.anomalies.detectors import DETECTORS
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.azure.logs import AzureLogs
from shared.policy import Policy, load_policy
from shared.settings import load_settings
from shared.usecases.anomalies import run_detectors

POLICY = Path(__file__).resolve().parents[1] / "policy.yaml"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _detect(dataset: AnomalyDataset, policy: Policy) -> list[tuple[str, str, dict[str, Any]]]:
    emulator = Emulator(dataset.tenant(), seed=dataset.seed)
    settings = load_settings(
        subscription_ids=[SUBSCRIPTION_ID],
        log_analytics_workspace_id=WORKSPACE_ID,
        emulator_url=None,
        notify_topic_endpoint=None,
        notify_topic_key=None,
    )
    clients = AzureClients(settings, credential=StaticTokenCredential(), transport=EmulatorTransport(emulator))
    try:
        report = run_detectors(AzureLogs(clients), policy, now=dataset.now, warden_principal_id=WARDEN_PRINCIPAL_ID)
    finally:
        clients.close()
    if report.errors:
        raise RuntimeError(f"detectors failed: {report.errors}")
    return [(f.kind, str(f.resource), dict(f.evidence)) for f in report.findings]


def _score(tp: Counter[str], fp: Counter[str], fn: Counter[str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for detector in (d.name for d in DETECTORS):
        found = tp[detector] + fp[detector]
        labelled = tp[detector] + fn[detector]
        out[f"{prefix}.{detector}.precision"] = round(tp[detector] / found, 3) if found else 1.0
        out[f"{prefix}.{detector}.recall"] = round(tp[detector] / labelled, 3) if labelled else 1.0
    return out


def _series(seeds: list[int], policy: Policy, weak: bool) -> tuple[Counter[str], Counter[str], Counter[str]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for seed in seeds:
        magnitude = random.Random(seed * 7919).uniform(0.02, 1.0) if weak else 1.0  # nosec B311 # simulated data
        dataset = generate_anomaly_dataset(seed=seed, now=NOW, magnitude=magnitude)
        findings = _detect(dataset, policy)
        matched: set[int] = set()
        for label in dataset.labels:
            hits = [i for i, (k, r, e) in enumerate(findings) if label_matches(label, k, r, e)]
            if hits:
                tp[label.detector] += 1
                matched.update(hits)
            else:
                fn[label.detector] += 1
        for i, (kind, _, _) in enumerate(findings):
            if i not in matched:
                fp[kind.removeprefix("anomaly:")] += 1
        if not weak:  # the same traffic without injections: everything found is a false positive
            for kind, _, _ in _detect(generate_anomaly_dataset(seed=seed, now=NOW, inject=False), policy):
                fp[kind.removeprefix("anomaly:")] += 1
    return tp, fp, fn


def run(quick: bool = False) -> dict[str, Any]:
    """Precision/recall per detector over ``2`` (quick) or ``20`` seeds, both series."""
    policy = load_policy(POLICY)
    seeds = list(range(1, 3 if quick else 21))
    started = time.perf_counter()
    metrics: dict[str, Any] = {"trials": len(seeds)}
    for name, weak in (("standard", False), ("weak", True)):
        tp, fp, fn = _series(seeds, policy, weak)
        metrics.update(_score(tp, fp, fn, name))
        metrics[f"{name}.false_positives"] = sum(fp.values())
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return metrics


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(quick=False), indent=2))
