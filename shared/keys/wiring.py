"""Builds the ``KeysPorts`` bundle from the process container (the composition root's clients).

``keys_ports()`` is what ``handlers/keys.py`` uses. It wraps the SDK clients of
``shared.bootstrap.container().clients`` in the real adapters and the Table Storage state
stores. ``use_ports(ports)`` substitutes a bundle (tests, devhost with the emulator and
in-memory stores); ``use_ports(None)`` goes back to building from the container.

(The lead may fold ``build_ports`` into ``shared/bootstrap.py``'s ``Container``.)
"""

from __future__ import annotations

import threading

from shared.keys.service import KeysPorts

__all__ = ["build_ports", "keys_ports", "use_ports"]

_lock = threading.Lock()
_override: KeysPorts | None = None
_built: KeysPorts | None = None


def build_ports() -> KeysPorts:
    """Real adapters over the container's clients; state in Table Storage."""
    from shared.azure.cognitive import AzureCognitive
    from shared.azure.inventory import AzureInventory
    from shared.azure.logs import AzureLogs
    from shared.azure.vault import AzureSecrets
    from shared.bootstrap import container
    from shared.storage.tables import TableIdempotencyStore, TableQuarantineStore

    clients = container().clients
    tables = clients.tables()
    return KeysPorts(
        cognitive=AzureCognitive(clients),
        secrets=AzureSecrets(clients),
        inventory=AzureInventory(clients),
        logs=AzureLogs(clients),
        probe=clients.data_plane(),
        idempotency=TableIdempotencyStore(tables),
        quarantine=TableQuarantineStore(tables),
        audit=container().audit,
    )


def keys_ports() -> KeysPorts:
    """The substituted bundle if any, else one built (once) from the container."""
    global _built
    with _lock:
        if _override is not None:
            return _override
        if _built is None:
            _built = build_ports()
        return _built


def use_ports(ports: KeysPorts | None) -> None:
    """Substitute ``ports`` for every handler (``None``: rebuild from the container on next use)."""
    global _override, _built
    with _lock:
        _override = ports
        _built = None
