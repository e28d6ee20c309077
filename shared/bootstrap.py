"""The composition root: the ONE place that builds adapters and the dependency bundles of the use
cases, each built once on first use and held by one ``Container``.

``handlers/`` ask ``container()`` for the bundle their use case takes (``.response_ports``,
``.incident_deps``, ``.approvals_deps``, ``.keys_ports``, ``.keys``; and, for triggers holding a
Durable client, ``.intake_deps(client)``, ``.alert_deps(client)``, ``.anomaly_deps(client)``,
``.key_hygiene_deps(client)``, ``.orchestrations(client)``). The CLI, the benchmarks and the
tests reuse the same builders (``keys_ports_for``, ``read_only_keys_ports``). Tests and devhost
substitute pieces by assigning them on a container (``c.keys_ports = fakes``) and installing it
with ``set_container``; ``reset_container()`` forgets the container and so everything it built
or was given. Nothing under ``shared/`` other than this module builds an adapter or calls
``container()`` (an import-linter contract in ``make test`` keeps it so).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from shared.azure.channels import EventGridChannel, TeamsChannel
from shared.azure.clients import AzureClients
from shared.azure.cognitive import AzureCognitive
from shared.azure.durable import DurableOrchestrations
from shared.azure.inventory import AzureInventory
from shared.azure.logs import AzureLogs
from shared.azure.posture import AzurePosture
from shared.azure.vault import AzureSecrets
from shared.keys.config import KeysConfig, key_policy_from
from shared.observability import configure_logging, register_secret
from shared.policy import Policy, load_policy
from shared.ports.channels import Channel
from shared.ports.cognitive import CognitivePort
from shared.ports.inventory import InventoryPort
from shared.ports.logs import LogsPort
from shared.ports.posture import PosturePort
from shared.ports.stores import (
    ApprovalStore,
    AuditStore,
    DisruptiveActionLog,
    IdempotencyStore,
    IncidentFindingsStore,
    OpenIncidentStore,
    QuarantineStore,
    SnapshotStore,
    WatermarkStore,
)
from shared.settings import WardenSettings, get_settings
from shared.storage.cache import CompletedCache
from shared.storage.memory import MemoryAuditStore, MemoryIdempotencyStore, MemoryQuarantineStore
from shared.storage.tables import (
    TableApprovalStore,
    TableAuditStore,
    TableDisruptiveActionLog,
    TableIdempotencyStore,
    TableIncidentFindingsStore,
    TableOpenIncidentStore,
    TableQuarantineStore,
    TableSnapshotStore,
    TableWatermarkStore,
)
from shared.usecases.alerts import AlertDeps
from shared.usecases.anomalies import AnomalyDeps
from shared.usecases.approvals import ApprovalsDeps, ApprovalService
from shared.usecases.incidents import IncidentDeps
from shared.usecases.intake import IntakeDeps
from shared.usecases.key_hygiene import KeyHygieneDeps
from shared.usecases.key_rotation import KeysPorts
from shared.usecases.response_ports import ResponsePorts

__all__ = [
    "Container",
    "build_keys_config",
    "container",
    "keys_ports_for",
    "read_only_keys_ports",
    "reset_container",
    "set_container",
    "startup",
]

_MIN_LINK_KEY_BYTES = 16


def build_keys_config(settings: WardenSettings, policy: Policy) -> KeysConfig:
    """The key hygiene and rotation configuration from validated settings and a validated policy."""
    return KeysConfig(
        vault_urls=tuple(settings.key_vaults),
        scan_schedule=settings.key_scan_schedule,
        activity_window=timedelta(days=settings.key_activity_window_days),
        probe_attempts=settings.key_probe_attempts,
        probe_delay=timedelta(seconds=settings.key_probe_delay_seconds),
        policy=key_policy_from(policy, kinds=settings.key_account_kinds),
    )


def keys_ports_for(
    clients: AzureClients,
    *,
    idempotency: IdempotencyStore,
    quarantine: QuarantineStore,
    audit: AuditStore,
    logs: LogsPort | None = None,
    polling_interval: float | None = None,
) -> KeysPorts:
    """The key use cases' ports over ``clients`` (the Azure adapters) and the given stores.

    ``logs`` defaults to Log Analytics on ``WARDEN_LOG_ANALYTICS_WORKSPACE_ID``;
    ``polling_interval`` is passed to ARM long-running operations (0 against the emulator).
    """
    return KeysPorts(
        cognitive=AzureCognitive(clients, polling_interval=polling_interval),
        secrets=AzureSecrets(clients),
        inventory=AzureInventory(clients),
        logs=logs if logs is not None else AzureLogs(clients),
        probe=clients.data_plane(),
        idempotency=idempotency,
        quarantine=quarantine,
        audit=audit,
    )


def read_only_keys_ports(clients: AzureClients, *, logs: LogsPort | None = None) -> KeysPorts:
    """Key ports that never write Warden's state: in-process stores (the CLI's ``warden scan``,
    which only lists and queries)."""
    return keys_ports_for(
        clients,
        idempotency=MemoryIdempotencyStore(),
        quarantine=MemoryQuarantineStore(),
        audit=MemoryAuditStore(),
        logs=logs,
    )


@dataclass
class Container:
    """Everything a handler may need, built from one settings object."""

    settings: WardenSettings
    clients: AzureClients = field(repr=False)

    @classmethod
    def from_settings(cls, settings: WardenSettings) -> Container:
        return cls(settings=settings, clients=AzureClients(settings))

    @cached_property
    def keys(self) -> KeysConfig:
        """Key hygiene and rotation configuration (settings + policy)."""
        return build_keys_config(self.settings, self.policy)

    @cached_property
    def policy(self) -> Policy:
        """The response policy (``WARDEN_POLICY_PATH``, relative paths from the app root)."""
        return load_policy(policy_file(self.settings))

    # Azure adapters, built on first use (a cold start touches only what it needs).
    @cached_property
    def cognitive(self) -> CognitivePort:
        return AzureCognitive(self.clients)

    @cached_property
    def inventory(self) -> InventoryPort:
        return AzureInventory(self.clients)

    @cached_property
    def posture(self) -> PosturePort:
        return AzurePosture(self.clients)

    @cached_property
    def logs(self) -> LogsPort | None:
        """Log Analytics, or ``None`` when ``WARDEN_LOG_ANALYTICS_WORKSPACE_ID`` is not set."""
        return AzureLogs(self.clients) if self.settings.log_analytics_workspace_id else None

    # State stores in Table Storage.
    @cached_property
    def quarantine(self) -> QuarantineStore:
        return TableQuarantineStore(self.clients.tables())

    @cached_property
    def watermarks(self) -> WatermarkStore:
        return TableWatermarkStore(self.clients.tables())

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return TableIdempotencyStore(self.clients.tables())

    @cached_property
    def seen_findings(self) -> IdempotencyStore:
        """The intake's "routed already?" records, with repeats answered from memory."""
        return CompletedCache(self.idempotency)

    @cached_property
    def audit(self) -> AuditStore:
        return TableAuditStore(self.clients.tables())

    @cached_property
    def open_incidents(self) -> OpenIncidentStore:
        return TableOpenIncidentStore(self.clients.tables())

    @cached_property
    def incident_findings(self) -> IncidentFindingsStore:
        return TableIncidentFindingsStore(self.clients.tables())

    @cached_property
    def approvals(self) -> ApprovalStore:
        """Pending approvals (``WardenApprovals``)."""
        return TableApprovalStore(self.clients.tables())

    @cached_property
    def snapshots(self) -> SnapshotStore:
        """State before each containment step (what ``restore_incident`` re-applies)."""
        return TableSnapshotStore(self.clients.tables())

    @cached_property
    def disruptive_actions(self) -> DisruptiveActionLog:
        """Disruptive actions taken, for the estate-wide circuit breaker."""
        return TableDisruptiveActionLog(self.clients.tables())

    @cached_property
    def channels(self) -> list[Channel]:
        """The notification channels the policy asks for and the settings configure."""
        settings = self.settings
        policy = self.policy  # validated at start-up
        channels: list[Channel] = []
        if policy.notifications.event_grid and settings.notify_topic_endpoint:
            channels.append(EventGridChannel(self.clients.event_grid_publisher))
        webhook = settings.teams_webhook_url.get_secret_value() if settings.teams_webhook_url else None
        register_secret(webhook)  # the webhook URL is its credential: never logged
        if policy.notifications.teams and webhook:
            channels.append(TeamsChannel(webhook))
        return channels

    # What each use case takes, assembled from the adapters and stores above.
    @cached_property
    def keys_ports(self) -> KeysPorts:
        """Key hygiene and rotation: the Azure adapters and the Table stores."""
        return keys_ports_for(self.clients, idempotency=self.idempotency, quarantine=self.quarantine, audit=self.audit)

    @cached_property
    def response_ports(self) -> ResponsePorts:
        """Triage, containment and restore: Cognitive Services, the stores, the policy validated at
        start-up and ``WARDEN_DRY_RUN``."""
        return ResponsePorts(
            cognitive=self.cognitive,
            snapshots=self.snapshots,
            breaker=self.disruptive_actions,
            idempotency=self.idempotency,
            audit=self.audit,
            policy=self.policy,
            dry_run=self.settings.dry_run,
        )

    @cached_property
    def incident_deps(self) -> IncidentDeps:
        """An incident's bookkeeping: the audit trail, the incident stores, the channels."""
        return IncidentDeps(
            audit=self.audit,
            open_incidents=self.open_incidents,
            findings=self.incident_findings,
            channels=self.channels,
            notify_attempts=self.settings.notify_attempts,
        )

    @cached_property
    def approvals_deps(self) -> ApprovalsDeps:
        """The approval gate, API and page: the approval store, the channels, the link key."""
        settings = self.settings
        policy = self.policy  # validated at start-up
        signing_key = settings.link_signing_key.get_secret_value() if settings.link_signing_key else None
        register_secret(signing_key)  # never logged
        key = signing_key.encode("utf-8") if signing_key else None
        return ApprovalsDeps(
            service=ApprovalService(
                store=self.approvals,
                audit=self.audit,
                approver_role=settings.approver_role,
                policy=policy.approvals,
            ),
            idempotency=self.idempotency,
            channels=self.channels,
            link_key=key if key and len(key) >= _MIN_LINK_KEY_BYTES else None,
            base_url=settings.public_base_url,
            approver_role=settings.approver_role,
            notify_attempts=settings.notify_attempts,
            # Without a configured key, CSRF tokens are signed with a per-process key (one instance only).
            csrf_key=key or secrets.token_bytes(32),
        )

    # Per invocation: the bundles of triggers that hold a Durable client.
    def orchestrations(self, client: Any) -> DurableOrchestrations:
        """The Durable client a handler received from its binding, as the ``Orchestrations`` port."""
        return DurableOrchestrations(client)

    def intake_deps(self, client: Any) -> IntakeDeps:
        """Routing findings to incidents (``shared.usecases.intake``)."""
        return IntakeDeps(
            seen=self.seen_findings,
            open_incidents=self.open_incidents,
            findings=self.incident_findings,
            orchestrations=self.orchestrations(client),
            quiet_minutes=self.settings.incident_quiet_minutes,
        )

    def alert_deps(self, client: Any) -> AlertDeps:
        """The Defender alert intake (Event Grid, Event Hub, the SecurityAlert poller)."""
        return AlertDeps(
            intake=self.intake_deps(client),
            quarantine=self.quarantine,
            watermarks=self.watermarks,
            logs=self.logs,
            max_bytes=self.settings.max_event_bytes,
            poll_overlap=timedelta(minutes=self.settings.alert_poll_overlap_minutes),
        )

    def anomaly_deps(self, client: Any) -> AnomalyDeps:
        """The anomaly detectors, the estate sweep and the resource-event trigger."""
        settings = self.settings
        return AnomalyDeps(
            intake=self.intake_deps(client),
            quarantine=self.quarantine,
            policy=self.policy,
            cognitive=self.cognitive,
            inventory=self.inventory,
            posture=self.posture,
            logs=self.logs,
            subscriptions=tuple(settings.subscription_ids),
            warden_principal_id=settings.identity_principal_id,
            max_bytes=settings.max_event_bytes,
            posture_ingest=settings.posture_ingest,
        )

    def key_hygiene_deps(self, client: Any) -> KeyHygieneDeps:
        """The key scan and the Key Vault event trigger, which start scheduled rotations."""
        return KeyHygieneDeps(
            ports=self.keys_ports,
            config=self.keys,
            orchestrations=self.orchestrations(client),
            subscriptions=tuple(self.settings.subscription_ids),
            warden_principal_id=self.settings.identity_principal_id,
            max_bytes=self.settings.max_event_bytes,
        )


