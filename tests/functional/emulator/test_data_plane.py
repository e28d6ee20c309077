"""The data-plane key probe (``DataPlaneProbe``) against account endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ports.probe import KeyRejectedError
from tests.functional.emulator.conftest import (
    ACCOUNT_DEV,
    ACCOUNT_PROD_ID,
    ENDPOINT_AIS,
    ENDPOINT_DEV,
    ENDPOINT_PROD,
    RG_DEV,
    SUB_DEV,
    Env,
)


def test_current_keys_are_accepted(env: Env) -> None:
    keys: Any = env.clients.cognitive(SUB_DEV).accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    probe = env.clients.data_plane()
    probe.check_key(ENDPOINT_DEV, keys.key1)
    probe.check_key(ENDPOINT_DEV, keys.key2)
    assert env.emulator.counts()["status"]["dataplane.probe"] == {"200": 2}


def test_old_key_is_rejected_right_after_regeneration(env: Env) -> None:
    cognitive = env.clients.cognitive(SUB_DEV)
    old: Any = cognitive.accounts.list_keys(RG_DEV, ACCOUNT_DEV)
    new: Any = cognitive.accounts.regenerate_key(RG_DEV, ACCOUNT_DEV, key_name="Key1")
    probe = env.clients.data_plane()
    probe.check_key(ENDPOINT_DEV, new.key1)
    with pytest.raises(KeyRejectedError):
        probe.check_key(ENDPOINT_DEV, old.key1)
    probe.check_key(ENDPOINT_DEV, old.key2)  # the other slot still works


def test_key_of_another_account_is_rejected(env: Env) -> None:
    other = env.emulator.account_keys(ACCOUNT_PROD_ID)["key1"]
    with pytest.raises(KeyRejectedError):
        env.clients.data_plane().check_key(ENDPOINT_DEV, other)


def test_keys_are_rejected_when_local_auth_is_disabled(env: Env) -> None:
    keys = env.emulator.account_keys(
        "/subscriptions/1f3c9a52-6b1e-4c7e-9a41-2d5b8e0c7a11/resourceGroups/rg-contoso-ai-prod"
        "/providers/Microsoft.CognitiveServices/accounts/contoso-aiservices-prod"
    )
    with pytest.raises(KeyRejectedError):
        env.clients.data_plane().check_key(ENDPOINT_AIS, keys["key1"])


def test_probe_works_on_the_prod_endpoint(env: Env) -> None:
    env.clients.data_plane().check_key(ENDPOINT_PROD, env.emulator.account_keys(ACCOUNT_PROD_ID)["key2"])
