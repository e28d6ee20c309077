"""ARM: Microsoft.CognitiveServices accounts, keys, deployments, RAI policies and LRO status.

Shapes follow azure-rest-api-specs ``Microsoft.CognitiveServices/stable/2025-09-01`` and what
azure-mgmt-cognitiveservices 14.1.0 sends and parses (see the project's reference notes):

* accounts list (subscription / resource group) are paged with ``nextLink`` (``$skipToken``);
* ``PATCH`` of an account answers 202 with ``Azure-AsyncOperation`` and ``Location``; the
  change is applied when the operation succeeds;
* ``PUT`` of a deployment answers 201 (new) or 200 (existing) with ``Azure-AsyncOperation``,
  ``provisioningState`` Creating/Updating -> Succeeded (or Failed);
* ``DELETE`` of a deployment answers 202 with ``Location`` (and ``Azure-AsyncOperation``), or
  204 when it does not exist;
* operations advance by polls (``Emulator.lro_polls``), never by wall-clock time;
* ``regenerateKey`` replaces one slot: its old value stops working at once.

Every request needs ``api-version`` (400 ``MissingApiVersionParameter``) and a Bearer token
(401 ``AuthenticationFailed``).
"""

from __future__ import annotations

import copy
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from emulator import ledger
from emulator.core import Call, Route
from emulator.faults import FaultRule
from emulator.http import HttpError, Request, Response, json_response
from emulator.state import Account, Deployment, Operation
from emulator.tables import coerce_row

if TYPE_CHECKING:
    from emulator.core import Emulator

__all__ = ["ArmService"]

