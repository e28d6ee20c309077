"""Key settings: defaults, overrides, and errors naming the variable and value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.keys.config import KeysConfigError, load_keys_config, vault_url


def test_defaults_are_sane() -> None:
    config = load_keys_config({})
    assert config.vault_urls == () and config.scan_schedule == "0 0 3 * * *"
    assert config.activity_window == timedelta(days=90)
    assert config.policy.emergency_rotation_requires_approval is True
    assert config.policy.kinds == ("OpenAI", "AIServices")


def test_overrides_are_read() -> None:
    config = load_keys_config(
        {
            "WARDEN_KEY_VAULTS": "kv-one, https://KV-Two.vault.azure.net/ ,kv-one",
            "WARDEN_KEY_SCAN_SCHEDULE": "0 30 2 * * *",
            "WARDEN_KEY_GRACE_PERIOD": "0",
            "WARDEN_KEY_APPROVAL_TIMEOUT": "30m",
            "WARDEN_KEY_BOTH_EXPOSED": "yes",
            "WARDEN_KEY_KINDS": "OpenAI,AIServices,CognitiveServices",
        }
    )
    assert config.vault_urls == ("https://kv-one.vault.azure.net", "https://kv-two.vault.azure.net")
    assert config.policy.grace_period == timedelta(0)
    assert config.policy.approval_timeout == timedelta(minutes=30)
    assert config.policy.both_keys_exposed is True
    assert "CognitiveServices" in config.policy.kinds


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(KeysConfigError) as caught:
        load_keys_config(
            {
                "WARDEN_KEY_VAULTS": "http://kv.example",
                "WARDEN_KEY_SCAN_SCHEDULE": "daily",
                "WARDEN_KEY_MAX_AGE_DAYS": "0",
                "WARDEN_KEY_AUTO_ROTATE": "maybe",
                "WARDEN_KEY_GRACE_PERIOD": "5",
            }
        )
    text = str(caught.value)
    for name in (
        "WARDEN_KEY_VAULTS",
        "WARDEN_KEY_SCAN_SCHEDULE",
        "WARDEN_KEY_MAX_AGE_DAYS",
        "WARDEN_KEY_AUTO_ROTATE",
        "WARDEN_KEY_GRACE_PERIOD",
    ):
        assert name in text
    assert len(caught.value.problems) == 5


def test_vault_url_accepts_names_and_urls_only() -> None:
    assert vault_url("kv-a1") == "https://kv-a1.vault.azure.net"
    with pytest.raises(ValueError, match="vault"):
        vault_url("https://kv.vault.azure.net/secrets/x")
