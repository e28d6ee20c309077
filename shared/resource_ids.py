"""ARM resource ids for the resources Warden reads and changes.

``parse_resource_id`` turns an id string into one of four typed ids (account, deployment,
key vault, Log Analytics workspace) or raises ``InvalidResourceIdError`` saying which part was
wrong. Ids compare case-insensitively, as ARM does, and print in a canonical casing.

Example::

    >>> rid = parse_resource_id(
    ...     "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-ai"
    ...     "/providers/Microsoft.CognitiveServices/accounts/contoso-openai/deployments/gpt-4o"
    ... )
    >>> rid.account.name, rid.name
    ('contoso-openai', 'gpt-4o')
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, Union

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = [
    "AccountId",
    "DeploymentId",
    "InvalidResourceIdError",
    "ResourceId",
    "VaultId",
    "WorkspaceId",
    "parse_resource_id",
]

# ARM naming rules (learn.microsoft.com "Naming rules and restrictions for Azure resources").
_RG_RE = re.compile(r"^[-\w._()]{1,90}$")
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
_DEPLOYMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VAULT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
_MAX_ID_LENGTH = 1024


class InvalidResourceIdError(ValueError):
    """A string is not a well-formed ARM id of a kind Warden handles."""

    def __init__(self, value: object, reason: str) -> None:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 200 else repr(value[:200] + "...")
        super().__init__(f"invalid Azure resource id {shown}: {reason}")
        self.value = value
        self.reason = reason


def _check_subscription(value: str, raw: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise InvalidResourceIdError(raw, f"subscription {value!r} is not a GUID") from None
    if len(value) != 36:
        raise InvalidResourceIdError(raw, f"subscription {value!r} is not in the 8-4-4-4-12 GUID form")
    return value.lower()


def _check(pattern: re.Pattern[str], value: str, what: str, raw: str) -> str:
    if not pattern.match(value):
        raise InvalidResourceIdError(raw, f"{what} {value!r} breaks Azure's naming rules")
    return value


T = TypeVar("T", bound="_BaseId")


@dataclass(frozen=True, slots=True)
class _BaseId:
    """Common behaviour: canonical string, case-insensitive equality, pydantic support."""

    kind: ClassVar[str] = ""

    def __str__(self) -> str:
        return self.as_arm_id()

    def as_arm_id(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _key(self) -> str:
        return self.as_arm_id().lower()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _BaseId):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @classmethod
    def parse(cls: type[T], value: str) -> T:
        """Parse ``value`` and require this kind of id."""
        parsed = parse_resource_id(value)
        if not isinstance(parsed, cls):
            raise InvalidResourceIdError(value, f"expected a {cls.kind} id, got a {parsed.kind} id")
        return parsed

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Any:
            if isinstance(value, cls):
                return value
            if not isinstance(value, str):
                raise ValueError(f"expected a resource id string, got {type(value).__name__}")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(),
        )


@dataclass(frozen=True, slots=True, eq=False)
class AccountId(_BaseId):
    """A Cognitive Services account (Azure OpenAI or AI Services)."""

    subscription_id: str
    resource_group: str
    name: str
    kind: ClassVar[str] = "account"

    def as_arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    def deployment(self, name: str) -> DeploymentId:
        """The id of one of this account's model deployments."""
        raw = f"{self.as_arm_id()}/deployments/{name}"
        return DeploymentId(self, _check(_DEPLOYMENT_RE, name, "deployment name", raw))

    @property
    def account(self) -> AccountId:
        """The account itself (so accounts and deployments both answer ``.account``)."""
        return self


@dataclass(frozen=True, slots=True, eq=False)
class DeploymentId(_BaseId):
    """A model deployment under a Cognitive Services account."""

    account: AccountId
    name: str
    kind: ClassVar[str] = "deployment"

    @property
    def subscription_id(self) -> str:
        return self.account.subscription_id

    @property
    def resource_group(self) -> str:
        return self.account.resource_group

    def as_arm_id(self) -> str:
        return f"{self.account.as_arm_id()}/deployments/{self.name}"


