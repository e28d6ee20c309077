"""devhost: a local Azure Functions host for ``function_app.py`` (development and tests only).

``DevHost`` / ``DevHostThread`` (``devhost.server``), the ``devhost.serve`` entry point
(``python -m devhost serve`` / ``python -m devhost.serve``) and the app loader
(``devhost.loader``). Names are imported lazily so ``devhost.loader`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devhost.server import DevHost, DevHostThread

__all__ = ["DevHost", "DevHostThread"]


def __getattr__(name: str) -> Any:
    if name in ("DevHost", "DevHostThread"):
        from devhost import server

        return getattr(server, name)
    raise AttributeError(f"module 'devhost' has no attribute {name!r}")
