"""Key hygiene on plain data: which keys are too old, unmanaged, or touched out of band.

``scan_keys`` is pure: it takes the estate's inventory (Resource Graph), the key operations of
the retained AzureActivity window (one Log Analytics query) and the properties of the secrets in
the configured vaults (one listing per vault), and returns findings plus the accounts whose keys
should be rotated. No Azure call is made per account.

Findings (``Finding.kind``), each with a dedupe key that stays the same across scans while the
underlying fact is unchanged:

- ``key:local_auth_enabled`` — the account accepts API keys (``disableLocalAuth`` is false or
  never set). Recommendation: Microsoft Entra ID. Accounts with local auth disabled get no other
  key finding except out-of-band operations (their keys do not work).
- ``key:age_exceeded`` — a key was last regenerated more than ``max_age_days`` ago, or never in
  the retained window when that window is at least ``max_age_days`` long (evidence then says
  ``older_than_window``; the exact age is unknown).
- ``key:not_in_vault`` — no enabled secret in the configured vaults carries the account's id in
  ``ProviderAddress`` (skipped when no vault is configured).
- ``key:secret_without_expiry`` — a dual-credential secret whose current version has no expiry.
- ``key:out_of_band_operation`` — listKeys / regenerateKey by a caller other than Warden's own
  identity (skipped when ``WARDEN_IDENTITY_PRINCIPAL_ID`` is unknown).

Key age: the last regeneration of each key from AzureActivity. When a regeneration row has no
key name, it is attributed with Key Vault metadata: if the account's dual-credential secret got a
new version within ``ATTRIBUTION_WINDOW`` after it, the regenerated key is that version's
``CredentialId`` (Warden writes the new key right after regenerating it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.finding import Finding, FindingSource, Severity
from shared.keys.activity import KeyOperation, KeyOperationKind
from shared.keys.policy import KeyPolicy
from shared.keys.slots import KeySlot
from shared.keys.tags import DualCredentialTags, TagError, parse_dual_credential_tags
from shared.ports.inventory import AiAccount
from shared.ports.secrets import SecretMeta
from shared.resource_ids import AccountId

__all__ = [
    "ATTRIBUTION_WINDOW",
    "ENTRA_RECOMMENDATION",
    "KeyAge",
    "KeyScanInput",
    "KeyScanResult",
    "ManagedSecret",
    "RotationCandidate",
    "index_secrets",
    "scan_keys",
]

ATTRIBUTION_WINDOW = timedelta(minutes=15)
ENTRA_RECOMMENDATION = (
    "Use Microsoft Entra ID for authentication instead of API keys, then set disableLocalAuth=true. "
    "If you must use keys, rotate them regularly and audit access."
)


@dataclass(frozen=True, slots=True)
class ManagedSecret:
    """A secret that holds an account key under the dual-credential convention."""

    meta: SecretMeta
    tags: DualCredentialTags

    @property
    def ref(self) -> dict[str, Any]:
        return {
            "vault_url": self.meta.vault_url,
            "secret": self.meta.name,
            "credential_id": self.tags.credential_id.value,
            "expires_on": self.meta.expires_on.isoformat() if self.meta.expires_on else None,
            "enabled": self.meta.enabled,
        }


@dataclass(frozen=True, slots=True)
class KeyAge:
    """What is known of one key's age."""

    account: AccountId
    slot: KeySlot
    last_regenerated: datetime | None
    attributed_from_vault: bool = False

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_regenerated is None else now - self.last_regenerated


@dataclass(frozen=True, slots=True)
class RotationCandidate:
    """An account whose key should be rotated by a scheduled rotation, and the secret to use."""

    account: AccountId
    vault_url: str
    secret_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class KeyScanInput:
    """Everything the scan looks at. ``vaults`` are the vault URLs whose secrets were listed."""

    accounts: Sequence[AiAccount]
    operations: Sequence[KeyOperation]
    secrets: Sequence[SecretMeta]
    vaults: Sequence[str]
    now: datetime
    window: timedelta
    policy: KeyPolicy
    warden_principal_id: str | None = None


@dataclass
class KeyScanResult:
    """Findings, rotation candidates, counters and human-readable problems (bad rows, bad tags)."""

    findings: list[Finding] = field(default_factory=list)
    rotations: list[RotationCandidate] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.kind] += 1
        return dict(counts)


def index_secrets(
    secrets: Sequence[SecretMeta], policy: KeyPolicy, problems: list[str]
) -> dict[AccountId, list[ManagedSecret]]:
    """Dual-credential secrets by account (``ProviderAddress``). Bad tags go to ``problems``."""
    by_account: dict[AccountId, list[ManagedSecret]] = defaultdict(list)
    for meta in secrets:
        try:
            tags = parse_dual_credential_tags(meta.tags, default_validity_days=policy.validity_days)
        except TagError as exc:
            problems.append(f"secret {meta.name!r} in {meta.vault_url}: {exc}")
            continue
        if tags is None:
            continue
        by_account[tags.provider_address].append(ManagedSecret(meta, tags))
    for items in by_account.values():
        items.sort(key=lambda s: (s.meta.vault_url, s.meta.name))
    return by_account


