"""Resource Graph through the real ResourceGraphClient, answered by the named-query models."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from emulator import Emulator, generate_tenant
from emulator.transport import EmulatorTransport
from shared import kql
from shared.azure.clients import AzureClients, StaticTokenCredential
from tests.functional.emulator.conftest import ACCOUNT_AIS, ACCOUNT_DEV, ACCOUNT_PROD, SUB_DEV, SUB_PROD, Env


def _query(env: Env, text: str, subscriptions: list[str] | None = None, **options: Any) -> Any:
    request = QueryRequest(
        subscriptions=subscriptions or [SUB_PROD, SUB_DEV],
        query=text,
        options=QueryRequestOptions(**options) if options else None,
    )
    return env.clients.resource_graph().resources(request)


def test_ai_accounts_lists_openai_and_ai_services_accounts(env: Env) -> None:
    result = _query(env, kql.render("ai_accounts"))
    rows = {row["name"]: row for row in result.data}
    assert set(rows) == {ACCOUNT_PROD, ACCOUNT_AIS, ACCOUNT_DEV}
    assert result.total_records == 3 and result.count == 3
    dev = rows[ACCOUNT_DEV]
    assert dev["disableLocalAuth"] is False  # never set (null) counts as false
    assert dev["publicNetworkAccess"] == "Enabled"
    assert dev["networkDefaultAction"] == ""
    assert dev["ipRuleCount"] == 0
    assert dev["resourceGroup"] == "rg-contoso-ai-dev"
    assert dev["subscriptionId"] == SUB_DEV
    assert dev["endpoint"] == f"https://{ACCOUNT_DEV}.openai.azure.com/"
    assert rows[ACCOUNT_AIS]["disableLocalAuth"] is True
    assert rows[ACCOUNT_PROD]["networkDefaultAction"] == "Deny"
    assert rows[ACCOUNT_PROD]["ipRuleCount"] == 2
    assert rows[ACCOUNT_PROD]["tags"]["owner"] == "ai-platform"
    assert list(rows[ACCOUNT_PROD]) == [
        "id",
        "name",
        "kind",
        "location",
        "resourceGroup",
        "subscriptionId",
        "sku",
        "tags",
        "disableLocalAuth",
        "publicNetworkAccess",
        "networkDefaultAction",
        "ipRuleCount",
        "endpoint",
    ]


def test_ai_accounts_kinds_parameter_selects_other_kinds(env: Env) -> None:
    result = _query(env, kql.render("ai_accounts", kinds=["textanalytics"]))
    assert [row["name"] for row in result.data] == ["contoso-language-dev"]


def test_query_is_limited_to_the_requested_subscriptions(env: Env) -> None:
    result = _query(env, kql.render("ai_accounts"), subscriptions=[SUB_DEV])
    assert [row["name"] for row in result.data] == [ACCOUNT_DEV]


def test_table_result_format(env: Env) -> None:
    result = _query(env, kql.render("ai_accounts"), result_format="table")
    assert [c["name"] for c in result.data["columns"]][:3] == ["id", "name", "kind"]
    assert len(result.data["rows"]) == 3


def test_unnamed_query_is_rejected_with_a_reason(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        _query(env, "resources | take 1")
    assert info.value.status_code == 400
    assert "warden-query" in str(info.value)


def test_unknown_named_query_is_rejected_naming_it(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        _query(env, "// warden-query: no_such_query\nresources")
    assert "no_such_query" in str(info.value)


def test_log_analytics_query_sent_to_resource_graph_is_rejected(env: Env) -> None:
    from datetime import UTC, datetime

    text = kql.render("key_operations", since=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(HttpResponseError) as info:
        _query(env, text)
    assert "key_operations" in str(info.value)


def test_more_than_1000_rows_are_paged_with_skip_tokens() -> None:
    emulator = Emulator(generate_tenant(accounts=2600, subscriptions=3, seed=11), seed=1)
    expected = sorted(a.id for a in emulator.state.all_accounts() if a.kind.lower() in ("openai", "aiservices"))
    assert len(expected) > 2000
    subs = list(emulator.state.subscriptions)
    clients = AzureClients(
        _settings_for(subs), credential=StaticTokenCredential(), transport=EmulatorTransport(emulator)
    )
    graph = clients.resource_graph()
    text = kql.render("ai_accounts")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        options = QueryRequestOptions(top=5000, skip_token=token)
        page: Any = graph.resources(QueryRequest(subscriptions=subs, query=text, options=options))
        pages += 1
        assert page.count <= 1000  # $top is capped at 1000
        assert page.total_records == len(expected)
        seen.extend(row["id"] for row in page.data)
        token = page.skip_token
        if not token:
            break
    assert pages == 3
    assert seen == expected


def test_skip_token_of_another_query_is_rejected() -> None:
    emulator = Emulator(generate_tenant(accounts=1500, subscriptions=1, seed=3), seed=1)
    subs = list(emulator.state.subscriptions)
    clients = AzureClients(
        _settings_for(subs), credential=StaticTokenCredential(), transport=EmulatorTransport(emulator)
    )
    graph = clients.resource_graph()
    first: Any = graph.resources(QueryRequest(subscriptions=subs, query=kql.render("ai_accounts")))
    assert first.skip_token
    other = kql.render("ai_accounts", kinds=["OpenAI"])
    with pytest.raises(HttpResponseError) as info:
        graph.resources(
            QueryRequest(subscriptions=subs, query=other, options=QueryRequestOptions(skip_token=first.skip_token))
        )
    assert "skipToken" in str(info.value)


def _settings_for(subscriptions: list[str]):
    from shared.settings import load_settings

    return load_settings(subscription_ids=subscriptions, emulator_url=None)
