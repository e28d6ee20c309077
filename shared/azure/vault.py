"""``SecretsPort`` over ``azure-keyvault-secrets``: the Azure implementation.

One ``SecretClient`` per vault (``AzureClients.secrets(vault_url)``); every call goes through
``shared.azure.errors.azure_call`` (``shared.ports.secrets`` errors: not found, access denied
naming the data action, other). Values read or written are registered with the log redactor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shared.azure.errors import ErrorKinds, azure_call
from shared.observability import register_secret
from shared.ports.secrets import SecretMeta, SecretNotFoundError, SecretValue, VaultAccessDeniedError, VaultError

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

    from shared.azure.clients import AzureClients

__all__ = ["AzureSecrets"]

T = TypeVar("T")

_KINDS = ErrorKinds(failed=VaultError, denied=VaultAccessDeniedError, not_found=SecretNotFoundError)


def _call(what: str, permission: str, fn: Callable[[], T]) -> T:
    return azure_call(what, permission, fn, _KINDS)


def _meta(vault_url: str, props: Any) -> SecretMeta:
    return SecretMeta(
        vault_url=vault_url,
        name=props.name,
        version=props.version,
        enabled=bool(props.enabled) if props.enabled is not None else True,
        created_on=props.created_on,
        updated_on=props.updated_on,
        expires_on=props.expires_on,
        not_before=props.not_before,
        content_type=props.content_type,
        tags=dict(props.tags or {}),
    )


_GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
_LIST = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
_SET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
_UPDATE = "Microsoft.KeyVault/vaults/secrets/update/action"


class AzureSecrets:
    """``SecretsPort`` over ``azure-keyvault-secrets`` (one ``SecretClient`` per vault)."""

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    def _client(self, vault_url: str) -> SecretClient:
        return self._clients.secrets(vault_url)

    def get_secret(self, vault_url: str, name: str, version: str | None = None) -> SecretValue:
        client = self._client(vault_url)
        what = f"read secret {name!r}{' version ' + version if version else ''} in {vault_url}"
        secret = _call(what, _GET, lambda: client.get_secret(name, version))
        value = secret.value or ""
        register_secret(value)
        return SecretValue(meta=_meta(vault_url, secret.properties), value=value)

    def list_properties(self, vault_url: str) -> list[SecretMeta]:
        client = self._client(vault_url)
        items = _call(f"list secrets in {vault_url}", _LIST, lambda: list(client.list_properties_of_secrets()))
        return [_meta(vault_url, p) for p in items]

    def set_secret(
        self,
        vault_url: str,
        name: str,
        value: str,
        *,
        tags: Mapping[str, str],
        expires_on: datetime | None,
        content_type: str | None = None,
    ) -> SecretMeta:
        register_secret(value)
        client = self._client(vault_url)
        secret = _call(
            f"write secret {name!r} in {vault_url}",
            _SET,
            lambda: client.set_secret(name, value, tags=dict(tags), expires_on=expires_on, content_type=content_type),
        )
        return _meta(vault_url, secret.properties)

    def update_properties(
        self,
        vault_url: str,
        name: str,
        version: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        expires_on: datetime | None = None,
        enabled: bool | None = None,
    ) -> SecretMeta:
        client = self._client(vault_url)
        kwargs: dict[str, Any] = {}
        if tags is not None:
            kwargs["tags"] = dict(tags)
        if expires_on is not None:
            kwargs["expires_on"] = expires_on
        if enabled is not None:
            kwargs["enabled"] = enabled
        props = _call(
            f"update secret {name!r} in {vault_url}",
            _UPDATE,
            lambda: client.update_secret_properties(name, version, **kwargs),
        )
        return _meta(vault_url, props)
