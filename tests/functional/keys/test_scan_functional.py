"""The key scan and the timer glue through the real SDK clients against the emulator."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

from shared.bootstrap import container
from shared.contracts.rotation import rotation_instance_id
from shared.keys.policy import KeyPolicy
from shared.keys.slots import KeySlot
from shared.usecases.key_hygiene import run_key_scan, scan_keys_and_rotate
from tests.functional.keys.conftest import ACCOUNT, SECRET, SUB, VAULT, WARDEN, WORKSPACE, Estate
from tests.unit.keys.test_handlers import FakeDurableClient


def _old_regeneration(estate: Estate, days: int, key: str, caller: str = WARDEN) -> None:
    when = datetime.now(UTC) - timedelta(days=days)
    estate.emulator.append_rows(
        WORKSPACE,
        "AzureActivity",
        [
            {
                "TimeGenerated": when,
                "OperationNameValue": "MICROSOFT.COGNITIVESERVICES/ACCOUNTS/REGENERATEKEY/ACTION",
                "ActivityStatusValue": "Succeeded",
                "Caller": caller,
                "CorrelationId": f"corr-{days}-{key}",
                "ResourceId": str(ACCOUNT).upper(),
                "Properties_d": {"requestbody": f'{{"keyName":"{key}"}}'},
            }
        ],
    )


def test_the_scan_stays_within_its_call_budget(estate: Estate) -> None:
    _old_regeneration(estate, 120, "Key1")
    _old_regeneration(estate, 5, "Key2", caller="mallory@contoso.com")
    estate.emulator.reset_counters()
    result = run_key_scan(
        estate.ports,
        subscriptions=[SUB],
        vaults=[VAULT],
        window=timedelta(days=90),
        policy=KeyPolicy(),
        warden_principal_id=WARDEN,
    )
    calls = {api: n for api, n in estate.emulator.counts()["calls"].items() if n}
    accounts = result.stats["accounts"]
    assert accounts == 4  # 2 OpenAI + 2 AIServices; the SpeechServices account is out of scope
    assert calls.pop("resourcegraph.query") == math.ceil(accounts / 1000)
    assert calls.pop("logs.query") == 1
    assert calls.pop("keyvault.listSecrets") == 1
    calls.pop("keyvault.challenge", None)  # the SDK's first, body-less request to a new vault host
    assert calls == {}, f"unexpected calls (per-account calls are not allowed): {calls}"
    kinds = result.kinds()
    assert kinds["key:not_in_vault"] == 3  # the fabrikam accounts
    assert kinds["key:out_of_band_operation"] == 1
    ours = [f for f in result.findings if f.kind == "key:age_exceeded" and f.resource == ACCOUNT]
    assert sorted(f.evidence["key"] for f in ours) == ["key1"]  # key2 regenerated 5 days ago
    assert ours[0].evidence["older_than_window"] is True  # 120 days ago is before the 90-day window


def test_the_timer_starts_a_rotation_for_an_old_key(estate: Estate) -> None:
    _old_regeneration(estate, 200, "Key1")
    _old_regeneration(estate, 150, "Key2")
    client = FakeDurableClient()
    summary = asyncio.run(scan_keys_and_rotate(container().key_hygiene_deps(client)))
    version = estate.ports.secrets.get_secret(VAULT, SECRET).meta.version
    assert version
    assert summary["rotations_started"] == 1
    assert client.starts[0][1] == rotation_instance_id(ACCOUNT, version)
    assert summary["findings"]["key:age_exceeded"] >= 2
    assert KeySlot.KEY1.value in client.starts[0][2]["reason"]
