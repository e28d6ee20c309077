"""``InventoryPort`` over Resource Graph: the Azure implementation.

One paged Resource Graph query (``shared/kql/ai_accounts.kql``) covers every configured
subscription: at most 1,000 rows per page, continued with ``$skipToken``, so an estate of N
accounts costs ceil(N/1000) requests instead of one ARM call per account. Rows whose id is not a
valid account id are skipped with a warning (Resource Graph is eventually consistent and may
return odd rows; one bad row must not hide the estate).

Requires ``Microsoft.Resources/subscriptions/resources/read`` (Reader) on each subscription.
Errors (``shared.azure.errors``): ``InventoryAccessDeniedError`` on 401/403, ``InventoryError``
otherwise.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.azure.errors import ErrorKinds, azure_call
from shared.ports.inventory import AiAccount, InventoryAccessDeniedError, InventoryError
from shared.resource_ids import AccountId, InvalidResourceIdError

if TYPE_CHECKING:
    from shared.azure.clients import AzureClients

__all__ = ["PAGE_SIZE", "AzureInventory", "ai_account_from_row"]

_log = logging.getLogger("warden.azure.inventory")

PAGE_SIZE = 1000
"""Resource Graph's maximum page size (``$top`` is capped at 1,000)."""

_KINDS = ErrorKinds(failed=InventoryError, denied=InventoryAccessDeniedError)


def ai_account_from_row(row: Mapping[str, Any]) -> AiAccount:
    """One ``ai_accounts`` row -> ``AiAccount``. Raises ``InvalidResourceIdError`` for a bad id.

    ``disableLocalAuth`` null (never set) means ``False``; tags that are not a mapping are
    dropped; non-string tag values are stringified.
    """
    account = AccountId.parse(str(row.get("id") or ""))
    tags_raw = row.get("tags")
    tags = {str(k): str(v) for k, v in tags_raw.items()} if isinstance(tags_raw, Mapping) else {}
    local = row.get("disableLocalAuth")
    ip_count = row.get("ipRuleCount")
    return AiAccount(
        id=account,
        kind=str(row.get("kind") or ""),
        location=str(row.get("location") or ""),
        endpoint=str(row["endpoint"]) if row.get("endpoint") else None,
        disable_local_auth=local is True or (isinstance(local, str) and local.lower() == "true"),
        public_network_access=str(row["publicNetworkAccess"]) if row.get("publicNetworkAccess") else None,
        network_default_action=str(row["networkDefaultAction"]) if row.get("networkDefaultAction") else None,
        ip_rule_count=int(ip_count) if isinstance(ip_count, int | float) else 0,
        sku=str(row["sku"]) if row.get("sku") else None,
        tags=tags,
    )


class AzureInventory:
    """``InventoryPort`` over ``azure-mgmt-resourcegraph`` and the ``ai_accounts`` named query."""

    def __init__(self, clients: AzureClients, *, page_size: int = PAGE_SIZE) -> None:
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size={page_size}: expected 1 to {PAGE_SIZE}")
        self._clients = clients
        self._page_size = page_size

    def list_ai_accounts(self, subscriptions: Sequence[str], kinds: Sequence[str]) -> Iterator[AiAccount]:
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        from shared.kql import render

        if not subscriptions:
            return
        query = render("ai_accounts", kinds=list(kinds))
        client = self._clients.resource_graph()
        skip_token: str | None = None
        page = 0
        while True:
            request = QueryRequest(
                subscriptions=list(subscriptions),
                query=query,
                options=QueryRequestOptions(top=self._page_size, skip_token=skip_token, result_format="objectArray"),
            )
            response = azure_call(
                f"Resource Graph query ai_accounts page {page + 1}",
                "Reader on the subscriptions",
                functools.partial(client.resources, request),
                _KINDS,
            )
            page += 1
            rows: list[Any] = response.data if isinstance(response.data, list) else []
            for row in rows:
                if not isinstance(row, Mapping):
                    continue
                try:
                    yield ai_account_from_row(row)
                except InvalidResourceIdError as exc:
                    _log.warning("skipping Resource Graph row with a bad account id: %s", exc)
            skip_token = response.skip_token
            if not skip_token:
                return
