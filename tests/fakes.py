"""In-memory fakes of Warden's ports, for unit tests (no HTTP, no SDK). Test code only: nothing
under ``shared/`` imports them.

Each fake keeps the state it would change in Azure and a ``calls`` counter per operation, so a
test can assert both outcomes and costs. They follow the real adapters' contracts: the same
errors for missing resources, keys regenerated to new random values, secret versions appended.

- ``FakeCognitive`` — accounts, keys, deployments, RAI policies; ``probe()`` gives a
  ``FakeKeyProbe`` that accepts exactly the keys each account currently has.
- ``FakeSecrets`` — vaults of versioned secrets.
- ``FakeInventory`` — a list of ``AiAccount``, paged like Resource Graph.
- ``FakeLogs`` — canned rows per named query.
- ``FakePosture`` — diagnostic settings per account, Defender plans per subscription.
- ``FakeChannel`` — a notification channel that records what it is sent and can be told to fail.
"""

from __future__ import annotations

import asyncio
import secrets as _random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from shared.audit.chain import AuditRecord
from shared.azure.inventory import PAGE_SIZE
from shared.keys.slots import KeySlot
from shared.notify.messages import Notification
from shared.observability import register_secret
from shared.ports.cognitive import (
    AccountInfo,
    AccountKeys,
    AccountPatch,
    CognitiveNotFoundError,
    DeploymentInfo,
    RaiPolicyInfo,
)
from shared.ports.durable import OrchestrationStatus
from shared.ports.inventory import AiAccount
from shared.ports.logs import Row, Timespan
from shared.ports.posture import DEFENDER_AI_PLAN, DefenderPlan, DiagnosticSetting
from shared.ports.probe import KeyRejectedError
from shared.ports.secrets import SecretMeta, SecretNotFoundError, SecretValue
from shared.resource_ids import AccountId, DeploymentId
from shared.storage.memory import MemoryAuditStore

__all__ = [
    "FakeChannel",
    "FakeCognitive",
    "FakeInventory",
    "FakeKeyProbe",
    "FakeLogs",
    "FakeOrchestrations",
    "FakePosture",
    "FakeSecrets",
    "TamperableAuditStore",
    "new_key",
]


def new_key() -> str:
    """A fresh key shaped like an Azure AI services key (32 hex characters)."""
    value = _random.token_hex(16)
    register_secret(value)
    return value


@dataclass
class _FakeAccount:
    info: AccountInfo
    keys: dict[KeySlot, str]
    deployments: dict[str, DeploymentInfo] = field(default_factory=dict)
    rai_policies: dict[str, RaiPolicyInfo] = field(default_factory=dict)