@dataclass(frozen=True, slots=True, eq=False)
class VaultId(_BaseId):
    """A Key Vault."""

    subscription_id: str
    resource_group: str
    name: str
    kind: ClassVar[str] = "vault"

    def as_arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    @property
    def vault_url(self) -> str:
        """The data-plane URL in the public cloud (``https://{name}.vault.azure.net``)."""
        return f"https://{self.name.lower()}.vault.azure.net"


@dataclass(frozen=True, slots=True, eq=False)
class WorkspaceId(_BaseId):
    """A Log Analytics workspace."""

    subscription_id: str
    resource_group: str
    name: str
    kind: ClassVar[str] = "workspace"

    def as_arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.OperationalInsights/workspaces/{self.name}"
        )


ResourceId = Union[AccountId, DeploymentId, VaultId, WorkspaceId]  # noqa: UP007 - used at runtime

_PROVIDERS = {
    ("microsoft.cognitiveservices", "accounts"): "account",
    ("microsoft.keyvault", "vaults"): "vault",
    ("microsoft.operationalinsights", "workspaces"): "workspace",
}


def parse_resource_id(value: str) -> ResourceId:
    """Parse an ARM id of an account, deployment, vault or workspace.

    Accepts any casing of the fixed segments and a trailing slash. Raises
    ``InvalidResourceIdError`` naming the wrong part otherwise.
    """
    if not isinstance(value, str):
        raise InvalidResourceIdError(value, f"expected a string, got {type(value).__name__}")
    if len(value) > _MAX_ID_LENGTH:
        raise InvalidResourceIdError(value, f"longer than {_MAX_ID_LENGTH} characters")
    if not value.startswith("/"):
        raise InvalidResourceIdError(value, "must start with '/subscriptions/'")
    parts = value.strip().rstrip("/").split("/")[1:]
    if any(p == "" for p in parts):
        raise InvalidResourceIdError(value, "contains an empty segment ('//')")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise InvalidResourceIdError(value, "must start with '/subscriptions/{subscriptionId}'")
    sub = _check_subscription(parts[1], value)
    if len(parts) < 4 or parts[2].lower() != "resourcegroups":
        raise InvalidResourceIdError(value, "expected '/resourceGroups/{name}' after the subscription")
    rg = _check(_RG_RE, parts[3], "resource group", value)
    if len(parts) < 8 or parts[4].lower() != "providers":
        raise InvalidResourceIdError(value, "expected '/providers/{namespace}/{type}/{name}' after the resource group")
    namespace, rtype, name = parts[5], parts[6], parts[7]
    kind = _PROVIDERS.get((namespace.lower(), rtype.lower()))
    if kind is None:
        raise InvalidResourceIdError(
            value,
            f"resource type {namespace}/{rtype} is not one Warden handles "
            "(Microsoft.CognitiveServices/accounts, Microsoft.KeyVault/vaults, "
            "Microsoft.OperationalInsights/workspaces)",
        )
    rest = parts[8:]
    if kind == "account":
        account = AccountId(sub, rg, _check(_ACCOUNT_RE, name, "account name", value))
        if not rest:
            return account
        if len(rest) == 2 and rest[0].lower() == "deployments":
            return DeploymentId(account, _check(_DEPLOYMENT_RE, rest[1], "deployment name", value))
        raise InvalidResourceIdError(value, "only '/deployments/{name}' may follow an account")
    if rest:
        raise InvalidResourceIdError(value, f"unexpected segments after the {kind} name: {'/'.join(rest)!r}")
    if kind == "vault":
        return VaultId(sub, rg, _check(_VAULT_RE, name, "vault name", value))
    return WorkspaceId(sub, rg, _check(_WORKSPACE_RE, name, "workspace name", value))
