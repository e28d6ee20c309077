"""The composition root: the process-wide settings, clients, policy, stores and the port bundles
the handlers use, each built once on first use and held by one ``Container``.

``handlers/`` ask ``container()`` for what they need (``container().keys_ports``,
``.response_ports``, ``.approvals_deps``, the stores). Tests and devhost substitute pieces by
assigning them on a container (``c.keys_ports = fakes``) and installing it with ``set_container``;
``reset_container()`` forgets the container and so everything it built or was given. Business
code never builds its own dependencies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from shared.azure.clients import AzureClients
from shared.observability import configure_logging
from shared.policy import Policy, load_policy
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
from shared.storage.tables import (
    TableAuditStore,
    TableDisruptiveActionLog,
    TableIdempotencyStore,
    TableIncidentFindingsStore,
    TableOpenIncidentStore,
    TableQuarantineStore,
    TableSnapshotStore,
    TableWatermarkStore,
)

if TYPE_CHECKING:
    from shared.approvals.ports import ApprovalsDeps
    from shared.keys.config import KeysConfig
    from shared.keys.service import KeysPorts
    from shared.ports.channels import Channel
    from shared.response.ports import ResponsePorts

__all__ = ["Container", "container", "reset_container", "set_container", "startup"]


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
        from shared.keys.config import build_keys_config

        return build_keys_config(self.settings, self.policy)

    @cached_property
    def policy(self) -> Policy:
        """The response policy (``WARDEN_POLICY_PATH``, relative paths from the app root)."""
        return load_policy(policy_file(self.settings))

    # State stores in Table Storage, built on first use (a cold start touches only what it needs).
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
        from shared.storage.tables import TableApprovalStore

        return TableApprovalStore(self.clients.tables())

    @cached_property
    def snapshots(self) -> SnapshotStore:
        """State before each containment step (what ``restore_incident`` re-applies)."""
        return TableSnapshotStore(self.clients.tables())

    @cached_property
    def disruptive_actions(self) -> DisruptiveActionLog:
        """Disruptive actions taken, for the estate-wide circuit breaker."""
        return TableDisruptiveActionLog(self.clients.tables())

    # What each family of handlers talks to, assembled from the clients and stores above.
    @cached_property
    def keys_ports(self) -> KeysPorts:
        """Key hygiene and rotation (``handlers/keys.py``): the real adapters over ``clients``."""
        from shared.azure.cognitive import AzureCognitive
        from shared.azure.inventory import AzureInventory
        from shared.azure.logs import AzureLogs
        from shared.azure.vault import AzureSecrets
        from shared.keys.service import KeysPorts

        return KeysPorts(
            cognitive=AzureCognitive(self.clients),
            secrets=AzureSecrets(self.clients),
            inventory=AzureInventory(self.clients),
            logs=AzureLogs(self.clients),
            probe=self.clients.data_plane(),
            idempotency=self.idempotency,
            quarantine=self.quarantine,
            audit=self.audit,
        )

    @cached_property
    def response_ports(self) -> ResponsePorts:
        """The incident and restore activities (``handlers/incidents.py``): Cognitive Services, the
        stores, the policy (loaded on first use) and ``WARDEN_DRY_RUN``."""
        from shared.azure.cognitive import AzureCognitive
        from shared.response.ports import ResponsePorts

        return ResponsePorts(
            cognitive=AzureCognitive(self.clients),
            snapshots=self.snapshots,
            breaker=self.disruptive_actions,
            idempotency=self.idempotency,
            audit=self.audit,
            policy=lambda: self.policy,
            dry_run=self.settings.dry_run,
        )

    @cached_property
    def channels(self) -> list[Channel]:
        """The notification channels the policy asks for and the settings configure."""
        from shared.azure.channels import EventGridChannel, TeamsChannel
        from shared.observability import register_secret

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

    @cached_property
    def approvals_deps(self) -> ApprovalsDeps:
        """The approval gate, API and page (``handlers/approvals.py``) and incident notifications:
        the approval store, and the Event Grid and Teams channels the policy asks for."""
        import secrets

        from shared.approvals.ports import ApprovalsDeps
        from shared.approvals.service import ApprovalService
        from shared.observability import register_secret

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
            link_key=key if key and len(key) >= 16 else None,
            base_url=settings.public_base_url,
            approver_role=settings.approver_role,
            notify_attempts=settings.notify_attempts,
            # Without a configured key, CSRF tokens are signed with a per-process key (one instance only).
            csrf_key=key or secrets.token_bytes(32),
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