class FakeCognitive:
    """``CognitivePort`` in memory."""

    def __init__(self) -> None:
        self._accounts: dict[AccountId, _FakeAccount] = {}
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.regenerations: list[tuple[AccountId, KeySlot]] = []

    # -- setup ------------------------------------------------------------------------------
    def add_account(
        self,
        account: AccountId,
        *,
        kind: str = "OpenAI",
        disable_local_auth: bool = False,
        endpoint: str | None = None,
        keys: tuple[str, str] | None = None,
    ) -> AccountInfo:
        info = AccountInfo(
            id=account,
            kind=kind,
            location="eastus",
            endpoint=endpoint or f"https://{account.name.lower()}.openai.azure.com/",
            disable_local_auth=disable_local_auth,
            public_network_access="Enabled",
            network_default_action="Allow",
        )
        key1, key2 = keys if keys is not None else (new_key(), new_key())
        register_secret(key1)
        register_secret(key2)
        with self._lock:
            self._accounts[account] = _FakeAccount(info=info, keys={KeySlot.KEY1: key1, KeySlot.KEY2: key2})
        return info

    def current_key(self, account: AccountId, slot: KeySlot) -> str:
        """Test helper: the key's current value."""
        return self._get(account).keys[slot]

    def _get(self, account: AccountId) -> _FakeAccount:
        found = self._accounts.get(account)
        if found is None:
            raise CognitiveNotFoundError(f"account {account}: not found (HTTP 404)")
        return found

    def probe(self) -> FakeKeyProbe:
        return FakeKeyProbe(self)

    def _endpoint_accepts(self, endpoint: str, key: str) -> bool:
        wanted = endpoint.rstrip("/").lower()
        with self._lock:
            for acct in self._accounts.values():
                if (acct.info.endpoint or "").rstrip("/").lower() == wanted:
                    return not acct.info.disable_local_auth and key in acct.keys.values()
        return False

    # -- port -------------------------------------------------------------------------------
    def get_account(self, account: AccountId) -> AccountInfo:
        self.calls["get_account"] += 1
        with self._lock:
            return self._get(account).info

    def list_keys(self, account: AccountId) -> AccountKeys:
        self.calls["list_keys"] += 1
        with self._lock:
            keys = self._get(account).keys
            return AccountKeys(key1=keys[KeySlot.KEY1], key2=keys[KeySlot.KEY2])

    def regenerate_key(self, account: AccountId, slot: KeySlot) -> AccountKeys:
        self.calls["regenerate_key"] += 1
        with self._lock:
            acct = self._get(account)
            acct.keys[slot] = new_key()
            self.regenerations.append((account, slot))
            return AccountKeys(key1=acct.keys[KeySlot.KEY1], key2=acct.keys[KeySlot.KEY2])

    def update_account(self, account: AccountId, patch: AccountPatch) -> AccountInfo:
        self.calls["update_account"] += 1
        with self._lock:
            acct = self._get(account)
            info = acct.info
            acct.info = replace(
                info,
                disable_local_auth=info.disable_local_auth
                if patch.disable_local_auth is None
                else patch.disable_local_auth,
                public_network_access=patch.public_network_access or info.public_network_access,
                network_default_action=patch.network_default_action or info.network_default_action,
                ip_rules=info.ip_rules if patch.ip_rules is None else tuple(patch.ip_rules),
                tags=info.tags if patch.tags is None else dict(patch.tags),
            )
            return acct.info

    def list_deployments(self, account: AccountId) -> list[DeploymentInfo]:
        self.calls["list_deployments"] += 1
        with self._lock:
            return list(self._get(account).deployments.values())

    def get_deployment(self, deployment: DeploymentId) -> DeploymentInfo:
        self.calls["get_deployment"] += 1
        with self._lock:
            found = self._get(deployment.account).deployments.get(deployment.name.lower())
        if found is None:
            raise CognitiveNotFoundError(f"deployment {deployment}: not found (HTTP 404)")
        return found

    def create_or_update_deployment(self, spec: DeploymentInfo) -> DeploymentInfo:
        self.calls["create_or_update_deployment"] += 1
        stored = replace(spec, provisioning_state="Succeeded")
        with self._lock:
            self._get(spec.id.account).deployments[spec.id.name.lower()] = stored
        return stored

    def delete_deployment(self, deployment: DeploymentId) -> bool:
        self.calls["delete_deployment"] += 1
        with self._lock:
            return self._get(deployment.account).deployments.pop(deployment.name.lower(), None) is not None

    def list_rai_policies(self, account: AccountId) -> list[RaiPolicyInfo]:
        self.calls["list_rai_policies"] += 1
        with self._lock:
            return list(self._get(account).rai_policies.values())

    def get_rai_policy(self, account: AccountId, name: str) -> RaiPolicyInfo:
        self.calls["get_rai_policy"] += 1
        with self._lock:
            found = self._get(account).rai_policies.get(name.lower())
        if found is None:
            raise CognitiveNotFoundError(f"RAI policy {name!r} of {account}: not found (HTTP 404)")
        return found

    def create_or_update_rai_policy(self, policy: RaiPolicyInfo) -> RaiPolicyInfo:
        self.calls["create_or_update_rai_policy"] += 1
        with self._lock:
            self._get(policy.account).rai_policies[policy.name.lower()] = policy
        return policy


