"""Key-age scan at estate scale: API calls by type and wall time, against the call budget.

``run(accounts=10_000, subscriptions=50, latency_ms=50)`` builds a synthetic tenant in the
emulator (``emulator.generate_tenant``) plus Key Vaults holding some accounts' keys under the
dual-credential convention and an AzureActivity history of key operations, injects
``latency_ms`` of latency on every emulated API call, and runs Warden's real key scan
(``shared.keys.service.run_key_scan``) through the real SDK clients.

The budget it asserts: ceil(N/1000) Resource Graph pages (N = accounts in scope) + 1 Log
Analytics query + 1 listing per vault (each listing is ceil(secrets/25) pages, Key Vault's page
size). For a baseline measured in the same run it times the naive approach (one ARM read per
account) on a sample and extrapolates to N, and reports the ratio.

``python -m bench.key_scan [--accounts N] [--subscriptions S] [--latency-ms L]`` prints the result
as JSON. ``run(quick=True)`` is the small size used by ``python -m bench --quick``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator import Emulator, generate_tenant
from emulator.tenant import (
    SecretSpec,
    SecretValueFromSpec,
    TenantSpec,
    VaultSpec,
    WorkspaceSpec,
    account_arm_id,
)
from emulator.transport import EmulatorTransport
from shared.azure.clients import AzureClients, StaticTokenCredential
from shared.bootstrap import keys_ports_for
from shared.keys.policy import KeyPolicy
from shared.resource_ids import AccountId
from shared.settings import load_settings
from shared.storage.memory import MemoryAuditStore, MemoryIdempotencyStore, MemoryQuarantineStore
from shared.usecases.key_hygiene import run_key_scan

__all__ = ["run"]

WORKSPACE_ID = "7c1d0e2f-0000-4000-8000-0000000be7c4"
WARDEN = "5b7e6f0a-0000-4000-8000-00000000beef"
TOKEN = "warden-bench-token"  # noqa: S105 - a fake token for the emulator  # nosec B105 # an identifier, not a secret
KEYVAULT_PAGE = 25
IN_SCOPE = ("OpenAI", "AIServices")


def _tenant(
    accounts: int, subscriptions: int, vaults: int, secrets_per_vault: int
) -> tuple[TenantSpec, list[str], list[str]]:
    spec = generate_tenant(accounts=accounts, subscriptions=subscriptions, seed=1)
    in_scope: list[str] = []
    for sub in spec.subscriptions:
        sub.activity_log_workspace = "law-bench"
        for rg in sub.resource_groups:
            for account in rg.accounts:
                if account.kind in IN_SCOPE and not account.disable_local_auth:
                    in_scope.append(account_arm_id(sub.id, rg.name, account.name))
    home = spec.subscriptions[0].resource_groups[0]
    home.workspaces = [
        WorkspaceSpec.model_construct(name="law-bench", customer_id=WORKSPACE_ID, location=None, tables={})
    ]
    managed = in_scope[: vaults * secrets_per_vault]
    vault_specs = []
    for v in range(vaults):
        chunk = managed[v * secrets_per_vault : (v + 1) * secrets_per_vault]
        vault_specs.append(
            VaultSpec.model_construct(
                name=f"kv-bench-{v:02d}",
                location=None,
                secrets=[
                    SecretSpec.model_construct(
                        name=f"key-{AccountId.parse(aid).name}",
                        value=None,
                        value_from=SecretValueFromSpec.model_construct(account=aid, key="key1"),
                        content_type=None,
                        tags={"CredentialId": "key1", "ProviderAddress": aid, "ValidityPeriodDays": "60"},
                        enabled=True,
                        expires=None if i % 10 == 0 else datetime.now(UTC) + timedelta(days=30),
                        not_before=None,
                    )
                    for i, aid in enumerate(chunk)
                ],
            )
        )
    home.vaults = vault_specs
    return spec, in_scope, [f"https://kv-bench-{v:02d}.vault.azure.net" for v in range(vaults)]


def _activity_rows(in_scope: list[str], now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index, aid in enumerate(in_scope):
        if index % 3 == 0:  # a third regenerated key1 at some point in the window
            age = timedelta(days=(index % 150) + 1)
            rows.append(
                _row(aid, "regenerateKey", now - age, caller=WARDEN, body={"keyName": "Key1"}, cid=f"r-{index}")
            )
        if index % 50 == 0:  # a few apps list keys themselves
            rows.append(
                _row(
                    aid,
                    "listKeys",
                    now - timedelta(hours=index % 48 + 1),
                    caller=f"app-sp-{index}",
                    body=None,
                    cid=f"l-{index}",
                )
            )
    return rows


def _row(aid: str, op: str, when: datetime, *, caller: str, body: dict[str, Any] | None, cid: str) -> dict[str, Any]:
    props: dict[str, Any] = {"statusCode": "OK"}
    if body is not None:
        props["requestbody"] = json.dumps(body)
    return {
        "TimeGenerated": when,
        "OperationNameValue": f"MICROSOFT.COGNITIVESERVICES/ACCOUNTS/{op.upper()}/ACTION",
        "ActivityStatusValue": "Success",
        "CategoryValue": "Administrative",
        "Caller": caller,
        "CallerIpAddress": "198.51.100.7",
        "CorrelationId": cid,
        "ResourceId": aid.upper(),
        "SubscriptionId": aid.split("/")[2],
        "Properties_d": props,
    }


def run(
    accounts: int = 10_000,
    subscriptions: int = 50,
    latency_ms: int = 50,
    *,
    quick: bool = False,
    vaults: int = 4,
    secrets_per_vault: int = 50,
    baseline_sample: int = 50,
) -> dict[str, Any]:
    """Run the benchmark; returns flat metrics. Raises ``AssertionError`` if the budget is broken."""
    if quick:
        accounts, subscriptions, vaults, secrets_per_vault, baseline_sample = 1_500, 10, 2, 30, 20
    spec, in_scope_ids, vault_urls = _tenant(accounts, subscriptions, vaults, secrets_per_vault)
    emulator = Emulator(spec, seed=1, arm_page_size=1000)
    emulator.principals[TOKEN] = WARDEN
    now = datetime.now(UTC)
    emulator.append_rows(WORKSPACE_ID, "AzureActivity", _activity_rows(in_scope_ids, now))
    settings = load_settings(
        subscription_ids=[s.id for s in spec.subscriptions],
        log_analytics_workspace_id=WORKSPACE_ID,
        identity_principal_id=WARDEN,
    )
    clients = AzureClients(settings, credential=StaticTokenCredential(TOKEN), transport=EmulatorTransport(emulator))
    ports = keys_ports_for(
        clients,
        idempotency=MemoryIdempotencyStore(),
        quarantine=MemoryQuarantineStore(),
        audit=MemoryAuditStore(),
        polling_interval=0,
    )
    if latency_ms > 0:
        emulator.inject_fault("*", "latency", latency=latency_ms / 1000, probability=1.0)
    emulator.reset_counters()
    started = time.perf_counter()
    result = run_key_scan(
        ports,
        subscriptions=settings.subscription_ids,
        vaults=vault_urls,
        window=timedelta(days=90),
        policy=KeyPolicy(),
        warden_principal_id=WARDEN,
    )
    wall = time.perf_counter() - started
    calls = {api: n for api, n in sorted(emulator.counts()["calls"].items()) if n}

    in_scope = result.stats["accounts"]
    rg_budget = math.ceil(in_scope / 1000)
    managed_counts = [len(spec.subscriptions[0].resource_groups[0].vaults[v].secrets) for v in range(vaults)]
    kv_pages_budget = sum(max(1, math.ceil(n / KEYVAULT_PAGE)) for n in managed_counts)
    per_account = [a for a in calls if a.startswith("arm.")]
    budget_broken = [
        f"resourcegraph.query {calls.get('resourcegraph.query', 0)} != {rg_budget}"
        if calls.get("resourcegraph.query", 0) != rg_budget or rg_budget > math.ceil(accounts / 1000)
        else "",
        f"logs.query {calls.get('logs.query', 0)} != 1" if calls.get("logs.query", 0) != 1 else "",
        f"keyvault.listSecrets {calls.get('keyvault.listSecrets', 0)} > {kv_pages_budget}"
        if calls.get("keyvault.listSecrets", 0) > kv_pages_budget
        else "",
        f"per-account ARM calls: {per_account}" if per_account else "",
    ]
    if any(budget_broken):
        raise AssertionError("the scan broke its call budget: " + "; ".join(b for b in budget_broken if b))

    # Baseline in the same run: the naive scan reads every account from ARM (one call each).
    emulator.reset_counters()
    sample = [AccountId.parse(a) for a in in_scope_ids[:baseline_sample]]
    t0 = time.perf_counter()
    for aid in sample:
        ports.cognitive.get_account(aid)
    per_call = (time.perf_counter() - t0) / max(1, len(sample))
    naive_estimate = per_call * in_scope

    total_calls = sum(calls.values())
    return {
        "accounts_total": accounts,
        "accounts_in_scope": in_scope,
        "subscriptions": subscriptions,
        "vaults": vaults,
        "managed_secrets": result.stats.get("managed_secrets", 0),
        "latency_ms": latency_ms,
        "calls_resourcegraph_pages": calls.get("resourcegraph.query", 0),
        "calls_logs_query": calls.get("logs.query", 0),
        "calls_keyvault_list_pages": calls.get("keyvault.listSecrets", 0),
        "calls_keyvault_challenge": calls.get("keyvault.challenge", 0),
        "calls_total": total_calls,
        "budget_resourcegraph_pages": rg_budget,
        "budget_keyvault_list_pages": kv_pages_budget,
        "findings": len(result.findings),
        **{f"findings_{k.split(':', 1)[1]}": v for k, v in sorted(result.kinds().items())},
        "rotation_candidates": len(result.rotations),
        "scan_wall_s": round(wall, 3),
        "naive_per_account_wall_s_estimate": round(naive_estimate, 3),
        "naive_calls_estimate": in_scope,
        "speedup_vs_naive": round(naive_estimate / wall, 1) if wall > 0 else float("inf"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.key_scan", description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.accounts, args.subscriptions, args.latency_ms), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
