"""The emulated Azure services, and which requests each one answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.core import Emulator, Service
    from emulator.http import Request

__all__ = ["ARM_HOST", "LOGS_HOSTS", "build_services"]

ARM_HOST = "management.azure.com"
LOGS_HOSTS = frozenset({"api.loganalytics.io", "api.loganalytics.azure.com"})
_GRAPH_PREFIX = "/providers/microsoft.resourcegraph/"


def build_services(emulator: Emulator) -> list[tuple[Callable[[Request], bool], Service]]:
    """The services in routing order, each with a predicate over the request."""
    from emulator.services.arm import ArmService
    from emulator.services.dataplane import DataPlaneService
    from emulator.services.eventgrid import EventGridService
    from emulator.services.insights import InsightsService, is_insights_request
    from emulator.services.keyvault import KeyVaultService
    from emulator.services.logs import LogsService
    from emulator.services.resourcegraph import ResourceGraphService

    def is_graph(req: Request) -> bool:
        return req.host == ARM_HOST and req.path.lower().startswith(_GRAPH_PREFIX)

    def is_topic(req: Request) -> bool:
        return req.host in emulator.state.topics or req.host.endswith(".eventgrid.azure.net")

    def is_dataplane(req: Request) -> bool:
        return req.host.endswith((".openai.azure.com", ".cognitiveservices.azure.com"))

    return [
        (is_graph, ResourceGraphService(emulator)),
        (lambda req: req.host == ARM_HOST and is_insights_request(req), InsightsService(emulator)),
        (lambda req: req.host == ARM_HOST, ArmService(emulator)),
        (lambda req: req.host.endswith(".vault.azure.net"), KeyVaultService(emulator)),
        (lambda req: req.host in LOGS_HOSTS, LogsService(emulator)),
        (is_topic, EventGridService(emulator)),
        (is_dataplane, DataPlaneService(emulator)),
    ]