class FakeKeyProbe:
    """``KeyProbe`` against a ``FakeCognitive``: accepts the account's current keys only.

    ``reject_next`` makes the next N checks fail as if the data plane had not caught up yet.
    """

    def __init__(self, cognitive: FakeCognitive) -> None:
        self._cognitive = cognitive
        self.calls = 0
        self.reject_next = 0

    def check_key(self, endpoint: str, key: str, *, timeout: float = 10.0) -> None:

        self.calls += 1
        if self.reject_next > 0:
            self.reject_next -= 1
            raise KeyRejectedError(f"{endpoint} refused the key (HTTP 401)")
        if not self._cognitive._endpoint_accepts(endpoint, key):
            raise KeyRejectedError(f"{endpoint} refused the key (HTTP 401)")


@dataclass
class _Version:
    meta: SecretMeta
    value: str


class FakeSecrets:
    """``SecretsPort`` in memory: vault URL -> secret name -> versions (oldest first)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._vaults: dict[str, dict[str, list[_Version]]] = {}
        self._lock = threading.Lock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.calls: Counter[str] = Counter()

    def add_vault(self, vault_url: str) -> None:
        with self._lock:
            self._vaults.setdefault(vault_url.rstrip("/").lower(), {})

    def _vault(self, vault_url: str) -> dict[str, list[_Version]]:
        vault = self._vaults.get(vault_url.rstrip("/").lower())
        if vault is None:
            raise SecretNotFoundError(f"vault {vault_url}: not found")
        return vault

    def versions(self, vault_url: str, name: str) -> list[SecretMeta]:
        """Test helper: every version's properties, oldest first."""
        with self._lock:
            return [v.meta for v in self._vault(vault_url).get(name.lower(), [])]

    def get_secret(self, vault_url: str, name: str, version: str | None = None) -> SecretValue:
        self.calls["get_secret"] += 1
        with self._lock:
            versions = self._vault(vault_url).get(name.lower())
            if not versions:
                raise SecretNotFoundError(f"read secret {name!r} in {vault_url}: not found (HTTP 404)")
            chosen = versions[-1] if version is None else next((v for v in versions if v.meta.version == version), None)
            if chosen is None:
                raise SecretNotFoundError(f"read secret {name!r} version {version} in {vault_url}: not found")
        register_secret(chosen.value)
        return SecretValue(meta=chosen.meta, value=chosen.value)

    def list_properties(self, vault_url: str) -> list[SecretMeta]:
        self.calls["list_properties"] += 1
        with self._lock:
            return [replace(v[-1].meta, version=None) for v in self._vault(vault_url).values() if v]

    def set_secret(
        self,
        vault_url: str,
        name: str,
        value: str,
        *,
        tags: Mapping[str, str],
        expires_on: datetime | None,
        content_type: str | None = None,
    ) -> SecretMeta:
        self.calls["set_secret"] += 1
        register_secret(value)
        now = self._clock()
        meta = SecretMeta(
            vault_url=vault_url.rstrip("/").lower(),
            name=name,
            version=_random.token_hex(16),
            enabled=True,
            created_on=now,
            updated_on=now,
            expires_on=expires_on,
            content_type=content_type,
            tags=dict(tags),
        )
        with self._lock:
            self._vault(vault_url).setdefault(name.lower(), []).append(_Version(meta, value))
        return meta

    def update_properties(
        self,
        vault_url: str,
        name: str,
        version: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        expires_on: datetime | None = None,
        enabled: bool | None = None,
    ) -> SecretMeta:
        self.calls["update_properties"] += 1
        with self._lock:
            versions = self._vault(vault_url).get(name.lower()) or []
            target = (
                versions[-1]
                if version is None and versions
                else next((v for v in versions if v.meta.version == version), None)
            )
            if target is None:
                raise SecretNotFoundError(f"update secret {name!r} in {vault_url}: not found (HTTP 404)")
            target.meta = replace(
                target.meta,
                tags=dict(tags) if tags is not None else target.meta.tags,
                expires_on=expires_on if expires_on is not None else target.meta.expires_on,
                enabled=enabled if enabled is not None else target.meta.enabled,
                updated_on=self._clock(),
            )
            return target.meta


