"""The Cognitive Services management port: accounts, keys, deployments and RAI policies.

``CognitivePort`` is what Warden's core asks of Azure Resource Manager for an Azure OpenAI /
AI Services account, with the data it exchanges and the errors it raises. The Azure
implementation is ``shared.azure.cognitive.AzureCognitive``; unit tests use
``tests.fakes.FakeCognitive``.

Key values are returned only by ``list_keys`` and ``regenerate_key``, inside ``AccountKeys``
(whose ``repr`` hides them); implementations register them with the log redactor.

Errors: every method raises ``CognitiveNotFoundError`` when the account / deployment / policy
does not exist, ``CognitiveAccessDeniedError`` naming the missing permission on 401/403,
``CognitiveTransientError`` when trying again later may succeed (throttled, busy, a server
error, or a long-running operation that ended ``Failed`` with a transient error code such as
``InternalServerError``), and ``CognitiveError`` for any other failure. Permissions are the ARM
actions of a custom "Warden rotator/containment" role (built-in alternative: Cognitive Services
Contributor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId, DeploymentId

__all__ = [
    "AccountInfo",
    "AccountKeys",
    "AccountPatch",
    "CognitiveAccessDeniedError",
    "CognitiveError",
    "CognitiveNotFoundError",
    "CognitivePort",
    "CognitiveTransientError",
    "ContentFilter",
    "DeploymentInfo",
    "RaiPolicyInfo",
    "is_transient_operation_failure",
    "is_transient_status",
]


class CognitiveError(RuntimeError):
    """A Cognitive Services management call failed (the message names resource and operation)."""


class CognitiveNotFoundError(CognitiveError):
    """The account, deployment or RAI policy does not exist (HTTP 404)."""


class CognitiveAccessDeniedError(CognitiveError):
    """Warden's identity lacks the permission named in the message (HTTP 401/403)."""


class CognitiveTransientError(CognitiveError):
    """Throttled (HTTP 429), busy (HTTP 409: another operation is in progress on the resource),
    a server error (HTTP 408, 5xx) that outlasted the SDK's own retries, no answer at all
    (connection failed or timed out: a write may or may not have happened), or a long-running
    operation that ended ``Failed`` with a transient error code (``is_transient_operation_failure``):
    trying again later may succeed."""


def is_transient_status(status: int | None) -> bool:
    """HTTP statuses worth another try later: 408, 409, 429 and 5xx."""
    return status is not None and (status in (408, 409, 429) or 500 <= status <= 599)


_TRANSIENT_OPERATION_CODES = frozenset(
    {
        "internalservererror",
        "internalerror",
        "serviceunavailable",
        "serverbusy",
        "gatewaytimeout",
        "requesttimeout",
        "operationtimedout",
        "toomanyrequests",
        "conflict",
        "anotheroperationinprogress",
    }
)


def is_transient_operation_failure(code: str | None) -> bool:
    """Whether a long-running operation that ended ``Failed`` with error ``code`` is worth another
    try later: the service's own failures (``InternalServerError``, ``ServiceUnavailable``, time-outs,
    throttling, another operation in progress), not the request's (``InsufficientQuota``,
    ``ScopeLocked``, an invalid property...)."""
    return (code or "").strip().lower() in _TRANSIENT_OPERATION_CODES


