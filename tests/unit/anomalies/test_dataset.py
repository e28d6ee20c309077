"""The labeled synthetic dataset is deterministic and labels what it injects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.datasets import generate_anomaly_dataset
from emulator.tenant import parse_tenant

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_same_seed_same_rows_and_other_seed_other_rows() -> None:
    a = generate_anomaly_dataset(seed=3, now=NOW, days=3)
    b = generate_anomaly_dataset(seed=3, now=NOW, days=3)
    c = generate_anomaly_dataset(seed=4, now=NOW, days=3)
    assert a.tables == b.tables and a.labels == b.labels
    assert a.tables != c.tables


def test_normal_traffic_is_the_same_with_or_without_injections() -> None:
    injected = generate_anomaly_dataset(seed=3, now=NOW, days=3)
    normal = generate_anomaly_dataset(seed=3, now=NOW, days=3, inject=False)
    assert normal.labels == []
    for table, rows in normal.tables.items():
        # injections only add rows (consumed after the normal ones)
        assert len(injected.tables[table]) >= len(rows)


def test_every_detector_gets_one_label_and_the_tenant_is_valid() -> None:
    dataset = generate_anomaly_dataset(seed=3, now=NOW, days=3)
    assert sorted(label.detector for label in dataset.labels) == sorted(
        [
            "token_spike",
            "request_spike",
            "auth_failure_burst",
            "blocked_prompt_spike",
            "new_caller_ip",
            "key_operation_by_other",
        ]
    )
    spec = parse_tenant(dataset.tenant())
    assert len(spec.subscriptions[0].resource_groups[0].accounts) == 4


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 4 accounts"):
        generate_anomaly_dataset(accounts=2)
