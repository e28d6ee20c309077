"""The Key Vault secrets port: read, list, write and update secrets that hold account keys.

``SecretsPort`` is what Warden asks of Key Vault, with its data and errors. The Azure
implementation is ``shared.azure.vault.AzureSecrets``; unit tests use ``tests.fakes.FakeSecrets``.
Every method takes the vault URL (``https://{name}.vault.azure.net``).

Secret values appear only in ``SecretValue.value`` (hidden from ``repr``); implementations
register them with the log redactor as soon as they are read or written.

Errors: ``SecretNotFoundError`` (HTTP 404), ``VaultAccessDeniedError`` naming the missing data
action (HTTP 401/403), ``VaultError`` for anything else. Permissions are Key Vault RBAC data
actions (role "Key Vault Secrets Officer" covers them all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

__all__ = [
    "SecretMeta",
    "SecretNotFoundError",
    "SecretValue",
    "SecretsPort",
    "VaultAccessDeniedError",
    "VaultError",
]


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
