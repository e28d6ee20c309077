"""The key-scan benchmark on a small estate: it runs, and it asserts the call budget."""

from __future__ import annotations

import math

from bench.key_scan import run


def test_the_benchmark_reports_calls_within_budget_on_a_small_estate() -> None:
    result = run(accounts=2_300, subscriptions=5, latency_ms=0, vaults=2, secrets_per_vault=30, baseline_sample=5)
    assert result["calls_resourcegraph_pages"] == math.ceil(result["accounts_in_scope"] / 1000) == 3
    assert result["calls_logs_query"] == 1
    assert result["calls_keyvault_list_pages"] == result["budget_keyvault_list_pages"] == 4  # 2 vaults x ceil(30/25)
    assert result["managed_secrets"] == 60
    assert result["findings_not_in_vault"] > 0 and result["rotation_candidates"] > 0
