"""Warden's Azure adapters through the real SDK clients against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.azure.inventory import AzureInventory
from shared.azure.logs import AzureLogs
from shared.keys.activity import KeyOperationKind, parse_key_operations
from shared.keys.slots import KeySlot
from shared.ports.cognitive import (
    AccountPatch,
    CognitiveNotFoundError,
    CognitiveTransientError,
    ContentFilter,
    RaiPolicyInfo,
)
from shared.ports.probe import KeyRejectedError
from shared.ports.secrets import SecretNotFoundError
from shared.resource_ids import AccountId
from tests.functional.keys.conftest import ACCOUNT, RG, SECRET, SUB, VAULT, WARDEN, Estate


def test_keys_are_listed_and_regenerated_and_the_probe_tells_them_apart(estate: Estate) -> None:
    cognitive, probe = estate.ports.cognitive, estate.ports.probe
    info = cognitive.get_account(ACCOUNT)
    assert info.endpoint and info.kind == "OpenAI" and info.disable_local_auth is False
    before = cognitive.list_keys(ACCOUNT)
    after = cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)
    assert after.key1 == before.key1 and after.key2 != before.key2
    assert "key" not in repr(after).lower().replace("accountkeys", "")
    probe.check_key(info.endpoint, after.key2)
    with pytest.raises(KeyRejectedError):
        probe.check_key(info.endpoint, before.key2)


@pytest.mark.parametrize(("kind", "status"), [("error", 503), ("error", 500), ("throttle", 429)])
def test_a_failed_regeneration_is_not_retried_by_the_sdk(estate: Estate, kind: str, status: int) -> None:
    """regenerateKey is not idempotent: the SDK would resend the POST after a 5xx or a 429, and
    Azure may have applied the first one. The key step decides instead (it knows the old key)."""
    cognitive = estate.ports.cognitive
    before = cognitive.list_keys(ACCOUNT)
    estate.emulator.inject_fault("arm.accounts.regenerateKey", kind, status=status, retry_after=0.01)
    estate.emulator.reset_counters()
    with pytest.raises(CognitiveTransientError, match=f"regenerate Key2 of .*HTTP {status}"):
        cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 1
    assert cognitive.list_keys(ACCOUNT) == before
    again = cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)  # the fault fired once
    assert again.key2 != before.key2


def test_a_regeneration_whose_answer_was_lost_is_a_transient_error(estate: Estate) -> None:
    cognitive = estate.ports.cognitive
    before = cognitive.list_keys(ACCOUNT)
    estate.emulator.inject_fault("arm.accounts.regenerateKey", "lost_answer")
    with pytest.raises(CognitiveTransientError, match="no answer from Azure"):
        cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)
    assert estate.emulator.calls("arm.accounts.regenerateKey") == 1  # not sent again
    assert cognitive.list_keys(ACCOUNT).key2 != before.key2  # but Azure did regenerate it


def test_a_missing_account_is_not_found(estate: Estate) -> None:
    with pytest.raises(CognitiveNotFoundError, match="404"):
        estate.ports.cognitive.get_account(AccountId(SUB, RG, "nope"))


def test_account_properties_are_patched(estate: Estate) -> None:
    updated = estate.ports.cognitive.update_account(
        ACCOUNT, AccountPatch(disable_local_auth=True, network_default_action="Deny", ip_rules=("203.0.113.7",))
    )
    assert updated.disable_local_auth is True and updated.network_default_action == "Deny"
    assert updated.ip_rules == ("203.0.113.7",)


def test_deployments_and_rai_policies_round_trip(estate: Estate) -> None:
    from shared.ports.cognitive import DeploymentInfo

    cognitive = estate.ports.cognitive
    spec = DeploymentInfo(
        id=ACCOUNT.deployment("gpt-4o"),
        model_name="gpt-4o",
        model_version="2024-11-20",
        sku_name="GlobalStandard",
        sku_capacity=10,
    )
    created = cognitive.create_or_update_deployment(spec)
    assert created.model_name == "gpt-4o" and created.sku_capacity == 10
    assert [d.id.name for d in cognitive.list_deployments(ACCOUNT)] == ["gpt-4o"]
    assert cognitive.get_deployment(spec.id).model_version == "2024-11-20"
    policy = RaiPolicyInfo(
        account=ACCOUNT,
        name="strict",
        mode="Blocking",
        base_policy_name="Microsoft.DefaultV2",
        content_filters=(ContentFilter(name="Hate", source="Prompt", severity_threshold="Low"),),
    )
    cognitive.create_or_update_rai_policy(policy)
    assert cognitive.get_rai_policy(ACCOUNT, "strict").content_filters[0].name == "Hate"
    assert "strict" in [p.name for p in cognitive.list_rai_policies(ACCOUNT)]
    assert cognitive.delete_deployment(spec.id) is True
    assert cognitive.delete_deployment(spec.id) is False


def test_secrets_are_read_listed_written_and_updated(estate: Estate) -> None:
    secrets = estate.ports.secrets
    current = secrets.get_secret(VAULT, SECRET)
    assert current.value == estate.ports.cognitive.list_keys(ACCOUNT).key1
    assert current.meta.tags["CredentialId"] == "key1" and current.meta.version
    listed = secrets.list_properties(VAULT)
    assert [m.name for m in listed] == [SECRET] and listed[0].tags["ProviderAddress"].lower() == str(ACCOUNT).lower()
    expires = datetime(2027, 1, 1, tzinfo=UTC)
    written = secrets.set_secret(
        VAULT, SECRET, "new-value-0123456789", tags={"CredentialId": "key2"}, expires_on=expires
    )
    assert written.version != current.meta.version and written.expires_on == expires
    updated = secrets.update_properties(VAULT, SECRET, written.version, tags={"CredentialId": "key2", "x": "y"})
    assert updated.tags["x"] == "y"
    with pytest.raises(SecretNotFoundError):
        secrets.get_secret(VAULT, "missing")


def test_inventory_pages_through_resource_graph(estate: Estate) -> None:
    inventory = AzureInventory(estate.clients, page_size=2)
    accounts = list(inventory.list_ai_accounts([SUB], ["OpenAI", "AIServices"]))
    assert len(accounts) == 4  # the SpeechServices account is out of scope
    assert estate.emulator.calls("resourcegraph.query") == 2
    assert {a.kind for a in accounts} == {"OpenAI", "AIServices"}


def test_key_operations_come_back_from_the_activity_log_with_the_caller(estate: Estate) -> None:
    estate.ports.cognitive.regenerate_key(ACCOUNT, KeySlot.KEY2)
    since = datetime.now(UTC) - timedelta(hours=1)
    rows = AzureLogs(estate.clients).run(
        "key_operations", timespan=(since, datetime.now(UTC) + timedelta(minutes=1)), since=since
    )
    operations, problems = parse_key_operations(rows)
    assert problems == []
    regen = [o for o in operations if o.kind is KeyOperationKind.REGENERATE_KEY]
    assert len(regen) == 1 and regen[0].account == ACCOUNT and regen[0].caller.lower() == WARDEN
    assert regen[0].key is KeySlot.KEY2
