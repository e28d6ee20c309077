"""Tenant files: validation errors name the bad field's path; the demo and generator build."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator import DEMO_TENANT, Emulator, TenantError, generate_tenant, load_tenant, parse_tenant
from tests.unit.emulator.conftest import SUB, minimal_tenant


def _problems(data: Any) -> list[str]:
    with pytest.raises(TenantError) as info:
        parse_tenant(data)
    return info.value.problems


def test_demo_tenant_loads_with_the_promised_shape() -> None:
    spec = load_tenant(DEMO_TENANT)
    assert len(spec.subscriptions) == 2
    accounts = [a for s in spec.subscriptions for rg in s.resource_groups for a in rg.accounts]
    assert {a.kind for a in accounts} >= {"OpenAI", "AIServices"}
    assert any(a.disable_local_auth is True for a in accounts)
    assert any(a.public_network_access == "Enabled" and a.network_acls is None for a in accounts)
    deployments = {d.model.name for a in accounts for d in a.deployments}
    assert {"gpt-4o", "text-embedding-3-large"} <= deployments
    assert any(p.name == "contoso-strict" for a in accounts for p in a.rai_policies)


def test_bad_kind_names_the_path() -> None:
    problems = _problems(minimal_tenant(kind="Open AI!"))
    assert any(p.startswith("subscriptions[0].resource_groups[0].accounts[0].kind:") for p in problems)


def test_bad_subscription_guid_names_the_path() -> None:
    problems = _problems({"subscriptions": [{"id": "not-a-guid"}]})
    assert problems == ["subscriptions[0].id: expected a GUID like 00000000-0000-0000-0000-000000000000"]


def test_unknown_field_is_rejected() -> None:
    problems = _problems(minimal_tenant(dissable_local_auth=True))
    assert any("accounts[0].dissable_local_auth" in p and "Extra inputs" in p for p in problems)


def test_duplicate_account_is_rejected() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["resource_groups"][0]["accounts"].append({"name": "ACCT"})
    assert any("duplicate account 'ACCT'" in p for p in _problems(data))


def test_vault_names_are_global() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["resource_groups"][0]["vaults"] = [{"name": "kv-one"}]
    data["subscriptions"][0]["resource_groups"].append({"name": "rg2", "vaults": [{"name": "KV-ONE"}]})
    assert any("vault name" in p for p in _problems(data))


def test_secret_needs_exactly_one_value_source() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["resource_groups"][0]["vaults"] = [{"name": "kv-one", "secrets": [{"name": "s"}]}]
    problems = _problems(data)
    assert any(
        p.startswith("subscriptions[0].resource_groups[0].vaults[0].secrets[0]") and "exactly one" in p
        for p in problems
    )


def test_secret_value_from_must_name_an_account_of_theminimal_tenant() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["resource_groups"][0]["vaults"] = [
        {"name": "kv-one", "secrets": [{"name": "s", "value_from": {"account": "/subscriptions/x", "key": "key1"}}]}
    ]
    assert any("value_from.account" in p for p in _problems(data))


def test_unknown_table_and_column_are_named() -> None:
    data = minimal_tenant()
    rg = data["subscriptions"][0]["resource_groups"][0]
    rg["workspaces"] = [
        {
            "name": "law-one",
            "customer_id": SUB,
            "tables": {"SecurityAlert": [{"TimeGenerated": "2026-01-01T00:00:00Z", "Nope": 1}]},
        }
    ]
    problems = _problems(data)
    assert any("workspaces[0].tables" in p and "SecurityAlert[0]" in p and "'Nope'" in p for p in problems)
    rg["workspaces"][0]["tables"] = {"Heartbeat": []}
    assert any("unknown table 'Heartbeat'" in p for p in _problems(data))


def test_mistyped_cell_names_the_column() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["resource_groups"][0]["workspaces"] = [
        {"name": "law-one", "customer_id": SUB, "tables": {"SecurityAlert": [{"TimeGenerated": "yesterday"}]}}
    ]
    assert any("SecurityAlert.TimeGenerated (datetime)" in p for p in _problems(data))


def test_activity_log_workspace_must_exist() -> None:
    data = minimal_tenant()
    data["subscriptions"][0]["activity_log_workspace"] = "law-missing"
    assert any("law-missing" in p for p in _problems(data))


def test_pinned_keys_are_checked_and_used() -> None:
    assert any("keys.key1" in p for p in _problems(minimal_tenant(keys={"key1": "short", "key2": "b" * 32})))
    emulator = Emulator(minimal_tenant(keys={"key1": "a" * 32, "key2": "b" * 32}))
    account_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct"
    assert emulator.account_keys(account_id) == {"key1": "a" * 32, "key2": "b" * 32}


def test_generated_keys_are_32_hex_characters_and_differ() -> None:
    emulator = Emulator(minimal_tenant())
    account_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct"
    keys = emulator.account_keys(account_id)
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys.values())
    assert keys["key1"] != keys["key2"]


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text("subscriptions:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(TenantError) as info:
        load_tenant(path)
    assert "line " in info.value.problems[0] and "not valid YAML" in info.value.problems[0]


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TenantError, match="cannot read the file"):
        load_tenant(tmp_path / "absent.yaml")


def test_non_mapping_root_is_rejected() -> None:
    assert _problems(["a", "list"]) == ["(root): expected a mapping, got list"]


def test_demo_yaml_round_trips_through_parse_tenant() -> None:
    data = yaml.safe_load(DEMO_TENANT.read_text(encoding="utf-8"))
    assert parse_tenant(copy.deepcopy(data)) == load_tenant(DEMO_TENANT)


def test_generate_tenant_is_deterministic_and_sized() -> None:
    first = generate_tenant(accounts=500, subscriptions=7, seed=3)
    again = generate_tenant(accounts=500, subscriptions=7, seed=3)
    assert first.model_dump() == again.model_dump()
    assert len(first.subscriptions) == 7
    accounts = [a for s in first.subscriptions for rg in s.resource_groups for a in rg.accounts]
    assert len(accounts) == 500
    assert len({a.name for a in accounts}) == 500
    assert {a.kind for a in accounts} == {"OpenAI", "AIServices", "TextAnalytics"}


def test_generated_tenant_of_10000_accounts_builds() -> None:
    emulator = Emulator(generate_tenant(accounts=10_000, subscriptions=50, seed=1), seed=1)
    assert len(emulator.state.all_accounts()) == 10_000
    assert len(emulator.state.subscriptions) == 50
