"""(b) scan: the estate key-age scan at 1k / 10k / 50k accounts with 50 ms injected latency.

Reports API calls by type, wall time, and the share of ARM's per-subscription read budget the
scan uses: a subscription's read bucket holds 250 requests and refills 25 per second
(learn.microsoft.com "request limits and throttling"); the scan reads accounts through Resource
Graph, which has its own per-user quota, so its ARM reads per subscription are 0. The naive
per-account ARM scan is reported beside it (extrapolated from a sample timed in the same run).
"""

from __future__ import annotations

import math
from typing import Any

from bench import key_scan

ARM_READ_BUCKET = 250


def run(quick: bool = False) -> dict[str, Any]:
    sizes = (1_000,) if quick else (1_000, 10_000, 50_000)
    out: dict[str, Any] = {}
    for accounts in sizes:
        subscriptions = 50
        metrics = key_scan.run(accounts=accounts, subscriptions=subscriptions, latency_ms=50)
        label = f"{accounts // 1000}k"
        scan_arm_reads_per_sub = 0  # nothing but Resource Graph, Log Analytics and Key Vault
        naive_reads_per_sub = math.ceil(metrics["accounts_in_scope"] / subscriptions)
        out[f"{label}_accounts_in_scope"] = metrics["accounts_in_scope"]
        out[f"{label}_calls_total"] = metrics["calls_total"]
        out[f"{label}_resourcegraph_pages"] = metrics["calls_resourcegraph_pages"]
        out[f"{label}_logs_queries"] = metrics["calls_logs_query"]
        out[f"{label}_keyvault_list_pages"] = metrics["calls_keyvault_list_pages"]
        out[f"{label}_scan_wall_s"] = metrics["scan_wall_s"]
        out[f"{label}_arm_read_budget_share"] = round(scan_arm_reads_per_sub / ARM_READ_BUCKET, 3)
        out[f"{label}_naive_wall_s_estimate"] = metrics["naive_per_account_wall_s_estimate"]
        out[f"{label}_naive_arm_read_budget_share"] = round(naive_reads_per_sub / ARM_READ_BUCKET, 2)
        out[f"{label}_speedup_vs_naive"] = metrics["speedup_vs_naive"]
    return out
