"""The Key Vault secrets port: read, list, write and update secrets that hold account keys.

``SecretsPort`` is what Warden asks of Key Vault; ``AzureSecrets`` implements it over the
``SecretClient`` that ``AzureClients.secrets(vault_url)`` builds; ``shared.azure.fakes.FakeSecrets``
is the in-memory twin. Every method takes the vault URL (``https://{name}.vault.azure.net``).

Secret values appear only in ``SecretValue.value`` (hidden from ``repr``) and are registered
with the log redactor as soon as they are read or written.

Errors: ``SecretNotFoundError`` (HTTP 404), ``VaultAccessDeniedError`` naming the missing data
action (HTTP 401/403), ``VaultError`` for anything else. Permissions are Key Vault RBAC data
actions (role "Key Vault Secrets Officer" covers them all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from shared.observability import register_secret

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

    from shared.azure.clients import AzureClients

__all__ = [
    "AzureSecrets",
    "SecretMeta",
    "SecretNotFoundError",
    "SecretValue",
    "SecretsPort",
    "VaultAccessDeniedError",
    "VaultError",
]

T = TypeVar("T")


class VaultError(RuntimeError):
    """A Key Vault call failed (the message names the vault, secret and operation)."""


class SecretNotFoundError(VaultError):
    """The secret (or the version) does not exist (HTTP 404)."""


class VaultAccessDeniedError(VaultError):
    """Warden's identity lacks the data action named in the message (HTTP 401/403)."""


@dataclass(frozen=True, slots=True)
class SecretMeta:
    """A secret's properties (no value).

    ``version`` is ``None`` in vault-wide listings (Key Vault's list of secrets names no
    version); it is set when a single secret or version was read or written.
    """

    vault_url: str
    name: str
    version: str | None
    enabled: bool = True
    created_on: datetime | None = None
    updated_on: datetime | None = None
    expires_on: datetime | None = None
    not_before: datetime | None = None
    content_type: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def vault_name(self) -> str:
        return (urlsplit(self.vault_url).hostname or "").split(".")[0]


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A secret version with its value. ``repr`` hides the value; never log or return it."""

    meta: SecretMeta
    value: str = field(repr=False)


class SecretsPort(Protocol):
    """Key Vault secret operations Warden uses."""

    def get_secret(self, vault_url: str, name: str, version: str | None = None) -> SecretValue:
        """A version (default: the latest) with its value and properties.

        Requires ``Microsoft.KeyVault/vaults/secrets/getSecret/action`` (secrets/get).
        """
        ...

    def list_properties(self, vault_url: str) -> list[SecretMeta]:
        """Properties of every secret's latest version (one paged listing, no values).

        Requires ``Microsoft.KeyVault/vaults/secrets/readMetadata/action`` (secrets/list).
        """
        ...

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
        """Write a new version. Requires ``Microsoft.KeyVault/vaults/secrets/setSecret/action``."""
        ...

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
        """Change a version's attributes or tags (not its value).

        Requires ``Microsoft.KeyVault/vaults/secrets/update/action`` (secrets/set).
        """
        ...


# --------------------------------------------------------------------------------------------
# the real adapter
# --------------------------------------------------------------------------------------------
def _call(what: str, permission: str, fn: Callable[[], T]) -> T:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    try:
        return fn()
    except ResourceNotFoundError:
        raise SecretNotFoundError(f"{what}: not found (HTTP 404)") from None
    except ClientAuthenticationError as exc:
        raise VaultAccessDeniedError(
            f"{what}: access denied (HTTP {exc.status_code}); Warden's identity needs {permission}"
        ) from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise VaultAccessDeniedError(
                f"{what}: access denied (HTTP 403); Warden's identity needs {permission}"
            ) from None
        code = getattr(exc.error, "code", None) if exc.error is not None else None
        raise VaultError(f"{what}: HTTP {exc.status_code} {code or exc.reason or ''}".rstrip()) from None


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
