"""Content-filter (RAI) policies Warden can create when a playbook names one that is missing.

``switch_rai_policy`` needs its target policy on the account. Warden's infrastructure normally
creates ``warden-strict``; if it is missing, Warden creates it from the definition below (a
strict superset of ``Microsoft.DefaultV2``: every harm category blocked from severity Low on
prompts and completions, Prompt Shields for jailbreaks and indirect attacks on). A playbook
naming any other missing policy is refused with a message saying what to create.
"""

from __future__ import annotations

from shared.ports.cognitive import ContentFilter, RaiPolicyInfo
from shared.resource_ids import AccountId

__all__ = ["KNOWN_RAI_POLICIES", "rai_policy_definition"]

_HARMS = ("Hate", "Sexual", "Violence", "Selfharm")


def _strict_filters() -> tuple[ContentFilter, ...]:
    filters = [
        ContentFilter(name=harm, source=source, enabled=True, blocking=True, severity_threshold="Low")
        for harm in _HARMS
        for source in ("Prompt", "Completion")
    ]
    filters.append(ContentFilter(name="Jailbreak", source="Prompt", enabled=True, blocking=True))
    filters.append(ContentFilter(name="Indirect Attack", source="Prompt", enabled=True, blocking=True))
    filters.append(ContentFilter(name="Protected Material Text", source="Completion", enabled=True, blocking=True))
    return tuple(filters)


KNOWN_RAI_POLICIES: dict[str, str] = {
    "warden-strict": "every harm category blocked from Low, Prompt Shields (jailbreak, indirect attack) on",
}
"""Policies Warden knows how to create (lower-case name -> what it does)."""


def rai_policy_definition(account: AccountId, name: str) -> RaiPolicyInfo | None:
    """The definition of ``name`` for ``account`` if Warden knows it, else ``None``."""
    if name.lower() != "warden-strict":
        return None
    return RaiPolicyInfo(
        account=account,
        name=name,
        mode="Blocking",
        base_policy_name="Microsoft.DefaultV2",
        content_filters=_strict_filters(),
    )
