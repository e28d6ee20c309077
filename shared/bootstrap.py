"""Wiring: the process-wide settings, logging and Azure clients, built once on first use.

``handlers/`` ask ``container()`` for what they need; tests and devhost call ``set_container``
to substitute a container built around the emulator's transport. Business code never builds
its own dependencies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from shared.audit.store import AuditStore, TableAuditStore
from shared.azure.clients import AzureClients
from shared.observability import configure_logging
from shared.settings import WardenSettings, get_settings
from shared.storage.incidents import (
    IncidentFindingsStore,
    OpenIncidentStore,
    TableIncidentFindingsStore,
    TableOpenIncidentStore,
)
from shared.storage.ports import IdempotencyStore, QuarantineStore, WatermarkStore
from shared.storage.tables import TableIdempotencyStore, TableQuarantineStore, TableWatermarkStore

__all__ = ["Container", "container", "reset_container", "set_container", "startup"]


@dataclass
class Container:
    """Everything a handler may need, built from one settings object."""

    settings: WardenSettings
    clients: AzureClients = field(repr=False)

    @classmethod
    def from_settings(cls, settings: WardenSettings) -> Container:
        return cls(settings=settings, clients=AzureClients(settings))

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
    def audit(self) -> AuditStore:
        return TableAuditStore(self.clients.tables())

    @cached_property
    def open_incidents(self) -> OpenIncidentStore:
        return TableOpenIncidentStore(self.clients.tables())

    @cached_property
    def incident_findings(self) -> IncidentFindingsStore:
        return TableIncidentFindingsStore(self.clients.tables())


_lock = threading.Lock()
_container: Container | None = None


def startup() -> WardenSettings:
    """Validate settings and configure logging; called when function_app.py is imported.

    Raises ``SettingsError`` naming every missing or malformed setting, so a misconfigured
    deployment fails at start-up rather than at the first alert.
    """
    settings = get_settings()
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
