"""``Emulator.handle`` at the HTTP level: status codes, headers, LRO progression, token buckets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator import Emulator
from emulator.services.logs import parse_timespan
from tests.unit.emulator.conftest import SUB

ARM = "https://management.azure.com"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct"
V = "api-version=2025-09-01"
AUTH = {"Authorization": "Bearer token"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _call(emulator: Emulator, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None):
    raw = json.dumps(body).encode() if body is not None else None
    status, out_headers, payload = emulator.handle(method, url, {**AUTH, **(headers or {})}, raw)
    return status, out_headers, (json.loads(payload) if payload else None)


def test_missing_api_version_is_400(tenant: dict[str, Any]) -> None:
    status, _, body = _call(Emulator(tenant), "GET", f"{ARM}{ACCOUNT}")
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"


def test_missing_token_is_401(tenant: dict[str, Any]) -> None:
    status, headers, body = Emulator(tenant).handle("GET", f"{ARM}{ACCOUNT}?{V}", {}, None)
    assert status == 401
    assert json.loads(body)["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")


def test_unknown_subscription_and_resource_group_are_named(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    other = "00000000-0000-0000-0000-000000000009"
    status, _, body = _call(
        emulator, "GET", f"{ARM}/subscriptions/{other}/providers/Microsoft.CognitiveServices/accounts?{V}"
    )
    assert (status, body["error"]["code"]) == (404, "SubscriptionNotFound")
    status, _, body = _call(emulator, "GET", f"{ARM}{ACCOUNT.replace('/rg/', '/rg-x/')}?{V}")
    assert (status, body["error"]["code"]) == (404, "ResourceGroupNotFound")


def test_wrong_method_is_405_and_unemulated_path_is_400(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    assert _call(emulator, "DELETE", f"{ARM}{ACCOUNT}/listKeys?{V}")[0] == 405
    status, _, body = _call(emulator, "GET", f"{ARM}{ACCOUNT}/usages?{V}")
    assert (status, body["error"]["code"]) == (400, "NotEmulated")


def test_patch_is_applied_only_when_the_operation_completes(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant, lro_polls=2)
    status, headers, body = _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"disableLocalAuth": True}})
    assert status == 202
    assert body["properties"]["provisioningState"] == "Accepted"
    assert "disableLocalAuth" not in body["properties"]
    status_url = headers["Azure-AsyncOperation"]
    assert status_url.startswith(f"{ARM}/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/")
    assert "/operationResults/" in headers["Location"]
    assert headers["Retry-After"] == "0.050"
    assert _call(emulator, "GET", status_url)[2]["status"] == "InProgress"
    assert _call(emulator, "GET", headers["Location"])[0] == 202
    assert _call(emulator, "GET", status_url)[2]["status"] == "Succeeded"
    account = _call(emulator, "GET", f"{ARM}{ACCOUNT}?{V}")[2]
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["provisioningState"] == "Succeeded"
    assert _call(emulator, "GET", headers["Location"])[0] == 200


def test_second_write_during_an_operation_is_a_conflict(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant, lro_polls=3)
    _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"disableLocalAuth": True}})
    status, _, body = _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"disableLocalAuth": False}})
    assert (status, body["error"]["code"]) == (409, "Conflict")
    assert emulator.settle_operations() == 1
    assert _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"disableLocalAuth": False}})[0] == 202


def test_invalid_patch_values_are_rejected(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    status, _, body = _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"publicNetworkAccess": "Off"}})
    assert status == 400 and "publicNetworkAccess" in body["error"]["message"]


def test_deployment_is_creating_until_polled(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant, lro_polls=1)
    url = f"{ARM}{ACCOUNT}/deployments/new?{V}"
    status, headers, body = _call(
        emulator,
        "PUT",
        url,
        {
            "sku": {"name": "Standard", "capacity": 1},
            "properties": {"model": {"format": "OpenAI", "name": "m", "version": "1"}},
        },
    )
    assert status == 201
    assert body["properties"]["provisioningState"] == "Creating"
    assert "Azure-AsyncOperation" in headers
    assert _call(emulator, "GET", url)[2]["properties"]["provisioningState"] == "Creating"
    assert _call(emulator, "GET", url)[2]["properties"]["provisioningState"] == "Succeeded"


def test_delete_returns_location_and_removes_after_polls(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant, lro_polls=0)
    url = f"{ARM}{ACCOUNT}/deployments/gpt-4o?{V}"
    status, headers, _ = _call(emulator, "DELETE", url)
    assert status == 202
    assert _call(emulator, "GET", headers["Location"])[0] == 204
    assert _call(emulator, "GET", url)[0] == 404
    assert _call(emulator, "DELETE", url)[0] == 204


def test_regenerate_key_requires_a_valid_key_name(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    status, _, body = _call(emulator, "POST", f"{ARM}{ACCOUNT}/regenerateKey?{V}", {"keyName": "Key3"})
    assert status == 400 and "Key3" in body["error"]["message"]


def test_account_list_pages_with_next_link(tenant: dict[str, Any]) -> None:
    tenant["subscriptions"][0]["resource_groups"][0]["accounts"] += [{"name": f"more-{i}"} for i in range(4)]
    emulator = Emulator(tenant, arm_page_size=2)
    url = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts?{V}"
    names: list[str] = []
    pages = 0
    while url:
        status, _, body = _call(emulator, "GET", url)
        assert status == 200
        names += [a["name"] for a in body["value"]]
        url = body.get("nextLink")
        pages += 1
    assert pages == 3
    assert names == ["acct", "more-0", "more-1", "more-2", "more-3"]


def test_read_bucket_empties_after_250_and_refills_at_25_per_second(tenant: dict[str, Any]) -> None:
    clock = Clock()
    emulator = Emulator(tenant, throttling=True, monotonic=clock)
    url = f"{ARM}{ACCOUNT}?{V}"
    remaining = []
    for _ in range(250):
        status, headers, _ = _call(emulator, "GET", url)
        assert status == 200
        remaining.append(int(headers["x-ms-ratelimit-remaining-subscription-reads"]))
    assert remaining[0] == 249 and remaining[-1] == 0
    status, headers, body = _call(emulator, "GET", url)
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    clock.now += 1.0  # 25 tokens back
    statuses = [_call(emulator, "GET", url)[0] for _ in range(26)]
    assert statuses == [200] * 25 + [429]
    # Writes have their own bucket.
    assert _call(emulator, "POST", f"{ARM}{ACCOUNT}/listKeys?{V}")[0] == 200
    counts = emulator.counts()["arm"][SUB]
    assert counts["reads"] == 277 and counts["writes"] == 1


def test_buckets_are_not_enforced_by_default(tenant: dict[str, Any]) -> None:
    clock = Clock()
    emulator = Emulator(tenant, monotonic=clock)
    statuses = {_call(emulator, "GET", f"{ARM}{ACCOUNT}?{V}")[0] for _ in range(300)}
    assert statuses == {200}


def test_fault_rules_validate_their_input(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.inject_fault("arm.accounts.get", "explode")
    with pytest.raises(ValueError, match="matches no API name"):
        emulator.inject_fault("arm.account.get", "error")
    with pytest.raises(ValueError, match="probability"):
        emulator.inject_fault("arm.*", "error", probability=1.5)


def test_counters_reset(tenant: dict[str, Any]) -> None:
    emulator = Emulator(tenant)
    _call(emulator, "GET", f"{ARM}{ACCOUNT}?{V}")
    assert emulator.calls("arm.accounts.get") == 1
    emulator.reset_counters()
    assert emulator.counts() == {"calls": {}, "status": {}, "arm": {}}


def test_unknown_host_is_not_emulated(tenant: dict[str, Any]) -> None:
    status, _, body = _call(Emulator(tenant), "GET", "https://example.com/x")
    assert (status, body["error"]["code"]) == (404, "HostNotEmulated")


def test_logs_timespan_forms() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_timespan(None, now) == (None, None)
    assert parse_timespan("PT3600.0S", now) == (now - timedelta(hours=1), now)
    assert parse_timespan("2026-01-01T00:00:00Z/2026-01-01T06:00:00Z", now) == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 6, tzinfo=UTC),
    )
    assert parse_timespan("2026-01-01T00:00:00Z/P1D", now) == (datetime(2026, 1, 1, tzinfo=UTC), now)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_timespan("yesterday", now)


def test_patch_merges_nested_objects_like_a_json_merge_patch(tenant: dict[str, Any]) -> None:
    tenant["subscriptions"][0]["resource_groups"][0]["accounts"][0]["network_acls"] = {
        "default_action": "Allow",
        "ip_rules": ["203.0.113.5"],
    }
    emulator = Emulator(tenant, lro_polls=0)
    _, headers, _ = _call(
        emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"networkAcls": {"defaultAction": "Deny"}}}
    )
    _call(emulator, "GET", headers["Azure-AsyncOperation"])
    acls = _call(emulator, "GET", f"{ARM}{ACCOUNT}?{V}")[2]["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["ipRules"] == [{"value": "203.0.113.5"}]
    _, headers, _ = _call(emulator, "PATCH", f"{ARM}{ACCOUNT}?{V}", {"properties": {"networkAcls": {"ipRules": []}}})
    _call(emulator, "GET", headers["Azure-AsyncOperation"])
    assert _call(emulator, "GET", f"{ARM}{ACCOUNT}?{V}")[2]["properties"]["networkAcls"]["ipRules"] == []
