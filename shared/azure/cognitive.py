"""``CognitivePort`` over ``azure-mgmt-cognitiveservices``: the Azure implementation.

One management client per subscription (``AzureClients.cognitive(subscription)``); every call
goes through ``shared.azure.errors.azure_call``, which turns azure-core errors into the port's
(``shared.ports.cognitive``: not found, access denied naming the ARM action, transient, other).
Keys read or regenerated are registered with the log redactor before they are returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from shared.azure.errors import ErrorKinds, azure_call
from shared.keys.slots import KeySlot
from shared.observability import register_secret
from shared.ports.cognitive import (
    AccountInfo,
    AccountKeys,
    AccountPatch,
    CognitiveAccessDeniedError,
    CognitiveError,
    CognitiveNotFoundError,
    CognitiveTransientError,
    ContentFilter,
    DeploymentInfo,
    RaiPolicyInfo,
)
from shared.resource_ids import AccountId, DeploymentId

if TYPE_CHECKING:
    from collections.abc import Callable

    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    from shared.azure.clients import AzureClients

__all__ = ["REGENERATE_CALL_OPTIONS", "AzureCognitive"]

T = TypeVar("T")

REGENERATE_CALL_OPTIONS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 30}
"""Per-call options of ``regenerateKey``, the one call Warden makes that is not idempotent: the
SDK's own retries are off (it retries a POST on 500/503/504 and 429, and a gateway error or a
lost answer can follow a regeneration Azure already applied), and the call ends within 40 s, well
inside the key step's 90 s claim. The key step decides what a failed call means: it records the
key it replaces before calling, and its retry regenerates only if the account still holds it."""


_KINDS = ErrorKinds(
    failed=CognitiveError,
    denied=CognitiveAccessDeniedError,
    not_found=CognitiveNotFoundError,
    transient=CognitiveTransientError,
    no_answer=CognitiveTransientError,
)


def _call(what: str, permission: str, fn: Callable[[], T]) -> T:
    return azure_call(what, permission, fn, _KINDS)


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
