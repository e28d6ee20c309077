"""Settings are read from the environment and validated at start-up with actionable errors."""

from __future__ import annotations

import re

import pytest

from shared.settings import SettingsError, load_settings

SUB = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WARDEN_") or name in {"APPLICATIONINSIGHTS_CONNECTION_STRING", "AZURE_CLIENT_ID"}:
            monkeypatch.delenv(name)


def test_minimal_environment_gives_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    settings = load_settings()
    assert settings.subscription_ids == [SUB]
    assert settings.dry_run is False
    assert settings.task_hub == "WardenHub"
    assert settings.arm_endpoint == "https://management.azure.com"
    assert settings.uses_emulator is False


def test_subscription_list_is_split_trimmed_and_lower_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", f" {SUB} , AAAAAAAA-0000-0000-0000-000000000002 ")
    assert load_settings().subscription_ids == [SUB, "aaaaaaaa-0000-0000-0000-000000000002"]


def test_missing_required_setting_is_named_with_its_meaning() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings()
    (problem,) = info.value.problems
    assert problem.startswith("WARDEN_SUBSCRIPTION_IDS is missing")
    assert "subscription GUIDs" in problem


def test_malformed_settings_are_all_reported_with_value_and_expectation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", "not-a-guid")
    monkeypatch.setenv("WARDEN_TASK_HUB", "x")
    monkeypatch.setenv("WARDEN_DRY_RUN", "perhaps")
    monkeypatch.setenv("WARDEN_ARM_ENDPOINT", "http://management.example.com")
    with pytest.raises(SettingsError) as info:
        load_settings()
    text = "\n".join(info.value.problems)
    assert "WARDEN_SUBSCRIPTION_IDS='not-a-guid': expected a subscription GUID" in text
    assert "WARDEN_TASK_HUB='x': expected 3-45 letters and digits" in text
    assert "WARDEN_DRY_RUN='perhaps'" in text
    assert "WARDEN_ARM_ENDPOINT='http://management.example.com': expected an https:// URL" in text
    assert len(info.value.problems) == 4


def test_secret_values_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    monkeypatch.setenv("WARDEN_TEAMS_WEBHOOK_URL", "")
    monkeypatch.setenv("WARDEN_NOTIFY_TOPIC_ENDPOINT", "ftp://topic-s3cr3t-value")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "WARDEN_NOTIFY_TOPIC_ENDPOINT" in str(info.value)
    settings_repr = repr(load_settings(notify_topic_endpoint=None, teams_webhook_url="https://hook/s3cr3t"))
    assert "s3cr3t" not in settings_repr


def test_emulator_url_must_be_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    monkeypatch.setenv("WARDEN_EMULATOR_URL", "http://10.0.0.5:8080")
    with pytest.raises(SettingsError, match=re.escape("WARDEN_EMULATOR_URL='http://10.0.0.5:8080': expected an http")):
        load_settings()
    monkeypatch.setenv("WARDEN_EMULATOR_URL", "http://127.0.0.1:8080/")
    settings = load_settings()
    assert settings.emulator_url == "http://127.0.0.1:8080"
    assert settings.uses_emulator


def test_overrides_by_field_name_take_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    settings = load_settings(dry_run=True, task_hub="DemoHub")
    assert settings.dry_run is True
    assert settings.task_hub == "DemoHub"


def test_event_size_limit_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    monkeypatch.setenv("WARDEN_MAX_EVENT_BYTES", "10")
    with pytest.raises(SettingsError, match="WARDEN_MAX_EVENT_BYTES='10'"):
        load_settings()


def test_log_level_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_SUBSCRIPTION_IDS", SUB)
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError, match="WARDEN_LOG_LEVEL='loud'"):
        load_settings()
