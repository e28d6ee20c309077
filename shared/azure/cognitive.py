"""The Cognitive Services management port: accounts, keys, deployments and RAI policies.

``CognitivePort`` is what Warden's core asks of Azure Resource Manager for an Azure OpenAI /
AI Services account; ``AzureCognitive`` implements it over the SDK client that
``AzureClients.cognitive(subscription)`` builds; ``shared.azure.fakes.FakeCognitive`` is the
in-memory twin for unit tests.

Key values are returned only by ``list_keys`` and ``regenerate_key``, inside ``AccountKeys``
(whose ``repr`` hides them). Both register the values with the log redactor before returning.

Errors: every method raises ``CognitiveNotFoundError`` when the account / deployment / policy
does not exist, ``CognitiveAccessDeniedError`` naming the missing permission on 401/403,
``CognitiveTransientError`` when trying again later may succeed (throttled, busy, a server
error, or a long-running operation that ended ``Failed`` with a transient error code such as
``InternalServerError``), and ``CognitiveError`` for any other failure. Permissions are the ARM
actions of a custom "Warden rotator/containment" role (built-in alternative: Cognitive Services
Contributor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shared.keys.slots import KeySlot
from shared.observability import register_secret
from shared.resource_ids import AccountId, DeploymentId

if TYPE_CHECKING:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from shared.azure.clients import AzureClients

__all__ = [
    "AccountInfo",
    "AccountKeys",
    "AccountPatch",
    "AzureCognitive",
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

T = TypeVar("T")

REGENERATE_CALL_OPTIONS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 30}
"""Per-call options of ``regenerateKey``, the one call Warden makes that is not idempotent: the
SDK's own retries are off (it retries a POST on 500/503/504 and 429, and a gateway error or a
lost answer can follow a regeneration Azure already applied), and the call ends within 40 s, well
inside the key step's 90 s claim. The key step decides what a failed call means: it records the
key it replaces before calling, and its retry regenerates only if the account still holds it."""


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


# --------------------------------------------------------------------------------------------
# the real adapter
# --------------------------------------------------------------------------------------------
def _call(what: str, permission: str, fn: Callable[[], T]) -> T:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        return fn()
    except (ServiceRequestError, ServiceResponseError) as exc:
        # No answer (connection refused or reset, timed out): whether Azure applied a write is unknown.
        raise CognitiveTransientError(f"{what}: no answer from Azure ({type(exc).__name__})") from None
    except ResourceNotFoundError:
        raise CognitiveNotFoundError(f"{what}: not found (HTTP 404)") from None
    except ClientAuthenticationError as exc:
        raise CognitiveAccessDeniedError(
            f"{what}: access denied (HTTP {exc.status_code}); Warden's identity needs {permission}"
        ) from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise CognitiveAccessDeniedError(
                f"{what}: access denied (HTTP 403); Warden's identity needs {permission}"
            ) from None
        code = getattr(exc.error, "code", None) if exc.error is not None else None
        if exc.status_code is not None and 200 <= exc.status_code <= 299:
            # A long-running operation that ended Failed: the poll saying so answered 2xx, so only
            # the operation's error code tells a transient failure (retry the step) from a real one.
            failure = CognitiveTransientError if is_transient_operation_failure(code) else CognitiveError
            raise failure(f"{what}: the operation ended Failed ({code or 'no error code'})") from None
        error = CognitiveTransientError if is_transient_status(exc.status_code) else CognitiveError
        raise error(f"{what}: HTTP {exc.status_code} {code or exc.reason or ''}".rstrip()) from None


def _keys(result: Any, what: str) -> AccountKeys:
    key1, key2 = getattr(result, "key1", None), getattr(result, "key2", None)
    if not isinstance(key1, str) or not isinstance(key2, str) or not key1 or not key2:
        raise CognitiveError(f"{what}: the response did not carry both keys")
    register_secret(key1)
    register_secret(key2)
    return AccountKeys(key1=key1, key2=key2)


def _account_info(account: AccountId, model: Any) -> AccountInfo:
    props = model.properties
    acls = getattr(props, "network_acls", None) if props is not None else None
    return AccountInfo(
        id=account,
        kind=model.kind or "",
        location=model.location or "",
        endpoint=getattr(props, "endpoint", None),
        disable_local_auth=bool(getattr(props, "disable_local_auth", None) or False),
        public_network_access=getattr(props, "public_network_access", None),
        network_default_action=getattr(acls, "default_action", None) if acls is not None else None,
        ip_rules=tuple(r.value for r in (getattr(acls, "ip_rules", None) or []) if r.value) if acls is not None else (),
        tags=dict(model.tags or {}),
        etag=getattr(model, "etag", None),
        provisioning_state=getattr(props, "provisioning_state", None),
    )


def _deployment_info(account: AccountId, model: Any) -> DeploymentInfo:
    props = model.properties
    dep_model = getattr(props, "model", None)
    sku = model.sku
    return DeploymentInfo(
        id=DeploymentId(account, model.name),
        model_name=getattr(dep_model, "name", None) or "",
        model_version=getattr(dep_model, "version", None),
        model_format=getattr(dep_model, "format", None) or "OpenAI",
        sku_name=getattr(sku, "name", None) or "Standard",
        sku_capacity=getattr(sku, "capacity", None),
        rai_policy_name=getattr(props, "rai_policy_name", None),
        version_upgrade_option=getattr(props, "version_upgrade_option", None),
        provisioning_state=getattr(props, "provisioning_state", None),
        tags=dict(getattr(model, "tags", None) or {}),
    )


def _rai_info(account: AccountId, model: Any) -> RaiPolicyInfo:
    props = model.properties
    filters = tuple(
        ContentFilter(
            name=f.name or "",
            source=f.source or "",
            enabled=bool(f.enabled) if f.enabled is not None else True,
            blocking=bool(f.blocking) if f.blocking is not None else True,
            severity_threshold=f.severity_threshold,
        )
        for f in (getattr(props, "content_filters", None) or [])
    )
    return RaiPolicyInfo(
        account=account,
        name=model.name,
        mode=getattr(props, "mode", None),
        base_policy_name=getattr(props, "base_policy_name", None),
        content_filters=filters,
    )


class AzureCognitive:
    """``CognitivePort`` over ``azure-mgmt-cognitiveservices`` (one client per subscription).

    ``polling_interval`` is passed to long-running operations (0 in tests against the emulator).
    """

    def __init__(self, clients: AzureClients, *, polling_interval: float | None = None) -> None:
        self._clients = clients
        self._polling: dict[str, Any] = {"polling_interval": polling_interval} if polling_interval is not None else {}

    def _client(self, account: AccountId) -> CognitiveServicesManagementClient:
        return self._clients.cognitive(account.subscription_id)

    def get_account(self, account: AccountId) -> AccountInfo:
        client = self._client(account)
        model = _call(
            f"read account {account}",
            "Microsoft.CognitiveServices/accounts/read",
            lambda: client.accounts.get(account.resource_group, account.name),
        )
        return _account_info(account, model)

    def list_keys(self, account: AccountId) -> AccountKeys:
        client = self._client(account)
        what = f"list keys of {account}"
        result = _call(
            what,
            "Microsoft.CognitiveServices/accounts/listKeys/action",
            lambda: client.accounts.list_keys(account.resource_group, account.name),
        )
        return _keys(result, what)

    def regenerate_key(self, account: AccountId, slot: KeySlot) -> AccountKeys:
        client = self._client(account)
        what = f"regenerate {slot.arm_name} of {account}"
        result = _call(
            what,
            "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            lambda: client.accounts.regenerate_key(
                account.resource_group, account.name, slot.arm_name, **REGENERATE_CALL_OPTIONS
            ),
        )
        return _keys(result, what)

    def update_account(self, account: AccountId, patch: AccountPatch) -> AccountInfo:
        from azure.mgmt.cognitiveservices.models import (
            Account,
            AccountProperties,
            IpRule,
            NetworkRuleSet,
        )

        if patch.is_empty():
            return self.get_account(account)
        props = AccountProperties(
            disable_local_auth=patch.disable_local_auth,
            public_network_access=patch.public_network_access,
        )
        if patch.network_default_action is not None or patch.ip_rules is not None:
            props.network_acls = NetworkRuleSet(
                default_action=patch.network_default_action,
                ip_rules=[IpRule(value=v) for v in patch.ip_rules] if patch.ip_rules is not None else None,
            )
        body = Account(properties=props, tags=dict(patch.tags) if patch.tags is not None else None)
        client = self._client(account)
        model = _call(
            f"update account {account}",
            "Microsoft.CognitiveServices/accounts/write",
            lambda: client.accounts.begin_update(account.resource_group, account.name, body, **self._polling).result(),
        )
        return _account_info(account, model)

    def list_deployments(self, account: AccountId) -> list[DeploymentInfo]:
        client = self._client(account)
        models = _call(
            f"list deployments of {account}",
            "Microsoft.CognitiveServices/accounts/deployments/read",
            lambda: list(client.deployments.list(account.resource_group, account.name)),
        )
        return [_deployment_info(account, m) for m in models]

    def get_deployment(self, deployment: DeploymentId) -> DeploymentInfo:
        account = deployment.account
        client = self._client(account)
        model = _call(
            f"read deployment {deployment}",
            "Microsoft.CognitiveServices/accounts/deployments/read",
            lambda: client.deployments.get(account.resource_group, account.name, deployment.name),
        )
        return _deployment_info(account, model)

    def create_or_update_deployment(self, spec: DeploymentInfo) -> DeploymentInfo:
        from azure.mgmt.cognitiveservices.models import (
            Deployment,
            DeploymentModel,
            DeploymentProperties,
            Sku,
        )

        account = spec.id.account
        body = Deployment(
            tags=dict(spec.tags) if spec.tags else None,
            sku=Sku(name=spec.sku_name, capacity=spec.sku_capacity),
            properties=DeploymentProperties(
                model=DeploymentModel(format=spec.model_format, name=spec.model_name, version=spec.model_version),
                rai_policy_name=spec.rai_policy_name,
                version_upgrade_option=spec.version_upgrade_option,
            ),
        )
        client = self._client(account)
        model = _call(
            f"write deployment {spec.id}",
            "Microsoft.CognitiveServices/accounts/deployments/write",
            lambda: client.deployments.begin_create_or_update(
                account.resource_group, account.name, spec.id.name, body, **self._polling
            ).result(),
        )
        return _deployment_info(account, model)

    def delete_deployment(self, deployment: DeploymentId) -> bool:
        # ARM answers 204 for a deployment that does not exist, so absence is checked first.
        try:
            self.get_deployment(deployment)
        except CognitiveNotFoundError:
            return False
        account = deployment.account
        client = self._client(account)
        try:
            _call(
                f"delete deployment {deployment}",
                "Microsoft.CognitiveServices/accounts/deployments/delete",
                lambda: client.deployments.begin_delete(
                    account.resource_group, account.name, deployment.name, **self._polling
                ).result(),
            )
        except CognitiveNotFoundError:
            return False
        return True

    def list_rai_policies(self, account: AccountId) -> list[RaiPolicyInfo]:
        client = self._client(account)
        models = _call(
            f"list RAI policies of {account}",
            "Microsoft.CognitiveServices/accounts/raiPolicies/read",
            lambda: list(client.rai_policies.list(account.resource_group, account.name)),
        )
        return [_rai_info(account, m) for m in models]

    def get_rai_policy(self, account: AccountId, name: str) -> RaiPolicyInfo:
        client = self._client(account)
        model = _call(
            f"read RAI policy {name!r} of {account}",
            "Microsoft.CognitiveServices/accounts/raiPolicies/read",
            lambda: client.rai_policies.get(account.resource_group, account.name, name),
        )
        return _rai_info(account, model)

    def create_or_update_rai_policy(self, policy: RaiPolicyInfo) -> RaiPolicyInfo:
        from azure.mgmt.cognitiveservices.models import RaiPolicy, RaiPolicyContentFilter, RaiPolicyProperties

        account = policy.account
        body = RaiPolicy(
            properties=RaiPolicyProperties(
                mode=policy.mode,
                base_policy_name=policy.base_policy_name,
                content_filters=[
                    RaiPolicyContentFilter(
                        name=f.name,
                        enabled=f.enabled,
                        severity_threshold=f.severity_threshold,
                        blocking=f.blocking,
                        source=f.source,
                    )
                    for f in policy.content_filters
                ],
            )
        )
        client = self._client(account)
        model = _call(
            f"write RAI policy {policy.name!r} of {account}",
            "Microsoft.CognitiveServices/accounts/raiPolicies/write",
            lambda: client.rai_policies.create_or_update(account.resource_group, account.name, policy.name, body),
        )
        return _rai_info(account, model)
