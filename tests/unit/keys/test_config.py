"""Key configuration comes from validated settings and the policy file, nowhere else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.bootstrap import build_keys_config
from shared.policy import load_policy, parse_policy
from shared.settings import SettingsError, load_settings, vault_url

SUB = "00000000-0000-0000-0000-000000000001"
ROOT = Path(__file__).resolve().parents[3]


def test_defaults_from_settings_and_the_shipped_policy() -> None:
    config = build_keys_config(load_settings(subscription_ids=[SUB]), load_policy(ROOT / "policy.yaml"))
    assert config.vault_urls == ()
    assert config.scan_schedule == "0 0 3 * * *"
    assert config.activity_window == timedelta(days=90)
    assert config.policy.max_age_days == 90
    assert config.policy.emergency_rotation_requires_approval is True
    assert config.policy.auto_rotate_on_age is True  # the shipped key-age rule rotates
    assert config.policy.kinds == ("OpenAI", "AIServices")


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_KEY_VAULTS", "kv-one, https://kv-two.vault.azure.net/")
    monkeypatch.setenv("WARDEN_KEY_SCAN_SCHEDULE", "0 30 2 * * *")
    monkeypatch.setenv("WARDEN_KEY_PROBE_ATTEMPTS", "3")
    monkeypatch.setenv("WARDEN_KEY_KINDS", "OpenAI")
    config = build_keys_config(load_settings(subscription_ids=[SUB]), load_policy(ROOT / "policy.yaml"))
    assert config.vault_urls == ("https://kv-one.vault.azure.net", "https://kv-two.vault.azure.net")
    assert config.scan_schedule == "0 30 2 * * *"
    assert config.probe_attempts == 3
    assert config.policy.kinds == ("OpenAI",)


def test_every_bad_key_setting_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_KEY_VAULTS", "not a vault!")
    monkeypatch.setenv("WARDEN_KEY_SCAN_SCHEDULE", "daily")
    monkeypatch.setenv("WARDEN_KEY_PROBE_ATTEMPTS", "0")
    with pytest.raises(SettingsError) as caught:
        load_settings(subscription_ids=[SUB])
    text = "\n".join(caught.value.problems)
    assert "WARDEN_KEY_VAULTS" in text and "expected a vault name" in text
    assert "WARDEN_KEY_SCAN_SCHEDULE='daily': expected a six-field NCRONTAB" in text
    assert "WARDEN_KEY_PROBE_ATTEMPTS='0'" in text


def test_policy_sections_drive_rotation_behaviour() -> None:
    text = (ROOT / "policy.yaml").read_text()
    text = text.replace("credential_theft_rotates_both: false", "credential_theft_rotates_both: true")
    policy = parse_policy(text)
    config = build_keys_config(load_settings(subscription_ids=[SUB]), policy)
    assert config.policy.both_keys_exposed is policy.keys.credential_theft_rotates_both
    assert config.policy.approval_timeout == policy.approvals.timeout
    assert config.policy.validity_days == policy.keys.validity_period_days


def test_vault_url_accepts_names_and_urls_only() -> None:
    assert vault_url("KV-Contoso") == "https://kv-contoso.vault.azure.net"
    assert vault_url("https://kv.vault.azure.net/") == "https://kv.vault.azure.net"
    for bad in ("http://kv.vault.azure.net", "https://kv.vault.azure.net/secrets/x", "a", "kv_bad"):
        with pytest.raises(ValueError, match="expected a vault name"):
            vault_url(bad)
