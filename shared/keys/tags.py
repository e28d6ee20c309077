"""The dual-credential tags on a Key Vault secret that holds an account key.

Convention (Azure's dual-credential rotation tutorial and its PowerShell sample,
``Azure/KeyVault-Secrets-Rotation-StorageAccount-PowerShell``):

=====================  =====================================================================
tag                    meaning
=====================  =====================================================================
``CredentialId``       which account key the secret's current version holds: ``key1``/``key2``
``ProviderAddress``    ARM id of the Cognitive Services account the key belongs to
``ValidityPeriodDays`` how long a version is valid; a new version expires that many days later
=====================  =====================================================================

Tag *names* are matched case-insensitively (people type them by hand); Warden writes them in
the spelling above. ``parse_dual_credential_tags`` returns ``None`` for a secret that does not
use the convention at all, and raises ``TagError`` (naming the tag, its value and what was
expected) for one that uses it wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.keys.slots import KeySlot
from shared.resource_ids import AccountId, InvalidResourceIdError, parse_resource_id

__all__ = [
    "CREDENTIAL_ID",
    "MAX_VALIDITY_DAYS",
    "PROVIDER_ADDRESS",
    "ROTATION_ID",
    "VALIDITY_PERIOD_DAYS",
    "DualCredentialTags",
    "TagError",
    "find_tag",
    "parse_dual_credential_tags",
]

CREDENTIAL_ID = "CredentialId"
PROVIDER_ADDRESS = "ProviderAddress"
VALIDITY_PERIOD_DAYS = "ValidityPeriodDays"
ROTATION_ID = "WardenRotationId"
"""Written by Warden on every version it creates: the rotation (orchestration) that made it."""

MAX_VALIDITY_DAYS = 3650
_DAYS_RE = re.compile(r"^[0-9]{1,5}$")


class TagError(ValueError):
    """A secret uses the dual-credential convention but one of its tags is wrong."""

    def __init__(self, tag: str, value: object, expected: str) -> None:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 200 else repr(value[:200] + "...")
        super().__init__(f"tag {tag}={shown}: expected {expected}")
        self.tag = tag
        self.value = value
        self.expected = expected


def find_tag(tags: Mapping[str, str] | None, name: str) -> str | None:
    """The value of tag ``name`` (case-insensitive name match), or ``None``."""
    if not tags:
        return None
    if name in tags:
        return tags[name]
    lowered = name.lower()
    for key, value in tags.items():
        if isinstance(key, str) and key.strip().lower() == lowered:
            return value
    return None


@dataclass(frozen=True, slots=True)
class DualCredentialTags:
    """The parsed tags: the active key, the account it belongs to, and the validity period."""

    credential_id: KeySlot
    provider_address: AccountId
    validity_days: int

    def as_tags(self, *, rotation_id: str | None = None) -> dict[str, str]:
        """The tags to write on a secret version, in the convention's spelling."""
        tags = {
            CREDENTIAL_ID: self.credential_id.value,
            PROVIDER_ADDRESS: str(self.provider_address),
            VALIDITY_PERIOD_DAYS: str(self.validity_days),
        }
        if rotation_id:
            tags[ROTATION_ID] = rotation_id
        return tags

    def with_credential(self, slot: KeySlot) -> DualCredentialTags:
        return DualCredentialTags(slot, self.provider_address, self.validity_days)


def parse_dual_credential_tags(
    tags: Mapping[str, str] | None, *, default_validity_days: int | None = None
) -> DualCredentialTags | None:
    """Parse a secret's tags.

    Returns ``None`` when neither ``CredentialId`` nor ``ProviderAddress`` is present (the
    secret is not a dual-credential secret). Raises ``TagError`` when one is present but the
    set is incomplete or malformed. A missing ``ValidityPeriodDays`` takes
    ``default_validity_days`` when given, else is an error.
    """
    credential = find_tag(tags, CREDENTIAL_ID)
    provider = find_tag(tags, PROVIDER_ADDRESS)
    validity = find_tag(tags, VALIDITY_PERIOD_DAYS)
    if credential is None and provider is None:
        return None
    if credential is None:
        raise TagError(CREDENTIAL_ID, None, "'key1' or 'key2' (the tag is missing)")
    try:
        slot = KeySlot.parse(credential)
    except ValueError:
        raise TagError(CREDENTIAL_ID, credential, "'key1' or 'key2'") from None
    if provider is None:
        raise TagError(PROVIDER_ADDRESS, None, "the ARM id of a Cognitive Services account (tag missing)")
    try:
        parsed = parse_resource_id(provider.strip()) if isinstance(provider, str) else None
    except InvalidResourceIdError as exc:
        raise TagError(
            PROVIDER_ADDRESS, provider, f"the ARM id of a Cognitive Services account ({exc.reason})"
        ) from None
    if not isinstance(parsed, AccountId):
        raise TagError(
            PROVIDER_ADDRESS,
            provider,
            "the ARM id of a Cognitive Services account (/subscriptions/.../providers/"
            "Microsoft.CognitiveServices/accounts/{name})",
        )
    days = _parse_days(validity, default_validity_days)
    return DualCredentialTags(slot, parsed, days)


def _parse_days(value: str | None, default: int | None) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None:
            return default
        raise TagError(VALIDITY_PERIOD_DAYS, value, f"a whole number of days from 1 to {MAX_VALIDITY_DAYS}")
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _DAYS_RE.match(text):
        raise TagError(VALIDITY_PERIOD_DAYS, value, f"a whole number of days from 1 to {MAX_VALIDITY_DAYS}")
    days = int(text)
    if not 1 <= days <= MAX_VALIDITY_DAYS:
        raise TagError(VALIDITY_PERIOD_DAYS, value, f"a whole number of days from 1 to {MAX_VALIDITY_DAYS}")
    return days
