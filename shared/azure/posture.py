"""``PosturePort`` over ARM: diagnostic settings and the Defender for AI plan (Azure implementation).

Neither call has an SDK in Warden's pins (azure-mgmt-monitor / azure-mgmt-security are not
installed), so ``AzurePosture`` sends plain ARM GETs through the Cognitive Services management
client's pipeline (``_send_request``: the same credential, transport, retries and base URL as
every other ARM call; no new client is built):

* ``GET {account}/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview``
  (Monitor REST "Diagnostic Settings - List"). Requires
  ``Microsoft.Insights/diagnosticSettings/read`` (Reader includes it). One call per account:
  ARM has no estate-wide listing of diagnostic settings (they are extension resources, not in
  the Resource Graph ``resources`` table; NOT CONFIRMED for every cloud), so the sweep first asks
  Log Analytics which accounts report at all, and calls this only for the silent ones.
* ``GET /subscriptions/{s}/providers/Microsoft.Security/pricings/AI?api-version=2024-01-01``
  (Defender for Cloud REST "Pricings - Get"). Requires ``Microsoft.Security/pricings/read``
  (Security Reader / Reader). NOT CONFIRMED: the plan name ``AI`` for "Defender for AI services"
  (no official Pricings example names it). A 404 means the API does not show the plan: no finding.

Errors (``shared.azure.errors``): ``PostureError`` for any failure, naming the resource, and the
permission on 401/403.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.azure.errors import ErrorKinds, azure_call
from shared.ports.posture import DEFENDER_AI_PLAN, DefenderPlan, DiagnosticSetting, PostureError
from shared.resource_ids import AccountId

if TYPE_CHECKING:
    from shared.azure.clients import AzureClients

__all__ = ["DIAGNOSTIC_SETTINGS_API", "PRICINGS_API", "AzurePosture", "diagnostic_setting_from_json"]

DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"
PRICINGS_API = "2024-01-01"

_KINDS = ErrorKinds(failed=PostureError, denied=PostureError, no_answer=PostureError)


def diagnostic_setting_from_json(item: Mapping[str, Any]) -> DiagnosticSetting:
    """One item of the List response; tolerant of missing fields (they mean "not set")."""
    raw_props = item.get("properties")
    props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
    logs = props.get("logs") if isinstance(props.get("logs"), list) else []
    metrics = props.get("metrics") if isinstance(props.get("metrics"), list) else []
    enabled_logs = tuple(
        str(entry.get("category") or entry.get("categoryGroup") or "")
        for entry in logs or []
        if isinstance(entry, Mapping) and entry.get("enabled") is True
    )
    return DiagnosticSetting(
        name=str(item.get("name") or ""),
        workspace_id=str(props["workspaceId"]) if props.get("workspaceId") else None,
        storage_account_id=str(props["storageAccountId"]) if props.get("storageAccountId") else None,
        event_hub_rule_id=str(props["eventHubAuthorizationRuleId"])
        if props.get("eventHubAuthorizationRuleId")
        else None,
        enabled_logs=enabled_logs,
        metrics_enabled=any(isinstance(m, Mapping) and m.get("enabled") is True for m in metrics or []),
    )


class AzurePosture:
    """``PosturePort`` over ARM (plain GETs through the Cognitive Services client's pipeline)."""

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients

    def _get(self, subscription_id: str, path: str, what: str, permission: str) -> tuple[int, Any]:
        from azure.core.rest import HttpRequest

        client = self._clients.cognitive(subscription_id)

        def send() -> Any:
            # `_send_request` is the generated client's documented raw-request entry point
            # (aka.ms/azsdk/dpcodegen/python/send_request), underscored in this SDK version. It
            # answers every status; a failure status is raised here for the one translation.
            response = client._send_request(HttpRequest("GET", path))
            if response.status_code not in (200, 404):
                response.raise_for_status()
            return response

        response = azure_call(what, permission, send, _KINDS)
        if response.status_code == 404:
            return 404, None
        try:
            return 200, response.json()
        except ValueError:
            raise PostureError(f"{what}: the response is not JSON") from None

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        path = f"{account}/providers/Microsoft.Insights/diagnosticSettings?api-version={DIAGNOSTIC_SETTINGS_API}"
        status, body = self._get(
            account.subscription_id,
            path,
            f"list diagnostic settings of {account}",
            "Microsoft.Insights/diagnosticSettings/read",
        )
        if status == 404:
            raise PostureError(f"list diagnostic settings of {account}: the account was not found (HTTP 404)")
        items = body.get("value") if isinstance(body, Mapping) else None
        return [diagnostic_setting_from_json(i) for i in items or [] if isinstance(i, Mapping)]

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        path = (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Security/pricings/{plan}?api-version={PRICINGS_API}"
        )
        status, body = self._get(
            subscription_id,
            path,
            f"read Defender plan {plan} of subscription {subscription_id}",
            "Microsoft.Security/pricings/read",
        )
        if status == 404 or not isinstance(body, Mapping):
            return None
        raw_props = body.get("properties")
        props: Mapping[str, Any] = raw_props if isinstance(raw_props, Mapping) else {}
        tier = props.get("pricingTier")
        if not isinstance(tier, str) or not tier:
            return None
        sub_plan = props.get("subPlan")
        return DefenderPlan(
            subscription_id.lower(),
            str(body.get("name") or plan),
            tier,
            sub_plan if isinstance(sub_plan, str) else None,
        )