class FakeInventory:
    """``InventoryPort`` over a list; counts Resource Graph pages like the real one would."""

    def __init__(self, accounts: Sequence[AiAccount] = (), *, page_size: int = PAGE_SIZE) -> None:
        self.accounts = list(accounts)
        self.page_size = page_size
        self.pages = 0

    def list_ai_accounts(self, subscriptions: Sequence[str], kinds: Sequence[str]) -> Iterator[AiAccount]:
        subs = {s.lower() for s in subscriptions}
        wanted = {k.lower() for k in kinds}
        matching = [a for a in self.accounts if a.id.subscription_id.lower() in subs and a.kind.lower() in wanted]
        if not subs:
            return
        start = 0
        while True:
            self.pages += 1
            yield from matching[start : start + self.page_size]
            start += self.page_size
            if start >= len(matching):
                return


class FakeLogs:
    """``LogsPort`` answering each named query from canned rows (or a function of the params)."""

    def __init__(self, answers: Mapping[str, list[Row] | Callable[..., list[Row]]] | None = None) -> None:
        self.answers: dict[str, list[Row] | Callable[..., list[Row]]] = dict(answers or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def run(self, name: str, *, timespan: Timespan = None, **params: Any) -> list[Row]:
        from shared.kql import render

        render(name, **params)  # the same parameter checks as the real adapter
        self.calls.append((name, dict(params)))
        answer = self.answers.get(name, [])
        return list(answer(**params)) if callable(answer) else list(answer)


@dataclass
class FakePosture:
    """In-memory ``PosturePort``: settings per account id (lowercase), plans per subscription."""

    settings: dict[str, list[DiagnosticSetting]] = field(default_factory=dict)
    plans: dict[str, DefenderPlan] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def diagnostic_settings(self, account: AccountId) -> list[DiagnosticSetting]:
        self.calls.append(f"diagnosticSettings:{account}")
        return list(self.settings.get(str(account).lower(), []))

    def defender_plan(self, subscription_id: str, plan: str = DEFENDER_AI_PLAN) -> DefenderPlan | None:
        self.calls.append(f"pricings:{subscription_id}/{plan}")
        return self.plans.get(subscription_id.lower())


@dataclass
class FakeChannel:
    """Records what it is sent; fails the first ``failures`` sends (tests)."""

    name: str = "memory"
    failures: int = 0
    sent: list[Notification] = field(default_factory=list)
    calls: int = 0

    def send(self, message: Notification) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError(f"{self.name} is unavailable")
        self.sent.append(message)


class TamperableAuditStore(MemoryAuditStore):
    """``MemoryAuditStore`` with what an attacker with write access to the table could do."""

    def tamper_replace(self, seq: int, record: AuditRecord) -> None:
        with self._lock:
            self._records[seq - 1] = record

    def tamper_delete(self, seq: int) -> None:
        with self._lock:
            del self._records[seq - 1]


class FakeOrchestrations:
    """``Orchestrations`` like the Durable HTTP API: no status before an instance exists (404),
    ``Running`` while it runs, ``Completed`` once finished (``finish_all``)."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.finished: set[str] = set()
        self.started: list[str] = []
        self.inputs: dict[str, tuple[str, dict[str, Any]]] = {}
        self.status_reads: list[str] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_next_start = False
        self.start_delay = 0.0

    async def start(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        await asyncio.sleep(self.start_delay)
        if self.fail_next_start:
            self.fail_next_start = False
            raise ConnectionError("durable endpoint unavailable")
        self.started.append(instance_id)
        self.running.add(instance_id)
        self.inputs[instance_id] = (orchestrator, payload)

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        await asyncio.sleep(0)
        self.status_reads.append(instance_id)
        if instance_id in self.finished:
            return OrchestrationStatus("Completed")
        if instance_id in self.running:
            return OrchestrationStatus("Running")
        return None

    async def raise_event(self, instance_id: str, event: str, payload: dict[str, Any]) -> None:
        self.events.append((instance_id, event, payload))

    def finish_all(self) -> None:
        self.finished |= self.running
        self.running.clear()
