"""The inventory port: every Azure OpenAI / AI Services account in scope.

``InventoryPort`` lists the estate's accounts as ``AiAccount`` (the settings key hygiene and
posture check). The Azure implementation, ``shared.azure.inventory.AzureInventory``, pages one
Resource Graph query over every configured subscription; unit tests use
``tests.fakes.FakeInventory``.

Errors: ``InventoryError`` when the listing fails, ``InventoryAccessDeniedError`` on 401/403
(Warden's identity needs Reader on the subscriptions).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.resource_ids import AccountId

__all__ = ["AiAccount", "InventoryAccessDeniedError", "InventoryError", "InventoryPort"]


class InventoryError(RuntimeError):
    """The Resource Graph query failed."""


class InventoryAccessDeniedError(InventoryError):
    """Warden's identity cannot read the subscriptions (HTTP 401/403)."""


@dataclass(frozen=True, slots=True)
class AiAccount:
    """One account as Resource Graph reports it (the settings key hygiene checks)."""

    id: AccountId
    kind: str
    location: str = ""
    endpoint: str | None = None
    disable_local_auth: bool = False
    public_network_access: str | None = None
    network_default_action: str | None = None
    ip_rule_count: int = 0
    sku: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class InventoryPort(Protocol):
    """Estate-wide inventory of AI accounts."""

    def list_ai_accounts(self, subscriptions: Sequence[str], kinds: Sequence[str]) -> Iterator[AiAccount]:
        """Every account of ``kinds`` in ``subscriptions``, page by page (lazily)."""
        ...
