"""Offline emulator of exactly the Azure REST APIs Warden calls, driven by the real SDK clients.

Local development and tests only; never deployed (``.funcignore`` keeps it out of the package).

* ``Emulator`` (``emulator.core``): thread-safe in-memory state and one handler
  ``handle(method, url, headers, body) -> (status, headers, body)``.
* ``EmulatorTransport`` (``emulator.transport``): an azure-core transport for in-process use.
* ``EmulatorServer`` / ``build_app`` (``emulator.server``): an aiohttp loopback server using the
  ``/{host}/{path}`` gateway convention of ``shared.azure.redirect``, plus an admin API under
  ``/_emulator/``. ``python -m emulator --tenant PATH`` runs it.
* ``load_tenant`` / ``generate_tenant`` (``emulator.tenant``): the tenant file and a generator.
"""

from __future__ import annotations

from pathlib import Path

from emulator.core import Emulator
from emulator.faults import API_NAMES, FAULT_KINDS
from emulator.tenant import TenantError, TenantSpec, generate_tenant, load_tenant, parse_tenant

__all__ = [
    "API_NAMES",
    "DEMO_TENANT",
    "FAULT_KINDS",
    "Emulator",
    "TenantError",
    "TenantSpec",
    "generate_tenant",
    "load_tenant",
    "parse_tenant",
]

DEMO_TENANT = Path(__file__).parent / "tenants" / "demo.yaml"
"""Path of the demo tenant file shipped with the emulator."""
