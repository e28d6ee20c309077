"""The composition root: the one place that builds Azure SDK clients.

``AzureClients`` takes one credential and an optional azure-core transport and hands out
every client Warden uses. Nothing else in Warden constructs an SDK client, so tests, the demo
and devhost swap Azure for the emulator by passing a transport here, and business code is
untouched.

In Azure the credential is ``DefaultAzureCredential`` (which resolves to the Function App's
managed identity). With ``WARDEN_EMULATOR_URL`` set (local development only) every request is
redirected to the emulator's loopback server and a static development token is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.credentials import AccessToken, AzureKeyCredential, TokenCredential
from azure.core.pipeline.transport import HttpTransport

from shared.azure.redirect import RedirectTransport

if TYPE_CHECKING:
    from azure.data.tables import TableServiceClient
    from azure.eventgrid import EventGridPublisherClient
    from azure.keyvault.secrets import SecretClient
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.monitor.query import LogsQueryClient

    from shared.azure.dataplane import DataPlaneProbe
    from shared.settings import WardenSettings

__all__ = ["AzureClients", "StaticTokenCredential"]

_log = logging.getLogger("warden.azure")
C = TypeVar("C")


class StaticTokenCredential(TokenCredential):
    """A credential that returns a fixed, meaningless token. Only for the local emulator."""

    def __init__(self, token: str = "warden-emulator-token") -> None:  # noqa: S107 - not a secret  # nosec B107 # a fixed development token for the local emulator
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        import time

        return AccessToken(self._token, int(time.time()) + 3600)


class AzureClients:
    """Builds and caches every Azure SDK client Warden uses.

    Parameters
    ----------
    settings:
        Warden's validated settings (endpoints, storage, topic).
    credential:
        A ``TokenCredential``; ``None`` means ``DefaultAzureCredential`` (managed identity in
        Azure), or a static token when the emulator is configured.
    transport:
        An azure-core ``HttpTransport`` every client sends through (the emulator's in-process
        transport in tests). ``None`` means the SDK default, or a redirect to the emulator's
        loopback server when ``settings.emulator_url`` is set.
    """

    def __init__(
        self,
        settings: WardenSettings,
        *,
        credential: TokenCredential | None = None,
        transport: HttpTransport[Any, Any] | None = None,
    ) -> None:
        self.settings = settings
        if transport is None and settings.emulator_url:
            _log.warning("Azure calls are redirected to the local emulator at %s", settings.emulator_url)
            transport = RedirectTransport(settings.emulator_url)
        if credential is None:
            credential = StaticTokenCredential() if settings.emulator_url else _default_credential(settings)
        self.credential = credential
        self.transport = transport
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    # -- helpers ----------------------------------------------------------------------------
    def _kwargs(self) -> dict[str, Any]:
        return {"transport": self.transport} if self.transport is not None else {}

    def _cached(self, kind: str, key: str, build: Callable[[], C]) -> C:
        with self._lock:
            client = self._cache.get((kind, key))
            if client is None:
                client = build()
                self._cache[(kind, key)] = client
            return client

    # -- clients ----------------------------------------------------------------------------
    def cognitive(self, subscription_id: str) -> CognitiveServicesManagementClient:
        """Cognitive Services management client for one subscription (accounts, keys, deployments)."""
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        return self._cached(
            "cognitive",
            subscription_id.lower(),
            lambda: CognitiveServicesManagementClient(
                self.credential,
                subscription_id,
                base_url=self.settings.arm_endpoint,
                **self._kwargs(),
            ),
        )

    def resource_graph(self) -> ResourceGraphClient:
        """Resource Graph client (estate-wide inventory queries)."""
        from azure.mgmt.resourcegraph import ResourceGraphClient

        return self._cached(
            "resourcegraph",
            "",
            lambda: ResourceGraphClient(self.credential, base_url=self.settings.arm_endpoint, **self._kwargs()),
        )

    def secrets(self, vault_url: str) -> SecretClient:
        """Key Vault secrets client for one vault (``https://{name}.vault.azure.net``)."""
        from azure.keyvault.secrets import SecretClient

        url = vault_url.rstrip("/").lower()
        return self._cached("secrets", url, lambda: SecretClient(url, self.credential, **self._kwargs()))

    def logs(self) -> LogsQueryClient:
        """Log Analytics query client."""
        from azure.monitor.query import LogsQueryClient

        endpoint = self.settings.logs_endpoint
        return self._cached(
            "logs",
            endpoint,
            lambda: LogsQueryClient(self.credential, endpoint=endpoint, **self._kwargs()),
        )

    def event_grid_publisher(self, endpoint: str | None = None) -> EventGridPublisherClient:
        """Publisher for Warden's notifications topic (CloudEvents).

        Uses the topic key when ``WARDEN_NOTIFY_TOPIC_KEY`` is set, else the managed identity
        (role "EventGrid Data Sender"). Note: for basic topics the SDK drops ``transport=``
        (see docs/development.md), so locally the endpoint itself points at the emulator's
        loopback server.
        """
        from azure.eventgrid import EventGridPublisherClient

        url = endpoint or self.settings.notify_topic_endpoint
        if not url:
            raise ValueError("WARDEN_NOTIFY_TOPIC_ENDPOINT is not set; cannot publish notifications")
        key = self.settings.notify_topic_key
        cred: AzureKeyCredential | TokenCredential = (
            AzureKeyCredential(key.get_secret_value()) if key is not None else self.credential
        )
        return self._cached("eventgrid", url, lambda: EventGridPublisherClient(url, cred, **self._kwargs()))

    def tables(self) -> TableServiceClient:
        """Table Storage client for Warden's own tables (audit, quarantine, watermarks, idempotency)."""
        from azure.data.tables import TableServiceClient

        def build() -> TableServiceClient:
            conn = self.settings.tables_connection_string
            if conn is not None:
                return TableServiceClient.from_connection_string(conn.get_secret_value())
            if not self.settings.tables_endpoint:
                raise ValueError(
                    "no Table Storage configured: set WARDEN_TABLES_ENDPOINT (managed identity) "
                    "or WARDEN_TABLES_CONNECTION_STRING (Azurite)"
                )
            return TableServiceClient(endpoint=self.settings.tables_endpoint, credential=self.credential)

        # Table Storage is real Azurite locally, never the emulator: no transport override.
        return self._cached("tables", "", build)

    def data_plane(self) -> DataPlaneProbe:
        """A probe that proves an account key works with one cheap data-plane call."""
        from shared.azure.dataplane import DataPlaneProbe

        return self._cached("dataplane", "", lambda: DataPlaneProbe(transport=self.transport))

    def close(self) -> None:
        """Close every client built so far."""
        with self._lock:
            clients = list(self._cache.values())
            self._cache.clear()
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # pragma: no cover - best effort at shutdown
                    _log.debug("closing %s failed", type(client).__name__, exc_info=True)


def _default_credential(settings: WardenSettings) -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {}
    if settings.managed_identity_client_id:
        kwargs["managed_identity_client_id"] = settings.managed_identity_client_id
    return DefaultAzureCredential(**kwargs)
