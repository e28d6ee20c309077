"""Wiring: the process-wide settings, logging and Azure clients, built once on first use.

``handlers/`` ask ``container()`` for what they need; tests and devhost call ``set_container``
to substitute a container built around the emulator's transport. Business code never builds
its own dependencies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from shared.audit.store import AuditStore, TableAuditStore
from shared.azure.clients import AzureClients
from shared.observability import configure_logging
from shared.policy import Policy, load_policy
from shared.settings import WardenSettings, get_settings
from shared.storage.approvals import ApprovalStore
from shared.storage.breaker import DisruptiveActionLog, TableDisruptiveActionLog
from shared.storage.cache import CompletedCache
from shared.storage.incidents import (
    IncidentFindingsStore,
    OpenIncidentStore,
    TableIncidentFindingsStore,
    TableOpenIncidentStore,
)
from shared.storage.ports import IdempotencyStore, QuarantineStore, WatermarkStore
from shared.storage.snapshots import SnapshotStore, TableSnapshotStore
from shared.storage.tables import TableIdempotencyStore, TableQuarantineStore, TableWatermarkStore

if TYPE_CHECKING:
    from shared.keys.config import KeysConfig

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
        from shared.storage.approvals import TableApprovalStore

        return TableApprovalStore(self.clients.tables())

    @cached_property
    def snapshots(self) -> SnapshotStore:
        """State before each containment step (what ``restore_incident`` re-applies)."""
        return TableSnapshotStore(self.clients.tables())

    @cached_property
    def disruptive_actions(self) -> DisruptiveActionLog:
        """Disruptive actions taken, for the estate-wide circuit breaker."""
        return TableDisruptiveActionLog(self.clients.tables())


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
    """Forget the container and the cached settings (tests)."""
    global _container
    with _lock:
        if _container is not None:
            _container.clients.close()
        _container = None
    get_settings.cache_clear()
