"""Builds ``ResponsePorts`` from the composition root (``shared.bootstrap.container()``).

``response_ports()`` is what ``handlers/incidents.py`` uses: the real Cognitive Services
adapter over the container's clients, the Table Storage stores and audit trail, the
container's policy (``WARDEN_POLICY_PATH``) and the ``WARDEN_DRY_RUN`` setting. ``use_ports(ports)``
substitutes a bundle (tests); ``use_ports(None)`` goes back to the container.
"""

from __future__ import annotations

import threading

from shared.policy import Policy
from shared.response.ports import ResponsePorts

__all__ = ["response_ports", "use_ports"]

_lock = threading.Lock()
_override: ResponsePorts | None = None


def _build() -> ResponsePorts:
    from shared.azure.cognitive import AzureCognitive
    from shared.bootstrap import container

    c = container()

    def policy() -> Policy:
        return c.policy

    return ResponsePorts(
        cognitive=AzureCognitive(c.clients),
        snapshots=c.snapshots,
        breaker=c.disruptive_actions,
        idempotency=c.idempotency,
        audit=c.audit,
        policy=policy,
        dry_run=c.settings.dry_run,
    )


def response_ports() -> ResponsePorts:
    """The substituted bundle if any, else one built from the current container.

    Built on each call (cheap: the container caches clients and stores), so a container
    replaced by devhost or a test is always the one used.
    """
    with _lock:
        override = _override
    return override if override is not None else _build()


def use_ports(ports: ResponsePorts | None) -> None:
    """Substitute ``ports`` for every handler (``None``: build from the container again)."""
    global _override
    with _lock:
        _override = ports