_PROVIDER = "microsoft.cognitiveservices"
_ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
_BUILTIN_RAI = ("Microsoft.Default", "Microsoft.DefaultV2")
_READ_ONLY_PROPS = {
    "provisioningState",
    "endpoint",
    "endpoints",
    "internalId",
    "dateCreated",
    "capabilities",
    "callRateLimit",
    "quotaLimit",
    "skuChangeInfo",
    "deletionDate",
    "scheduledPurgeDate",
    "isMigrated",
    "abusePenalty",
}


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ArmService:
    """Routes and handlers for ``management.azure.com`` (except Resource Graph)."""

    name = "arm"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    # -- routing --------------------------------------------------------------------------------
    def route(self, req: Request) -> Route:
        seg = [s for s in req.path.split("/") if s]
        low = [s.lower() for s in seg]
        method = req.method
        if len(seg) < 2 or low[0] != "subscriptions":
            raise HttpError(404, "NotFound", f"No route for {method} {req.path} in the emulator.")
        sub = seg[1].lower()

        def r(api: str, handler: Any, kind: str | None = None) -> Route:
            arm_kind = kind or ("reads" if method == "GET" else "deletes" if method == "DELETE" else "writes")
            return Route(api, handler, subscription=sub, arm_kind=arm_kind)

        # /subscriptions/{s}/providers/Microsoft.CognitiveServices/accounts
        if len(seg) == 5 and low[2] == "providers" and low[3] == _PROVIDER and low[4] == "accounts":
            self._allow(req, "GET")
            return r("arm.accounts.list", lambda q, c: self._list_accounts(q, sub, None))
        # .../providers/Microsoft.CognitiveServices/locations/{l}/operationStatuses|operationResults/{id}
        if (
            len(seg) == 8
            and low[2] == "providers"
            and low[3] == _PROVIDER
            and low[4] == "locations"
            and low[6] in ("operationstatuses", "operationresults")
        ):
            self._allow(req, "GET")
            as_result = low[6] == "operationresults"
            return r("arm.operations.get", lambda q, c: self._operation(q, seg[7], as_result))
        if len(seg) >= 6 and low[2] == "resourcegroups" and low[4] == "providers" and low[5] == _PROVIDER:
            rg = seg[3]
            if len(seg) == 7 and low[6] == "accounts":
                self._allow(req, "GET")
                return r("arm.accounts.listByResourceGroup", lambda q, c: self._list_accounts(q, sub, rg))
            if len(seg) >= 8 and low[6] == "accounts":
                name = seg[7]
                rest = low[8:]
                if not rest:
                    if method == "GET":
                        return r("arm.accounts.get", lambda q, c: self._get_account(q, sub, rg, name))
                    if method == "PATCH":
                        return r("arm.accounts.update", lambda q, c: self._update_account(q, c, sub, rg, name))
                    self._allow(req, "GET", "PATCH")
                if rest == ["listkeys"]:
                    self._allow(req, "POST")
                    return r("arm.accounts.listKeys", lambda q, c: self._list_keys(q, c, sub, rg, name))
                if rest == ["regeneratekey"]:
                    self._allow(req, "POST")
                    return r("arm.accounts.regenerateKey", lambda q, c: self._regenerate(q, c, sub, rg, name))
                if rest == ["deployments"]:
                    self._allow(req, "GET")
                    return r("arm.deployments.list", lambda q, c: self._list_deployments(q, sub, rg, name))
                if len(rest) == 2 and rest[0] == "deployments":
                    dep = seg[9]
                    if method == "GET":
                        return r("arm.deployments.get", lambda q, c: self._get_deployment(q, sub, rg, name, dep))
                    if method == "PUT":
                        return r(
                            "arm.deployments.createOrUpdate",
                            lambda q, c: self._put_deployment(q, c, sub, rg, name, dep_name=dep),
                        )
                    if method == "DELETE":
                        return r(
                            "arm.deployments.delete",
                            lambda q, c: self._delete_deployment(q, c, sub, rg, name, dep_name=dep),
                        )
                    self._allow(req, "GET", "PUT", "DELETE")
                if rest == ["raipolicies"]:
                    self._allow(req, "GET")
                    return r("arm.raiPolicies.list", lambda q, c: self._list_rai(q, sub, rg, name))
                if len(rest) == 2 and rest[0] == "raipolicies":
                    pol = seg[9]
                    if method == "GET":
                        return r("arm.raiPolicies.get", lambda q, c: self._get_rai(q, sub, rg, name, pol))
                    if method == "PUT":
                        return r(
                            "arm.raiPolicies.createOrUpdate",
                            lambda q, c: self._put_rai(q, sub, rg, name, pol),
                        )
                    self._allow(req, "GET", "PUT")
        raise HttpError(
            400,
            "NotEmulated",
            f"The emulator does not emulate {method} {req.path}; see emulator.faults.API_NAMES.",
        )

    @staticmethod
    def _allow(req: Request, *methods: str) -> None:
        if req.method not in methods:
            raise HttpError(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{req.method}'.",
            )

    def authenticate(self, req: Request, route: Route) -> None:
        if "api-version" not in req.query or not req.query["api-version"]:
            raise HttpError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if req.bearer() is None:
            raise HttpError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                headers={
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/'
                    f'{self.emu.tenant_id}", error="invalid_token", error_description="The authentication '
                    "failed because of missing 'Authorization' header.\""
                },
            )

    def fault_error(self, rule: FaultRule) -> HttpError:
        if rule.kind == "throttle":
            return HttpError(
                429,
                rule.code or "TooManyRequests",
                rule.message or "The request was throttled (injected fault).",
                headers={"Retry-After": _seconds(rule.retry_after)},
            )
        return HttpError(
            rule.status,
            rule.code or ("ServiceUnavailable" if rule.status >= 500 else "BadRequest"),
            rule.message or f"Injected fault: HTTP {rule.status}.",
        )

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        response.headers.setdefault("x-ms-correlation-request-id", self.emu.new_id())

    # -- lookups --------------------------------------------------------------------------------
    def _account(self, sub: str, rg: str, name: str) -> Account:
        state = self.emu.state
        if sub not in state.subscriptions:
            raise HttpError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        if rg.lower() not in state.subscriptions[sub].resource_groups:
            raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        account = state.account(sub, rg, name)
        if account is None:
            raise HttpError(
                404,
                "ResourceNotFound",
                f"The Resource '{_ACCOUNT_TYPE}/{name}' under resource group '{rg}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return account

    def _deployment(self, account: Account, name: str) -> Deployment:
        dep = account.deployments.get(name.lower())
        if dep is None:
            raise HttpError(
                404,
                "ResourceNotFound",
                f"The Resource '{_ACCOUNT_TYPE}/{account.name}/deployments/{name}' under resource group "
                f"'{account.resource_group}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return dep

    # -- JSON shapes ----------------------------------------------------------------------------
    def account_json(self, account: Account) -> dict[str, Any]:
        props = copy.deepcopy(account.properties)
        props["provisioningState"] = account.provisioning_state
        props["dateCreated"] = _iso(account.created)
        props["internalId"] = account.etag.strip('"').replace("-", "")
        props["capabilities"] = []
        return {
            "id": account.id,
            "name": account.name,
            "type": _ACCOUNT_TYPE,
            "etag": account.etag,
            "kind": account.kind,
            "location": account.location,
            "sku": dict(account.sku),
            "tags": dict(account.tags),
            "properties": props,
            "systemData": {"createdAt": _iso(account.created), "createdByType": "User"},
        }

    @staticmethod
    def deployment_json(account: Account, dep: Deployment) -> dict[str, Any]:
        props: dict[str, Any] = {"model": dict(dep.model), "provisioningState": dep.provisioning_state}
        if dep.rai_policy_name is not None:
            props["raiPolicyName"] = dep.rai_policy_name
        if dep.version_upgrade_option is not None:
            props["versionUpgradeOption"] = dep.version_upgrade_option
        if "capacity" in dep.sku:
            props["currentCapacity"] = dep.sku["capacity"]
        return {
            "id": f"{account.id}/deployments/{dep.name}",
            "name": dep.name,
            "type": f"{_ACCOUNT_TYPE}/deployments",
            "sku": dict(dep.sku),
            "properties": props,
            "systemData": {"createdAt": _iso(dep.created), "createdByType": "User"},
        }

    @staticmethod
    def rai_json(account: Account, policy: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{account.id}/raiPolicies/{policy['name']}",
            "name": policy["name"],
            "type": f"{_ACCOUNT_TYPE}/raiPolicies",
            "properties": copy.deepcopy(policy["properties"]),
        }

    def _rai_policies(self, account: Account) -> dict[str, dict[str, Any]]:
        policies: dict[str, dict[str, Any]] = {
            name.lower(): {"name": name, "properties": {"type": "SystemManaged", "mode": "Blocking"}}
            for name in _BUILTIN_RAI
        }
        policies.update(account.rai_policies)
        return policies

    # -- accounts -------------------------------------------------------------------------------
    def _list_accounts(self, req: Request, sub: str, rg: str | None) -> Response:
        state = self.emu.state
        if sub not in state.subscriptions:
            raise HttpError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        if rg is not None and rg.lower() not in state.subscriptions[sub].resource_groups:
            raise HttpError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        accounts = [
            a for a in state.accounts.get(sub, {}).values() if rg is None or a.resource_group.lower() == rg.lower()
        ]
        return self._page(req, [self.account_json(a) for a in accounts])

    def _page(self, req: Request, items: list[dict[str, Any]]) -> Response:
        token = req.query.get("$skipToken") or req.query.get("$skiptoken") or "0"
        try:
            start = int(token)
        except ValueError:
            raise HttpError(400, "InvalidSkipToken", f"The $skipToken {token!r} is not valid.") from None
        size = max(1, self.emu.arm_page_size)
        body: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            body["nextLink"] = (
                f"https://{req.host}{req.path}?api-version={req.query['api-version']}&$skipToken={start + size}"
            )
        return json_response(200, body)

    def _get_account(self, req: Request, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        self._advance(account.busy)
        return json_response(200, self.account_json(account))

    def _update_account(self, req: Request, call: Call, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        self._check_not_busy(account.busy, account.id)
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise HttpError(400, "InvalidRequestContent", "'properties' must be a JSON object.")
        _validate_account_props(props, account)
        tags = body.get("tags")
        sku = body.get("sku")
        previous = account.provisioning_state

        def apply() -> None:
            writable = {k: v for k, v in props.items() if k not in _READ_ONLY_PROPS}
            _merge_patch(account.properties, writable)
            if isinstance(tags, dict):
                account.tags = {str(k): str(v) for k, v in tags.items()}
            if isinstance(sku, dict) and sku.get("name"):
                account.sku = dict(sku)
            account.provisioning_state = "Succeeded"
            account.busy = None
            self._activity(call, account.id, "Microsoft.CognitiveServices/accounts/write", None)

        def fail() -> None:
            account.provisioning_state = previous
            account.busy = None

        op = self._start(req, call, account, account.id, on_success=apply, on_failure=fail)
        account.busy = op.id
        account.provisioning_state = "Accepted"
        return json_response(202, self.account_json(account), self._lro_headers(req, op, location=True))

    def _list_keys(self, req: Request, call: Call, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        if account.properties.get("disableLocalAuth") is True:
            raise HttpError(400, "BadRequest", "Failed to list key. disableLocalAuth is set to be true")
        self._activity(call, account.id, "Microsoft.CognitiveServices/accounts/listKeys/action", None)
        return json_response(200, {"key1": account.keys["key1"], "key2": account.keys["key2"]})

    def _regenerate(self, req: Request, call: Call, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        body = req.json()
        key_name = body.get("keyName") if isinstance(body, dict) else None
        if not isinstance(key_name, str) or key_name.lower() not in ("key1", "key2"):
            raise HttpError(
                400,
                "InvalidRequestContent",
                f"The request content was invalid: keyName must be 'Key1' or 'Key2', got {key_name!r}.",
            )
        if account.properties.get("disableLocalAuth") is True:
            raise HttpError(400, "BadRequest", "Failed to regenerate key. disableLocalAuth is set to be true")
        account.keys[key_name.lower()] = secrets.token_hex(16)
        ledger.record(account.keys[key_name.lower()])
        self._activity(
            call,
            account.id,
            "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            {"keyName": "Key1" if key_name.lower() == "key1" else "Key2"},
        )
        return json_response(200, {"key1": account.keys["key1"], "key2": account.keys["key2"]})

    # -- deployments ----------------------------------------------------------------------------
    def _list_deployments(self, req: Request, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        return json_response(200, {"value": [self.deployment_json(account, d) for d in account.deployments.values()]})

    def _get_deployment(self, req: Request, sub: str, rg: str, name: str, dep_name: str) -> Response:
        account = self._account(sub, rg, name)
        dep = self._deployment(account, dep_name)
        self._advance(dep.busy)
        dep = self._deployment(account, dep_name)
        return json_response(200, self.deployment_json(account, dep))

    def _put_deployment(self, req: Request, call: Call, sub: str, rg: str, name: str, *, dep_name: str) -> Response:
        account = self._account(sub, rg, name)
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        props = body.get("properties") or {}
        model = props.get("model") if isinstance(props, dict) else None
        if not isinstance(model, dict) or not model.get("name") or not model.get("format"):
            raise HttpError(
                400,
                "InvalidResourceProperties",
                "properties.model with 'format' and 'name' is required to create a deployment.",
            )
        sku = body.get("sku") or {"name": "Standard", "capacity": 1}
        if not isinstance(sku, dict) or not sku.get("name"):
            raise HttpError(400, "InvalidResourceProperties", "sku.name is required.")
        rai = props.get("raiPolicyName")
        if rai is not None and str(rai).lower() not in self._rai_policies(account):
            raise HttpError(
                400,
                "InvalidResourceProperties",
                f"The RAI policy '{rai}' does not exist on account '{account.name}'.",
            )
        existing = account.deployments.get(dep_name.lower())
        if existing is not None:
            self._check_not_busy(existing.busy, f"{account.id}/deployments/{existing.name}")
        dep = Deployment(
            name=existing.name if existing else dep_name,
            model={k: model[k] for k in ("format", "name", "version", "publisher", "source") if k in model},
            sku={k: sku[k] for k in ("name", "capacity", "tier") if k in sku},
            rai_policy_name=rai,
            version_upgrade_option=props.get("versionUpgradeOption"),
            provisioning_state="Updating" if existing else "Creating",
        )
        if existing is not None:
            dep.created = existing.created
        account.deployments[dep_name.lower()] = dep
        url = f"{account.id}/deployments/{dep.name}"

        def apply() -> None:
            dep.provisioning_state = "Succeeded"
            dep.busy = None
            self._activity(call, url, "Microsoft.CognitiveServices/accounts/deployments/write", None)

        def fail() -> None:
            dep.provisioning_state = "Failed"
            dep.busy = None

        op = self._start(req, call, account, url, on_success=apply, on_failure=fail)
        dep.busy = op.id
        status = 200 if existing else 201
        return json_response(status, self.deployment_json(account, dep), self._lro_headers(req, op))

    def _delete_deployment(self, req: Request, call: Call, sub: str, rg: str, name: str, *, dep_name: str) -> Response:
        account = self._account(sub, rg, name)
        dep = account.deployments.get(dep_name.lower())
        if dep is None:
            return Response(204, {})
        self._check_not_busy(dep.busy, f"{account.id}/deployments/{dep.name}")
        previous = dep.provisioning_state
        url = f"{account.id}/deployments/{dep.name}"

        def apply() -> None:
            if account.deployments.get(dep_name.lower()) is dep:
                del account.deployments[dep_name.lower()]
            self._activity(call, url, "Microsoft.CognitiveServices/accounts/deployments/delete", None)

        def fail() -> None:
            dep.provisioning_state = previous
            dep.busy = None

        op = self._start(req, call, account, url, on_success=apply, on_failure=fail, result_status=204)
        dep.busy = op.id
        dep.provisioning_state = "Deleting"
        return Response(202, self._lro_headers(req, op, location=True))

    # -- RAI policies ---------------------------------------------------------------------------
    def _list_rai(self, req: Request, sub: str, rg: str, name: str) -> Response:
        account = self._account(sub, rg, name)
        return json_response(200, {"value": [self.rai_json(account, p) for p in self._rai_policies(account).values()]})

    def _get_rai(self, req: Request, sub: str, rg: str, name: str, policy: str) -> Response:
        account = self._account(sub, rg, name)
        found = self._rai_policies(account).get(policy.lower())
        if found is None:
            raise HttpError(
                404,
                "ResourceNotFound",
                f"The Resource '{_ACCOUNT_TYPE}/{account.name}/raiPolicies/{policy}' under resource group "
                f"'{account.resource_group}' was not found.",
            )
        return json_response(200, self.rai_json(account, found))

    def _put_rai(self, req: Request, sub: str, rg: str, name: str, policy: str) -> Response:
        account = self._account(sub, rg, name)
        if policy in _BUILTIN_RAI or policy.lower() in (p.lower() for p in _BUILTIN_RAI):
            raise HttpError(400, "BadRequest", f"The system-managed RAI policy '{policy}' cannot be changed.")
        body = req.json()
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise HttpError(400, "InvalidRequestContent", "'properties' is required and must be an object.")
        filters = props.get("contentFilters", [])
        if not isinstance(filters, list) or any(not isinstance(f, dict) or "name" not in f for f in filters):
            raise HttpError(
                400, "InvalidRequestContent", "properties.contentFilters must be a list of objects with 'name'."
            )
        stored = copy.deepcopy(props)
        stored["type"] = "UserManaged"
        stored.setdefault("mode", "Blocking")
        existed = policy.lower() in account.rai_policies
        account.rai_policies[policy.lower()] = {"name": policy, "properties": stored}
        return json_response(200 if existed else 201, self.rai_json(account, account.rai_policies[policy.lower()]))

    # -- long-running operations ----------------------------------------------------------------
    def _start(
        self,
        req: Request,
        call: Call,
        account: Account,
        resource_url: str,
        *,
        on_success: Any,
        on_failure: Any,
        result_status: int = 200,
    ) -> Operation:
        failure = call.fault("lro_failure")
        op = Operation(
            id=self.emu.new_id(),
            api=call.api,
            subscription_id=account.subscription_id,
            location=account.location,
            resource_url=resource_url,
            polls_left=max(0, self.emu.lro_polls),
            on_success=on_success,
            on_failure=on_failure,
            fail_with=(
                {
                    "code": failure.code or "InternalServerError",
                    "message": failure.message or "The operation failed (injected fault).",
                }
                if failure is not None
                else None
            ),
            started=self.emu.clock(),
            result_status=result_status,
        )
        if failure is not None:
            op.result_status = failure.status
        self.emu.state.operations[op.id] = op
        return op

    def _lro_headers(self, req: Request, op: Operation, *, location: bool = False) -> dict[str, str]:
        base = (
            f"https://{req.host}/subscriptions/{op.subscription_id}/providers/Microsoft.CognitiveServices"
            f"/locations/{op.location}"
        )
        version = req.query["api-version"]
        headers = {"Azure-AsyncOperation": f"{base}/operationStatuses/{op.id}?api-version={version}"}
        if location:
            headers["Location"] = f"{base}/operationResults/{op.id}?api-version={version}"
        headers.update(self._retry_after())
        return headers

    def _retry_after(self) -> dict[str, str]:
        wait = self.emu.lro_retry_after
        return {"Retry-After": _seconds(wait)} if wait > 0 else {}

    def _advance(self, op_id: str | None) -> None:
        if op_id is None:
            return
        op = self.emu.state.operations.get(op_id)
        if op is not None:
            op.advance(self.emu.clock())

    @staticmethod
    def _check_not_busy(op_id: str | None, resource: str) -> None:
        if op_id is not None:
            raise HttpError(
                409,
                "Conflict",
                f"Another operation is in progress on '{resource}'. Retry after it has completed.",
            )

    def _operation(self, req: Request, op_id: str, as_result: bool) -> Response:
        op = self.emu.state.operations.get(op_id.lower()) or self.emu.state.operations.get(op_id)
        if op is None:
            raise HttpError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        op.advance(self.emu.clock())
        if as_result:
            if op.status == "InProgress":
                return Response(202, {"Location": req.url, **self._retry_after()})
            if op.status == "Failed":
                failure = op.fail_with or {"code": "InternalServerError", "message": "The operation failed."}
                status = op.result_status if 400 <= op.result_status <= 599 else 500
                raise HttpError(status, failure["code"], failure["message"])
            if op.result_status == 204:
                return Response(204, {})
            account = self.emu.state.account_by_id(op.resource_url.split("/deployments/")[0])
            if account is None:
                return Response(204, {})
            if "/deployments/" in op.resource_url:
                dep = account.deployments.get(op.resource_url.rsplit("/", 1)[1].lower())
                if dep is None:
                    return Response(204, {})
                return json_response(200, self.deployment_json(account, dep))
            return json_response(200, self.account_json(account))
        body: dict[str, Any] = {
            "id": req.path,
            "name": op.id,
            "status": op.status,
            "startTime": _iso(op.started),
        }
        if op.ended is not None:
            body["endTime"] = _iso(op.ended)
        if op.status == "Failed" and op.fail_with is not None:
            body["error"] = dict(op.fail_with)
        return json_response(200, body, self._retry_after() if op.status == "InProgress" else None)

    # -- Activity Log ----------------------------------------------------------------------------
    def _activity(self, call: Call, resource_id: str, operation: str, request_body: dict[str, Any] | None) -> None:
        """Write an AzureActivity Success row to the subscription's activity-log workspace, if any."""
        sub_id = resource_id.split("/")[2].lower()
        sub = self.emu.state.subscriptions.get(sub_id)
        if sub is None or not sub.activity_log_workspace:
            return
        ws = self.emu.state.workspace(sub.activity_log_workspace)
        if ws is None:
            return
        parts = resource_id.split("/")
        props: dict[str, Any] = {"statusCode": "OK", "serviceRequestId": self.emu.new_id()}
        if request_body is not None:
            props["requestbody"] = json.dumps(request_body, separators=(",", ":"))
        row = {
            "TimeGenerated": self.emu.clock(),
            "OperationNameValue": operation.upper(),
            "OperationName": operation,
            "ActivityStatusValue": "Success",
            "ActivitySubstatusValue": "OK",
            "CategoryValue": "Administrative",
            "Level": "Informational",
            "Caller": self.emu.caller_for(call.token),
            "CallerIpAddress": "127.0.0.1",
            "CorrelationId": self.emu.new_id(),
            "EventDataId": self.emu.new_id(),
            "ResourceId": resource_id.upper(),
            "_ResourceId": resource_id.lower(),
            "ResourceGroup": parts[4].upper(),
            "ResourceProviderValue": "MICROSOFT.COGNITIVESERVICES",
            "SubscriptionId": sub_id,
            "TenantId": self.emu.tenant_id,
            "Properties_d": props,
            "SourceSystem": "Azure",
        }
        ws.tables.setdefault("AzureActivity", []).append(coerce_row("AzureActivity", row))


def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply ``patch`` to ``target`` as a JSON merge patch (RFC 7396), as ARM's PATCH guidance says:
    objects merge key by key, ``null`` removes a key, anything else (arrays included) replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _validate_account_props(props: dict[str, Any], account: Account) -> None:
    pna = props.get("publicNetworkAccess")
    if pna is not None and pna not in ("Enabled", "Disabled"):
        raise HttpError(
            400, "InvalidRequestContent", f"publicNetworkAccess must be 'Enabled' or 'Disabled', got {pna!r}."
        )
    dla = props.get("disableLocalAuth")
    if dla is not None and not isinstance(dla, bool):
        raise HttpError(400, "InvalidRequestContent", f"disableLocalAuth must be a boolean, got {dla!r}.")
    acls = props.get("networkAcls")
    if acls is not None:
        if not isinstance(acls, dict):
            raise HttpError(400, "InvalidRequestContent", "networkAcls must be an object.")
        if acls.get("defaultAction") not in (None, "Allow", "Deny"):
            raise HttpError(
                400,
                "InvalidRequestContent",
                f"networkAcls.defaultAction must be 'Allow' or 'Deny', got {acls.get('defaultAction')!r}.",
            )
        rules = acls.get("ipRules", [])
        if not isinstance(rules, list) or any(not isinstance(r, dict) or "value" not in r for r in rules):
            raise HttpError(400, "InvalidRequestContent", "networkAcls.ipRules must be a list of {'value': ...}.")
    sub = props.get("customSubDomainName")
    if sub is not None and str(sub).lower() != account.subdomain:
        raise HttpError(400, "CustomDomainInUse", "customSubDomainName cannot be changed once it is set on an account.")


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