_lock = threading.Lock()
_container: Container | None = None
APP_ROOT = Path(__file__).resolve().parents[1]


def policy_file(settings: WardenSettings) -> Path:
    """Where the policy file is: ``WARDEN_POLICY_PATH``, relative to the app root unless absolute."""
    path = settings.policy_path
    return path if path.is_absolute() else APP_ROOT / path


def startup() -> WardenSettings:
    """Validate settings and the policy, and configure logging; called when function_app.py is
    imported.

    Raises ``SettingsError`` naming every missing or malformed setting, or ``PolicyError`` with
    every problem of the policy file by line, so a misconfigured deployment fails at start-up
    rather than at the first alert.
    """
    settings = get_settings()
    load_policy(policy_file(settings))
    secret = settings.applicationinsights_connection_string
    credential = None
    if secret is not None and not settings.uses_emulator:
        # Application Insights is deployed with local auth off: telemetry is sent with the identity.
        from azure.identity import ManagedIdentityCredential

        client_id = settings.managed_identity_client_id
        credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    configure_logging(
        settings.log_level,
        appinsights_connection_string=secret.get_secret_value() if secret is not None else None,
        credential=credential,
    )
    return settings


def container() -> Container:
    """The process-wide container (built on first use)."""
    global _container
    with _lock:
        if _container is None:
            _container = Container.from_settings(get_settings())
        return _container


def set_container(value: Container) -> None:
    """Replace the process-wide container (devhost and tests inject the emulator here)."""
    global _container
    with _lock:
        _container = value


def reset_container() -> None:
    """Forget the container, with everything it built or was given, and the cached settings (tests)."""
    global _container
    with _lock:
        if _container is not None:
            _container.clients.close()
        _container = None
    get_settings.cache_clear()
