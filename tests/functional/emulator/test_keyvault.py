"""Key Vault secrets through the real SecretClient, including the 401 challenge handshake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import DEMO_TENANT, Emulator
from tests.functional.emulator.conftest import ACCOUNT_PROD_ID, VAULT_URL, Env


def test_first_request_goes_through_the_challenge_handshake(env: Env) -> None:
    # The SDK caches a host's challenge for the whole process: use a vault no test used before.
    name = f"kv{uuid.uuid4().hex[:16]}"
    tenant = yaml.safe_load(DEMO_TENANT.read_text())
    tenant["subscriptions"][0]["resource_groups"][1]["vaults"].append(
        {"name": name, "secrets": [{"name": "s", "value": "v1"}]}
    )
    env.emulator.load_tenant(tenant)
    client = env.clients.secrets(f"https://{name}.vault.azure.net")
    assert client.get_secret("s").value == "v1"
    assert env.emulator.calls("keyvault.challenge") == 1
    assert env.emulator.calls("keyvault.getSecret") == 1
    assert env.emulator.counts()["status"]["keyvault.getSecret"] == {"200": 1}
    client.get_secret("s")
    assert env.emulator.calls("keyvault.challenge") == 1  # the challenge is cached per host
    assert env.emulator.calls("keyvault.getSecret") == 2


def test_seeded_secret_holds_the_account_key(env: Env) -> None:
    secret = env.clients.secrets(VAULT_URL).get_secret("contoso-openai-prod-key")
    assert secret.value == env.emulator.account_keys(ACCOUNT_PROD_ID)["key1"]


def test_request_without_token_gets_the_challenge(emulator: Emulator) -> None:
    status, headers, _ = emulator.handle("GET", f"{VAULT_URL}/secrets/x?api-version=7.6", {}, None)
    assert status == 401
    assert headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{emulator.tenant_id}", '
        'resource="https://vault.azure.net"'
    )


def test_seeded_secret_follows_the_dual_credential_tag_convention(env: Env) -> None:
    secret = env.clients.secrets(VAULT_URL).get_secret("contoso-openai-prod-key")
    assert secret.properties.tags == {
        "CredentialId": "key1",
        "ProviderAddress": ACCOUNT_PROD_ID,
        "ValidityPeriodDays": "60",
    }
    assert secret.properties.expires_on == datetime(2027, 1, 10, tzinfo=UTC)
    assert secret.properties.content_type == "text/plain"
    assert str(secret.id).startswith(f"{VAULT_URL}/secrets/contoso-openai-prod-key/")


def test_set_secret_creates_a_new_version_readable_by_version(env: Env) -> None:
    client = env.clients.secrets(VAULT_URL)
    old = client.get_secret("contoso-openai-prod-key")
    expires = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    new = client.set_secret("contoso-openai-prod-key", "new-value", tags={"CredentialId": "key2"}, expires_on=expires)
    assert new.properties.version != old.properties.version
    assert len(new.properties.version or "") == 32
    assert client.get_secret("contoso-openai-prod-key").value == "new-value"
    assert client.get_secret("contoso-openai-prod-key", old.properties.version).value == old.value
    assert client.get_secret("contoso-openai-prod-key").properties.expires_on == expires


def test_list_versions_pages_through_every_version(env: Env) -> None:
    env.emulator.keyvault_page_size = 2
    client = env.clients.secrets(VAULT_URL)
    for index in range(4):
        client.set_secret("rotating", f"value-{index}")
    versions = list(client.list_properties_of_secret_versions("rotating"))
    assert len(versions) == 4
    assert env.emulator.calls("keyvault.listSecretVersions") == 2


def test_list_secrets_returns_properties_without_values(env: Env) -> None:
    names = sorted(str(p.name) for p in env.clients.secrets(VAULT_URL).list_properties_of_secrets())
    assert names == ["contoso-openai-dev-key", "contoso-openai-prod-key"]


def test_update_properties_disables_the_secret(env: Env) -> None:
    client = env.clients.secrets(VAULT_URL)
    updated = client.update_secret_properties("contoso-openai-dev-key", enabled=False, tags={"state": "revoked"})
    assert updated.enabled is False
    assert updated.tags == {"state": "revoked"}
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("contoso-openai-dev-key")
    assert info.value.status_code == 403
    client.update_secret_properties("contoso-openai-dev-key", enabled=True)
    assert client.get_secret("contoso-openai-dev-key").properties.enabled is True


def test_unknown_secret_raises_secret_not_found(env: Env) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        env.clients.secrets(VAULT_URL).get_secret("does-not-exist")
    assert info.value.error is not None and info.value.error.code == "SecretNotFound"


def test_unknown_version_raises_secret_not_found(env: Env) -> None:
    with pytest.raises(ResourceNotFoundError):
        env.clients.secrets(VAULT_URL).get_secret("contoso-openai-prod-key", "0" * 32)


def test_injected_server_error_is_retried_by_the_sdk(inprocess: Env) -> None:
    inprocess.emulator.inject_fault("keyvault.setSecret", "error", status=503, count=1)
    client = inprocess.clients.secrets(VAULT_URL)
    client.set_secret("after-outage", "v", expires_on=datetime.now(UTC) + timedelta(days=1))
    assert inprocess.emulator.calls("keyvault.setSecret") == 2
    assert inprocess.emulator.counts()["status"]["keyvault.setSecret"] == {"200": 1, "503": 1}
