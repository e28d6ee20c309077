"""The dual-credential tags: parsing, tolerance, and errors a person can act on."""

from __future__ import annotations

import pytest

from shared.keys.slots import KeySlot
from shared.keys.tags import TagError, parse_dual_credential_tags
from tests.unit.keys.conftest import ACCOUNT

GOOD = {"CredentialId": "key1", "ProviderAddress": str(ACCOUNT), "ValidityPeriodDays": "60"}


def test_parses_the_convention() -> None:
    tags = parse_dual_credential_tags(GOOD)
    assert tags is not None
    assert (tags.credential_id, tags.provider_address, tags.validity_days) == (KeySlot.KEY1, ACCOUNT, 60)


def test_tag_names_and_key_names_are_case_insensitive() -> None:
    tags = parse_dual_credential_tags(
        {"credentialid": " Key2 ", "PROVIDERADDRESS": str(ACCOUNT).upper(), "validityperioddays": "30"}
    )
    assert tags is not None
    assert tags.credential_id is KeySlot.KEY2
    assert tags.provider_address == ACCOUNT


def test_a_secret_without_the_convention_is_not_managed() -> None:
    assert parse_dual_credential_tags({"owner": "team-a"}) is None
    assert parse_dual_credential_tags(None) is None


def test_missing_validity_takes_the_policy_default_when_given() -> None:
    tags = parse_dual_credential_tags(
        {k: v for k, v in GOOD.items() if k != "ValidityPeriodDays"}, default_validity_days=45
    )
    assert tags is not None and tags.validity_days == 45


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"CredentialId": "key3"}, "CredentialId"),
        ({"CredentialId": ""}, "CredentialId"),
        ({"ProviderAddress": "not-an-id"}, "ProviderAddress"),
        ({"ProviderAddress": str(ACCOUNT) + "/deployments/gpt-4o"}, "ProviderAddress"),
        (
            {
                "ProviderAddress": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
                "/providers/Microsoft.KeyVault/vaults/kv-one"
            },
            "ProviderAddress",
        ),
        ({"ValidityPeriodDays": "sixty"}, "ValidityPeriodDays"),
        ({"ValidityPeriodDays": "0"}, "ValidityPeriodDays"),
        ({"ValidityPeriodDays": "-5"}, "ValidityPeriodDays"),
        ({"ValidityPeriodDays": "99999"}, "ValidityPeriodDays"),
        ({"ValidityPeriodDays": "６０"}, "ValidityPeriodDays"),  # full-width digits
        ({"ValidityPeriodDays": "60.5"}, "ValidityPeriodDays"),
    ],
)
def test_bad_values_name_the_tag_the_value_and_what_was_expected(changes: dict[str, str], tag: str) -> None:
    with pytest.raises(TagError) as caught:
        parse_dual_credential_tags(GOOD | changes)
    assert caught.value.tag == tag
    assert tag in str(caught.value) and "expected" in str(caught.value)


def test_half_a_convention_is_an_error_not_an_unmanaged_secret() -> None:
    with pytest.raises(TagError, match="CredentialId"):
        parse_dual_credential_tags({"ProviderAddress": str(ACCOUNT)})
    with pytest.raises(TagError, match="ProviderAddress"):
        parse_dual_credential_tags({"CredentialId": "key1"})


def test_missing_validity_without_a_default_is_an_error() -> None:
    with pytest.raises(TagError, match="ValidityPeriodDays"):
        parse_dual_credential_tags({"CredentialId": "key1", "ProviderAddress": str(ACCOUNT)})


def test_as_tags_round_trips_and_marks_the_rotation() -> None:
    tags = parse_dual_credential_tags(GOOD)
    assert tags is not None
    written = tags.with_credential(KeySlot.KEY2).as_tags(rotation_id="keyrot-abc")
    assert written["CredentialId"] == "key2" and written["WardenRotationId"] == "keyrot-abc"
    again = parse_dual_credential_tags(written)
    assert again is not None and again.credential_id is KeySlot.KEY2


@pytest.mark.parametrize("value", ["key1", "Key1", "KEY1", " key1 "])
def test_key_slot_parses_both_spellings(value: str) -> None:
    assert KeySlot.parse(value) is KeySlot.KEY1
    assert KeySlot.KEY1.other is KeySlot.KEY2 and KeySlot.KEY2.arm_name == "Key2"


@pytest.mark.parametrize("value", ["key0", "", None, 1, "primary"])
def test_key_slot_rejects_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match="key1"):
        KeySlot.parse(value)