@dataclass(frozen=True, slots=True)
class AccountKeys:
    """An account's two keys. ``repr`` never shows them; do not log or return them."""

    key1: str = field(repr=False)
    key2: str = field(repr=False)

    def get(self, slot: KeySlot) -> str:
        return self.key1 if slot is KeySlot.KEY1 else self.key2


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What Warden reads of an account (ARM ``GET`` of ``Microsoft.CognitiveServices/accounts``).

    ``disable_local_auth`` is ``False`` when ARM omits it (never set means keys are allowed).
    """

    id: AccountId
    kind: str
    location: str
    endpoint: str | None
    disable_local_auth: bool
    public_network_access: str | None
    network_default_action: str | None
    ip_rules: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    provisioning_state: str | None = None


@dataclass(frozen=True, slots=True)
class AccountPatch:
    """Properties to change on an account (``None`` = leave as is). Used by containment."""

    disable_local_auth: bool | None = None
    public_network_access: str | None = None
    network_default_action: str | None = None
    ip_rules: tuple[str, ...] | None = None
    tags: Mapping[str, str] | None = None

    def is_empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.disable_local_auth,
                self.public_network_access,
                self.network_default_action,
                self.ip_rules,
                self.tags,
            )
        )


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    """A model deployment; also the spec for ``create_or_update_deployment`` (restore)."""

    id: DeploymentId
    model_name: str
    model_version: str | None = None
    model_format: str = "OpenAI"
    sku_name: str = "Standard"
    sku_capacity: int | None = None
    rai_policy_name: str | None = None
    version_upgrade_option: str | None = None
    provisioning_state: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContentFilter:
    """One content filter of a RAI policy."""

    name: str
    source: str
    enabled: bool = True
    blocking: bool = True
    severity_threshold: str | None = None


@dataclass(frozen=True, slots=True)
class RaiPolicyInfo:
    """A content-filtering (RAI) policy of an account."""

    account: AccountId
    name: str
    mode: str | None = None
    base_policy_name: str | None = None
    content_filters: tuple[ContentFilter, ...] = ()


class CognitivePort(Protocol):
    """Azure Resource Manager operations on Cognitive Services accounts that Warden uses."""

    def get_account(self, account: AccountId) -> AccountInfo:
        """Read an account. Requires ``Microsoft.CognitiveServices/accounts/read``."""
        ...

    def list_keys(self, account: AccountId) -> AccountKeys:
        """Both keys. Requires ``Microsoft.CognitiveServices/accounts/listKeys/action``."""
        ...

    def regenerate_key(self, account: AccountId, slot: KeySlot) -> AccountKeys:
        """Regenerate one key; returns both keys after the change.

        Requires ``Microsoft.CognitiveServices/accounts/regenerateKey/action``.
        """
        ...

    def update_account(self, account: AccountId, patch: AccountPatch) -> AccountInfo:
        """PATCH account properties (local auth, network access, tags); waits for the LRO.

        Requires ``Microsoft.CognitiveServices/accounts/write``.
        """
        ...

    def list_deployments(self, account: AccountId) -> list[DeploymentInfo]:
        """Every deployment. Requires ``Microsoft.CognitiveServices/accounts/deployments/read``."""
        ...

    def get_deployment(self, deployment: DeploymentId) -> DeploymentInfo:
        """One deployment. Requires ``Microsoft.CognitiveServices/accounts/deployments/read``."""
        ...

    def create_or_update_deployment(self, spec: DeploymentInfo) -> DeploymentInfo:
        """PUT a deployment; waits for the LRO.

        Requires ``Microsoft.CognitiveServices/accounts/deployments/write``.
        """
        ...

    def delete_deployment(self, deployment: DeploymentId) -> bool:
        """Delete a deployment; ``False`` if it did not exist. Waits for the LRO.

        Requires ``Microsoft.CognitiveServices/accounts/deployments/read`` and ``.../delete``.
        """
        ...

    def list_rai_policies(self, account: AccountId) -> list[RaiPolicyInfo]:
        """RAI policies. Requires ``Microsoft.CognitiveServices/accounts/raiPolicies/read``."""
        ...

    def get_rai_policy(self, account: AccountId, name: str) -> RaiPolicyInfo:
        """One RAI policy. Requires ``Microsoft.CognitiveServices/accounts/raiPolicies/read``."""
        ...

    def create_or_update_rai_policy(self, policy: RaiPolicyInfo) -> RaiPolicyInfo:
        """PUT a RAI policy. Requires ``Microsoft.CognitiveServices/accounts/raiPolicies/write``."""
        ...
