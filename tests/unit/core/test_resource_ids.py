"""ARM resource ids parse into typed ids, compare like ARM, and reject malformed input clearly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.resource_ids import (
    AccountId,
    DeploymentId,
    InvalidResourceIdError,
    VaultId,
    WorkspaceId,
    parse_resource_id,
)

SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-oai"


def test_account_id_parses_into_its_parts() -> None:
    rid = parse_resource_id(ACCOUNT)
    assert rid == AccountId(SUB, "rg-ai", "contoso-oai")
    assert isinstance(rid, AccountId)
    assert rid.account is rid
    assert str(rid) == ACCOUNT


def test_deployment_id_knows_its_account() -> None:
    rid = parse_resource_id(ACCOUNT + "/deployments/gpt-4o")
    assert isinstance(rid, DeploymentId)
    assert rid.account == AccountId(SUB, "rg-ai", "contoso-oai")
    assert rid.name == "gpt-4o"
    assert rid.subscription_id == SUB
    assert AccountId(SUB, "rg-ai", "contoso-oai").deployment("gpt-4o") == rid


def test_ids_compare_case_insensitively_and_print_canonically() -> None:
    shouting = ACCOUNT.upper().replace("00000000-0000-0000-0000-000000000001".upper(), SUB.upper())
    rid = parse_resource_id(shouting)
    assert rid == parse_resource_id(ACCOUNT)
    assert hash(rid) == hash(parse_resource_id(ACCOUNT))
    assert "/providers/Microsoft.CognitiveServices/accounts/" in str(rid)
    assert rid.subscription_id == SUB  # GUIDs are normalised to lower case


def test_trailing_slash_is_accepted() -> None:
    assert parse_resource_id(ACCOUNT + "/") == parse_resource_id(ACCOUNT)


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-warden", VaultId),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-sec",
            WorkspaceId,
        ),
    ],
)
def test_vault_and_workspace_ids(value: str, cls: type) -> None:
    rid = parse_resource_id(value)
    assert isinstance(rid, cls)
    assert str(rid) == value


def test_vault_url_is_derived_from_the_name() -> None:
    vault = VaultId.parse(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/KV-Warden")
    assert vault.vault_url == "https://kv-warden.vault.azure.net"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must start with '/subscriptions/'"),
        ("subscriptions/x", "must start with '/subscriptions/'"),
        ("/subscriptions/not-a-guid/resourceGroups/rg", "subscription 'not-a-guid' is not a GUID"),
        (f"/subscriptions/{SUB}", "expected '/resourceGroups/{name}'"),
        (f"/subscriptions/{SUB}/resourceGroups/rg", "expected '/providers/"),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
            "not one Warden",
        ),
        (ACCOUNT + "/deployments", "only '/deployments/{name}' may follow an account"),
        (ACCOUNT + "/deployments/a/b", "only '/deployments/{name}' may follow an account"),
        (ACCOUNT + "//deployments/x", "empty segment"),
        (ACCOUNT.replace("contoso-oai", "bad name!"), "account name 'bad name!' breaks Azure's naming rules"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/k", "vault name 'k'"),
        ("/" + "a" * 2000, "longer than 1024"),
    ],
)
def test_malformed_ids_are_rejected_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidResourceIdError) as info:
        parse_resource_id(value)
    assert reason in str(info.value)


def test_parse_of_the_wrong_kind_says_what_was_expected() -> None:
    with pytest.raises(InvalidResourceIdError, match="expected a vault id, got a account id"):
        VaultId.parse(ACCOUNT)


def test_pydantic_fields_validate_and_serialise_ids() -> None:
    class Holder(BaseModel):
        account: AccountId

    holder = Holder.model_validate({"account": ACCOUNT})
    assert holder.account.name == "contoso-oai"
    assert holder.model_dump(mode="json") == {"account": ACCOUNT}
    with pytest.raises(ValidationError, match="invalid Azure resource id"):
        Holder.model_validate({"account": ACCOUNT + "/deployments/x"})
    with pytest.raises(ValidationError, match="expected a resource id string"):
        Holder.model_validate({"account": 42})


@given(st.text(max_size=300))
def test_any_text_either_parses_or_raises_the_named_error(value: str) -> None:
    try:
        rid = parse_resource_id(value)
    except InvalidResourceIdError as exc:
        assert "invalid Azure resource id" in str(exc)
    else:
        assert parse_resource_id(str(rid)) == rid