def _key_ages(
    account: AccountId,
    regenerations: Sequence[KeyOperation],
    secrets: Sequence[ManagedSecret],
) -> tuple[dict[KeySlot, KeyAge], list[datetime]]:
    last: dict[KeySlot, datetime] = {}
    from_vault: dict[KeySlot, bool] = {}
    unattributed: list[datetime] = []
    for op in regenerations:
        slot = op.key
        attributed = False
        if slot is None:
            slot = _attribute(op.time, secrets)
            attributed = slot is not None
        if slot is None:
            unattributed.append(op.time)
            continue
        if slot not in last or op.time > last[slot]:
            last[slot] = op.time
            from_vault[slot] = attributed
    ages = {
        slot: KeyAge(account, slot, last.get(slot), attributed_from_vault=from_vault.get(slot, False))
        for slot in KeySlot
    }
    return ages, unattributed


def _attribute(when: datetime, secrets: Sequence[ManagedSecret]) -> KeySlot | None:
    for secret in secrets:
        created = secret.meta.created_on
        if created is not None and timedelta(0) <= created - when <= ATTRIBUTION_WINDOW:
            return secret.tags.credential_id
    return None


def _finding(
    *,
    kind: str,
    severity: Severity,
    title: str,
    resource: AccountId,
    evidence: dict[str, Any],
    dedupe: str,
    first_seen: datetime,
    last_seen: datetime,
    source: FindingSource = FindingSource.KEY_HYGIENE,
) -> Finding:
    return Finding(
        source=source,
        kind=kind,
        severity=severity,
        title=title[:500],
        resource=resource,
        evidence=evidence,
        dedupe_key=dedupe[:512],
        first_seen=min(first_seen, last_seen),
        last_seen=last_seen,
    )


def _account_key(account: AccountId) -> str:
    return str(account).lower()


