"""Who to tell about a resource: its owner tags (policy ``owners.tags``: ``owner``,
``security-contact``), else the subscription's fallback, else the default fallback."""

from __future__ import annotations

from collections.abc import Mapping

from shared.policy.decisions import owners_for
from shared.policy.schema import Policy

__all__ = ["resource_owners"]


def resource_owners(policy: Policy, tags: Mapping[str, str] | None, subscription_id: str | None) -> list[str]:
    """Contacts for a resource (never empty for a valid policy)."""
    return owners_for(policy, tags or {}, subscription_id)
