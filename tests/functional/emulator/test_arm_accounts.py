"""ARM Cognitive Services accounts and keys, through the real CognitiveServicesManagementClient."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, NetworkRuleSet

from tests.functional.emulator.conftest import (
    ACCOUNT_AIS,
    ACCOUNT_DEV,
    ACCOUNT_DEV_ID,
    ACCOUNT_PROD,
    RG_DEV,
    RG_PROD,
    SUB_DEV,
    SUB_PROD,
    Env,
)


def test_list_accounts_by_subscription_follows_next_links(env: Env) -> None:
    env.emulator.arm_page_size = 1
    names = [a.name for a in env.clients.cognitive(SUB_PROD).accounts.list()]
    assert names == [ACCOUNT_PROD, ACCOUNT_AIS]
    assert env.emulator.calls("arm.accounts.list") == 2


def test_list_accounts_by_resource_group_returns_only_that_group(env: Env) -> None:
    accounts = list(env.clients.cognitive(SUB_DEV).accounts.list_by_resource_group(RG_DEV))
    assert sorted(str(a.name) for a in accounts) == ["contoso-language-dev", ACCOUNT_DEV]


def test_get_account_returns_security_settings(env: Env) -> None:
    account: Any = env.clients.cognitive(SUB_PROD).accounts.get(RG_PROD, ACCOUNT_PROD)
    assert account.kind == "OpenAI"
    assert account.properties.disable_local_auth is False
    assert account.properties.network_acls.default_action == "Deny"
    assert [r.value for r in account.properties.network_acls.ip_rules] == ["203.0.113.10", "203.0.113.11"]
    assert account.properties.endpoint == f"https://{ACCOUNT_PROD}.openai.azure.com/"
    assert account.properties.provisioning_state == "Succeeded"


def test_get_unknown_account_raises_resource_not_found(env: Env) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        env.clients.cognitive(SUB_PROD).accounts.get(RG_PROD, "no-such-account")
    assert info.value.error is not None and info.value.error.code == "ResourceNotFound"


def test_arm_reads_are_counted_per_subscription_with_remaining_budget(env: Env) -> None:
    cognitive = env.clients.cognitive(SUB_PROD)
    cognitive.accounts.get(RG_PROD, ACCOUNT_PROD)
    cognitive.accounts.get(RG_PROD, ACCOUNT_PROD)
    arm = env.emulator.counts()["arm"][SUB_PROD]
    assert arm["reads"] == 2
    assert arm["writes"] == 0
    assert arm["readTokensRemaining"] <= 248


def test_begin_update_is_a_long_running_operation_applied_on_success(env: Env) -> None:
    patch = Account(
        properties=AccountProperties(
            disable_local_auth=True,
            public_network_access="Disabled",
            network_acls=NetworkRuleSet(default_action="Deny", ip_rules=[]),
        )
    )
    poller = env.clients.cognitive(SUB_DEV).accounts.begin_update(RG_DEV, ACCOUNT_DEV, patch, polling_interval=0)
    result: Any = poller.result()
    assert result.properties.disable_local_auth is True
    assert result.properties.public_network_access == "Disabled"
    assert result.properties.network_acls.default_action == "Deny"
    assert result.properties.provisioning_state == "Succeeded"
    counts = env.emulator.counts()
    assert counts["status"]["arm.accounts.update"] == {"202": 1}
    # lro_polls=1: one InProgress answer, then Succeeded.
    assert counts["calls"]["arm.operations.get"] >= 2


def test_failed_update_raises_and_leaves_the_account_unchanged(env: Env) -> None:
    env.emulator.inject_fault("arm.accounts.update", "lro_failure", code="InsufficientQuota")
    cognitive = env.clients.cognitive(SUB_DEV)
    poller = cognitive.accounts.begin_update(
        RG_DEV, ACCOUNT_DEV, Account(properties=AccountProperties(disable_local_auth=True)), polling_interval=0
    )
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert "InsufficientQuota" in str(info.value)
    account: Any = cognitive.accounts.get(RG_DEV, ACCOUNT_DEV)
    assert account.properties.disable_local_auth is None


def test_list_keys_returns_both_keys(env: Env) -> None:
    keys: Any = env.clients.cognitive(SUB_DEV).accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    assert {"key1": keys.key1, "key2": keys.key2} == env.emulator.account_keys(ACCOUNT_DEV_ID)
    assert len(keys.key1) == 32 and int(keys.key1, 16) >= 0


def test_regenerate_key_replaces_only_that_slot(env: Env) -> None:
    cognitive = env.clients.cognitive(SUB_DEV)
    before = cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    after = cognitive.accounts.regenerate_key(RG_DEV, ACCOUNT_DEV, key_name="Key2")
    assert after.key2 != before.key2
    assert after.key1 == before.key1
    assert cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV).key2 == after.key2


def test_a_lost_answer_fault_applies_the_call_and_drops_the_answer(env: Env) -> None:
    cognitive = env.clients.cognitive(SUB_DEV)
    before = cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    env.emulator.inject_fault("arm.accounts.regenerateKey", "lost_answer")
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        cognitive.accounts.regenerate_key(RG_DEV, ACCOUNT_DEV, key_name="Key2", retry_total=0)
    assert cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV).key2 != before.key2  # it happened
    assert env.emulator.calls("arm.accounts.regenerateKey") == 1


def test_list_keys_fails_when_local_auth_is_disabled(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.cognitive(SUB_PROD).accounts.list_keys(RG_PROD, ACCOUNT_AIS)
    assert info.value.status_code == 400
    assert "disableLocalAuth" in str(info.value)


def test_sdk_retries_injected_throttling_and_then_succeeds(inprocess: Env) -> None:
    inprocess.emulator.inject_fault("arm.accounts.get", "throttle", count=2, retry_after=3)
    account = inprocess.clients.cognitive(SUB_PROD).accounts.get(RG_PROD, ACCOUNT_PROD)
    assert account.name == ACCOUNT_PROD
    assert inprocess.emulator.calls("arm.accounts.get") == 3
    assert inprocess.emulator.counts()["status"]["arm.accounts.get"] == {"200": 1, "429": 2}
    assert inprocess.transport is not None and inprocess.transport.slept == [3.0, 3.0]


def test_sdk_retries_throttling_through_the_loopback_server(loopback: Env) -> None:
    loopback.emulator.inject_fault("arm.accounts.get", "throttle", count=1, retry_after=0.01)
    assert loopback.clients.cognitive(SUB_PROD).accounts.get(RG_PROD, ACCOUNT_PROD).name == ACCOUNT_PROD
    assert loopback.emulator.calls("arm.accounts.get") == 2


def test_request_without_token_is_rejected(env: Env) -> None:
    from azure.core.credentials import AccessToken
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    class EmptyToken:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken("", 2**31)

    kwargs = {"transport": env.transport} if env.transport is not None else {"transport": env.clients.transport}
    client = CognitiveServicesManagementClient(EmptyToken(), SUB_PROD, **kwargs)
    with pytest.raises(ClientAuthenticationError):
        client.accounts.get(RG_PROD, ACCOUNT_PROD)


def test_pollers_wait_only_the_emulators_short_retry_after(inprocess: Env) -> None:
    # No polling_interval=0 here: the SDK's 30 s default yields to the Retry-After the emulator sends.
    poller = inprocess.clients.cognitive(SUB_DEV).accounts.begin_update(
        RG_DEV, ACCOUNT_DEV, Account(properties=AccountProperties(public_network_access="Disabled"))
    )
    result: Any = poller.result()
    assert result.properties.public_network_access == "Disabled"
    assert inprocess.transport is not None
    assert inprocess.transport.slept and all(wait <= 0.05 for wait in inprocess.transport.slept)
