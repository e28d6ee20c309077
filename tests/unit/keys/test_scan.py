"""The pure key-hygiene scan: which findings, with what evidence and which dedupe keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.keys.activity import KeyOperation, KeyOperationKind, parse_key_operations
from shared.keys.policy import KeyPolicy
from shared.keys.scan import KeyScanInput, KeyScanResult, scan_keys
from shared.keys.slots import KeySlot
from shared.ports.inventory import AiAccount
from shared.ports.secrets import SecretMeta
from shared.resource_ids import AccountId
from tests.unit.keys.conftest import ACCOUNT, NOW, SUB, VAULT, WARDEN

OTHER = AccountId(SUB, "rg-ai", "fabrikam-openai")
POLICY = KeyPolicy(max_age_days=90)


def account(aid: AccountId = ACCOUNT, *, local_auth_disabled: bool = False) -> AiAccount:
    return AiAccount(id=aid, kind="OpenAI", disable_local_auth=local_auth_disabled, public_network_access="Enabled")


def regen(
    days_ago: float, slot: KeySlot | None, *, caller: str = WARDEN, aid: AccountId = ACCOUNT, cid: str = "c1"
) -> KeyOperation:
    return KeyOperation(
        time=NOW - timedelta(days=days_ago),
        account=aid,
        kind=KeyOperationKind.REGENERATE_KEY,
        caller=caller,
        caller_ip=None,
        correlation_id=cid,
        key=slot,
    )


def secret(
    slot: KeySlot = KeySlot.KEY1,
    *,
    aid: AccountId = ACCOUNT,
    expires: bool = True,
    created_days_ago: float = 10,
    enabled: bool = True,
) -> SecretMeta:
    return SecretMeta(
        vault_url=VAULT,
        name=f"{aid.name}-key",
        version=None,
        enabled=enabled,
        created_on=NOW - timedelta(days=created_days_ago),
        expires_on=NOW + timedelta(days=30) if expires else None,
        tags={"CredentialId": slot.value, "ProviderAddress": str(aid), "ValidityPeriodDays": "60"},
    )


def scan(
    accounts: list[AiAccount],
    operations: list[KeyOperation] = (),  # type: ignore[assignment]
    secrets: list[SecretMeta] = (),  # type: ignore[assignment]
    *,
    now: Any = NOW,
    window_days: int = 90,
    policy: KeyPolicy = POLICY,
    vaults: tuple[str, ...] = (VAULT,),
    warden: str | None = WARDEN,
) -> KeyScanResult:
    return scan_keys(
        KeyScanInput(
            accounts=accounts,
            operations=list(operations),
            secrets=list(secrets),
            vaults=vaults,
            now=now,
            window=timedelta(days=window_days),
            policy=policy,
            warden_principal_id=warden,
        )
    )


def kinds(result: KeyScanResult) -> list[str]:
    return sorted(f.kind for f in result.findings)


def test_a_fresh_managed_account_only_gets_the_entra_recommendation() -> None:
    result = scan([account()], [regen(10, KeySlot.KEY1), regen(40, KeySlot.KEY2)], [secret()])
    assert kinds(result) == ["key:local_auth_enabled"]
    finding = result.findings[0]
    assert "Entra ID" in finding.evidence["recommendation"]
    assert result.rotations == []


def test_an_account_with_local_auth_disabled_has_no_key_findings() -> None:
    result = scan([account(local_auth_disabled=True)])
    assert kinds(result) == []


def test_a_key_regenerated_too_long_ago_is_reported_with_its_age() -> None:
    result = scan([account()], [regen(100, KeySlot.KEY1), regen(10, KeySlot.KEY2)], [secret()])
    aged = [f for f in result.findings if f.kind == "key:age_exceeded"]
    assert len(aged) == 1
    assert aged[0].evidence["key"] == "key1"
    assert aged[0].evidence["age_days"] == 100
    assert aged[0].evidence["older_than_window"] is False
    assert aged[0].evidence["active_in_vault"] is True


def test_a_key_never_regenerated_in_the_window_is_older_than_the_window() -> None:
    result = scan([account()], [regen(10, KeySlot.KEY2)], [secret(KeySlot.KEY2)])
    aged = [f for f in result.findings if f.kind == "key:age_exceeded"]
    assert [f.evidence["key"] for f in aged] == ["key1"]
    evidence = aged[0].evidence
    assert evidence["older_than_window"] is True and evidence["last_regenerated"] is None
    assert "more than 90 days" in evidence["age"]


def test_a_window_shorter_than_max_age_cannot_prove_age_and_says_so() -> None:
    result = scan([account()], [], [secret()], window_days=30)
    assert "key:age_exceeded" not in kinds(result)
    assert result.stats["age_unknown"] == 2
    assert any("shorter than max_age_days" in p for p in result.problems)


def test_regenerations_without_a_key_name_are_attributed_from_key_vault() -> None:
    # Warden regenerated key2 100 days ago and wrote it to the vault 2 minutes later;
    # the activity row lacks KeyName.
    op = regen(100, None)
    meta = secret(KeySlot.KEY2, created_days_ago=100 - 2 / 1440)
    result = scan([account()], [op, regen(5, KeySlot.KEY1)], [meta])
    aged = [f for f in result.findings if f.kind == "key:age_exceeded"]
    assert [f.evidence["key"] for f in aged] == ["key2"]
    assert aged[0].evidence["attributed_from_vault"] is True


def test_unattributable_regenerations_do_not_make_a_key_young() -> None:
    result = scan([account()], [regen(3, None)], [secret(created_days_ago=50)])
    aged = sorted(f.evidence["key"] for f in result.findings if f.kind == "key:age_exceeded")
    assert aged == ["key1", "key2"]
    assert all("unattributed_regenerations" in f.evidence for f in result.findings if f.kind == "key:age_exceeded")


def test_an_account_without_a_vault_secret_is_not_in_vault() -> None:
    result = scan(
        [account(), account(OTHER)], [regen(1, KeySlot.KEY1, aid=OTHER), regen(1, KeySlot.KEY2, aid=OTHER)], [secret()]
    )
    missing = [f for f in result.findings if f.kind == "key:not_in_vault"]
    assert [f.resource for f in missing] == [OTHER]


def test_a_disabled_secret_does_not_count_as_managed() -> None:
    result = scan([account()], [regen(1, KeySlot.KEY1), regen(1, KeySlot.KEY2)], [secret(enabled=False)])
    assert "key:not_in_vault" in kinds(result)


def test_not_in_vault_is_skipped_when_no_vault_is_configured() -> None:
    result = scan([account()], [], [], vaults=())
    assert "key:not_in_vault" not in kinds(result)
    assert any("WARDEN_KEY_VAULTS" in p for p in result.problems)


def test_a_secret_without_expiry_is_reported() -> None:
    result = scan([account()], [regen(1, KeySlot.KEY1), regen(1, KeySlot.KEY2)], [secret(expires=False)])
    found = [f for f in result.findings if f.kind == "key:secret_without_expiry"]
    assert len(found) == 1 and found[0].evidence["secret"] == "contoso-openai-key"


def test_bad_secret_tags_are_a_problem_not_a_crash() -> None:
    bad = SecretMeta(
        vault_url=VAULT, name="broken", version=None, tags={"CredentialId": "key9", "ProviderAddress": str(ACCOUNT)}
    )
    result = scan([account()], [], [bad, secret()])
    assert any("broken" in p and "CredentialId" in p for p in result.problems)


def test_key_operations_by_other_callers_are_out_of_band() -> None:
    ops = [
        regen(1, KeySlot.KEY1, caller=WARDEN.upper(), cid="mine"),
        regen(2, KeySlot.KEY2, caller="mallory@contoso.com", cid="theirs"),
        KeyOperation(
            NOW - timedelta(hours=5), ACCOUNT, KeyOperationKind.LIST_KEYS, "app-sp-guid", "203.0.113.9", "list-1", None
        ),
    ]
    result = scan([account()], ops, [secret()])
    oob = [f for f in result.findings if f.kind == "key:out_of_band_operation"]
    assert sorted(f.evidence["operation"] for f in oob) == ["listKeys", "regenerateKey"]
    assert {f.evidence["caller"] for f in oob} == {"mallory@contoso.com", "app-sp-guid"}


def test_out_of_band_is_not_judged_without_wardens_identity() -> None:
    result = scan([account()], [regen(1, KeySlot.KEY1, caller="someone")], [secret()], warden=None)
    assert "key:out_of_band_operation" not in kinds(result)
    assert any("WARDEN_IDENTITY_PRINCIPAL_ID" in p for p in result.problems)


def test_operations_on_accounts_outside_the_inventory_are_ignored() -> None:
    result = scan([account()], [regen(1, KeySlot.KEY1, caller="someone", aid=OTHER)], [secret()])
    assert "key:out_of_band_operation" not in kinds(result)


def test_dedupe_keys_are_stable_across_scans() -> None:
    ops = [regen(100, KeySlot.KEY1), regen(2, KeySlot.KEY2, caller="someone", cid="x1")]
    first = scan([account(), account(OTHER)], ops, [secret(expires=False)])
    later = scan([account(), account(OTHER)], ops, [secret(expires=False)], now=NOW + timedelta(hours=6))
    assert sorted(f.dedupe_key for f in first.findings) == sorted(f.dedupe_key for f in later.findings)
    assert len({f.dedupe_key for f in first.findings}) == len(first.findings)


def test_a_regenerated_key_gets_a_new_age_dedupe_key() -> None:
    before = scan([account()], [regen(100, KeySlot.KEY1), regen(1, KeySlot.KEY2)], [secret()])
    after = scan(
        [account()], [regen(100, KeySlot.KEY1), regen(1, KeySlot.KEY2), regen(95, KeySlot.KEY1, cid="c2")], [secret()]
    )
    key = {f.dedupe_key for f in before.findings if f.kind == "key:age_exceeded"}
    key_after = {f.dedupe_key for f in after.findings if f.kind == "key:age_exceeded"}
    assert key and key_after and key != key_after


def test_accounts_with_old_keys_and_a_vault_secret_are_rotation_candidates() -> None:
    result = scan([account(), account(OTHER)], [regen(100, KeySlot.KEY1), regen(100, KeySlot.KEY2)], [secret()])
    assert [(c.account, c.secret_name) for c in result.rotations] == [(ACCOUNT, "contoso-openai-key")]
    assert "key1" in result.rotations[0].reason


def test_no_rotation_candidates_when_policy_disables_auto_rotation() -> None:
    policy = KeyPolicy(max_age_days=90, auto_rotate_on_age=False)
    result = scan([account()], [regen(100, KeySlot.KEY1)], [secret()], policy=policy)
    assert result.rotations == [] and "key:age_exceeded" in kinds(result)


def test_key_operation_rows_are_parsed_tolerantly() -> None:
    rows: list[dict[str, Any]] = [
        {
            "TimeGenerated": "2026-11-20T10:00:00Z",
            "ResourceId": str(ACCOUNT).upper(),
            "OperationNameValue": "MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION",
            "Caller": "x",
            "KeyName": "Key2",
            "CorrelationId": "c",
        },
        {"TimeGenerated": "2026-11-20T10:00:00Z", "ResourceId": "garbage", "OperationNameValue": "x"},
        {
            "TimeGenerated": None,
            "ResourceId": str(ACCOUNT),
            "OperationNameValue": "Microsoft.CognitiveServices/accounts/listKeys/action",
        },
    ]
    operations, problems = parse_key_operations(rows)
    assert len(operations) == 1 and operations[0].account == ACCOUNT and operations[0].key is KeySlot.KEY2
    assert len(problems) == 2 and all("key_operations row" in p for p in problems)