def scan_keys(data: KeyScanInput) -> KeyScanResult:
    """Run every key-hygiene check on plain data (no I/O). See the module docstring."""
    result = KeyScanResult()
    now = data.now
    policy = data.policy
    max_age = timedelta(days=policy.max_age_days)
    window_days = data.window.total_seconds() / 86_400
    provable_unknown = data.window >= max_age
    secrets_by_account = index_secrets(data.secrets, policy, result.problems)
    regenerations: dict[AccountId, list[KeyOperation]] = defaultdict(list)
    for op in data.operations:
        if op.kind is KeyOperationKind.REGENERATE_KEY:
            regenerations[op.account].append(op)
    inventory = {a.id: a for a in data.accounts}
    stats: dict[str, int] = defaultdict(int)
    stats["accounts"] = len(inventory)
    stats["operations"] = len(data.operations)
    stats["secrets_listed"] = len(data.secrets)
    stats["managed_secrets"] = sum(len(v) for v in secrets_by_account.values())
    warden = (data.warden_principal_id or "").strip().lower() or None
    if warden is None:
        result.problems.append(
            "WARDEN_IDENTITY_PRINCIPAL_ID is not set: out-of-band key operations cannot be told "
            "apart from Warden's own and are not reported"
        )
    if not data.vaults:
        result.problems.append("no Key Vault configured (WARDEN_KEY_VAULTS): key:not_in_vault is not checked")
    if not provable_unknown:
        result.problems.append(
            f"the AzureActivity window ({window_days:g} days) is shorter than max_age_days "
            f"({policy.max_age_days}): keys not regenerated within the window have an unknown age "
            "and are not reported as too old"
        )

    for account in sorted(inventory.values(), key=lambda a: _account_key(a.id)):
        aid = account.id
        akey = _account_key(aid)
        managed = secrets_by_account.get(aid, [])
        if not account.disable_local_auth:
            stats["local_auth_enabled"] += 1
            exposed = (account.public_network_access or "Enabled").lower() != "disabled" and (
                account.network_default_action or "Allow"
            ).lower() != "deny"
            result.findings.append(
                _finding(
                    kind="key:local_auth_enabled",
                    severity=Severity.MEDIUM if exposed else Severity.LOW,
                    title=f"API key authentication is enabled on {aid.name}",
                    resource=aid,
                    evidence={
                        "account_kind": account.kind,
                        "disable_local_auth": False,
                        "public_network_access": account.public_network_access,
                        "network_default_action": account.network_default_action,
                        "recommendation": ENTRA_RECOMMENDATION,
                    },
                    dedupe=f"key:local_auth_enabled|{akey}",
                    first_seen=now,
                    last_seen=now,
                )
            )
        else:
            # Keys do not authenticate on this account; age and vault checks do not apply.
            continue

        ages, unattributed = _key_ages(aid, regenerations.get(aid, []), managed)
        active = {s.tags.credential_id for s in managed if s.meta.enabled}
        too_old: list[KeySlot] = []
        for slot in KeySlot:
            age = ages[slot]
            evidence: dict[str, Any] = {
                "key": slot.value,
                "max_age_days": policy.max_age_days,
                "window_days": round(window_days, 3),
                "active_in_vault": slot in active if managed else None,
                "secrets": [s.ref for s in managed][:10],
            }
            if age.last_regenerated is None:
                if not provable_unknown:
                    stats["age_unknown"] += 1
                    continue
                evidence.update(
                    {
                        "last_regenerated": None,
                        "older_than_window": True,
                        "age_days": None,
                        "age": f"more than {window_days:g} days (never regenerated in the retained "
                        "AzureActivity window)",
                    }
                )
                if unattributed:
                    evidence["unattributed_regenerations"] = [t.isoformat() for t in unattributed[-5:]]
                dedupe = f"key:age_exceeded|{akey}|{slot.value}|before-window"
                first_seen = now
            else:
                current = now - age.last_regenerated
                if current <= max_age:
                    continue
                evidence.update(
                    {
                        "last_regenerated": age.last_regenerated.isoformat(),
                        "older_than_window": False,
                        "age_days": math.floor(current.total_seconds() / 86_400),
                        "attributed_from_vault": age.attributed_from_vault,
                    }
                )
                dedupe = f"key:age_exceeded|{akey}|{slot.value}|{age.last_regenerated.isoformat()}"
                first_seen = age.last_regenerated + max_age
            too_old.append(slot)
            stats["age_exceeded"] += 1
            result.findings.append(
                _finding(
                    kind="key:age_exceeded",
                    severity=Severity.MEDIUM,
                    title=f"{slot.value} of {aid.name} is older than {policy.max_age_days} days",
                    resource=aid,
                    evidence=evidence,
                    dedupe=dedupe,
                    first_seen=first_seen,
                    last_seen=now,
                )
            )

        enabled = [s for s in managed if s.meta.enabled]
        if data.vaults and not enabled:
            stats["not_in_vault"] += 1
            result.findings.append(
                _finding(
                    kind="key:not_in_vault",
                    severity=Severity.LOW,
                    title=f"The keys of {aid.name} are not managed in Key Vault",
                    resource=aid,
                    evidence={
                        "vaults_checked": list(data.vaults)[:20],
                        "convention": "a secret tagged CredentialId=key1|key2 and ProviderAddress=<account id>",
                        "disabled_secrets": [s.ref for s in managed][:10],
                    },
                    dedupe=f"key:not_in_vault|{akey}",
                    first_seen=now,
                    last_seen=now,
                )
            )
        for secret in enabled:
            if secret.meta.expires_on is None:
                stats["secret_without_expiry"] += 1
                created = secret.meta.created_on.isoformat() if secret.meta.created_on else "unknown"
                result.findings.append(
                    _finding(
                        kind="key:secret_without_expiry",
                        severity=Severity.LOW,
                        title=f"Secret {secret.meta.name} holding a key of {aid.name} has no expiry",
                        resource=aid,
                        evidence={**secret.ref, "version_created_on": created},
                        dedupe=f"key:secret_without_expiry|{secret.meta.vault_url.lower()}|"
                        f"{secret.meta.name.lower()}|{created}",
                        first_seen=secret.meta.created_on or now,
                        last_seen=now,
                    )
                )
        if too_old and enabled and policy.auto_rotate_on_age:
            target = enabled[0]
            result.rotations.append(
                RotationCandidate(
                    account=aid,
                    vault_url=target.meta.vault_url,
                    secret_name=target.meta.name,
                    reason=f"{', '.join(s.value for s in too_old)} older than {policy.max_age_days} days",
                )
            )

    if warden is not None:
        for op in data.operations:
            owner = inventory.get(op.account)
            if owner is None or op.caller.lower() == warden:
                continue
            stats["out_of_band_operation"] += 1
            akey = _account_key(op.account)
            marker = op.correlation_id or op.time.isoformat()
            result.findings.append(
                _finding(
                    kind="key:out_of_band_operation",
                    severity=Severity.MEDIUM if not owner.disable_local_auth else Severity.LOW,
                    title=f"{op.kind.value} on {op.account.name} by {op.caller or 'an unknown caller'}",
                    resource=op.account,
                    evidence={
                        "operation": op.kind.value,
                        "caller": op.caller[:256],
                        "caller_ip": op.caller_ip,
                        "correlation_id": op.correlation_id,
                        "key": op.key.value if op.key else None,
                        "time": op.time.isoformat(),
                        "expected_caller": warden,
                        "local_auth_disabled": owner.disable_local_auth,
                    },
                    dedupe=f"key:out_of_band_operation|{akey}|{op.kind.value}|{marker.lower()}",
                    first_seen=op.time,
                    last_seen=op.time,
                )
            )
    stats["findings"] = len(result.findings)
    stats["rotations"] = len(result.rotations)
    result.stats = dict(stats)
    return result
