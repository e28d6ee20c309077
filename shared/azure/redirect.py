"""An azure-core transport that sends every request to one gateway URL, keeping the host.

``https://management.azure.com/subscriptions/...`` is sent as
``{gateway}/management.azure.com/subscriptions/...``. The SDK clients above it still see the
real https URLs (so Key Vault's TLS and challenge checks, ARM polling and paging behave as in
Azure); only the wire goes elsewhere. Warden uses it for the local emulator's loopback server
(``WARDEN_EMULATOR_URL``); it is equally usable for a recording proxy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline.transport import RequestsTransport

__all__ = ["RedirectTransport", "redirect_url"]


def redirect_url(gateway: str, url: str) -> str:
    """Map ``scheme://host[:port]/path?query`` to ``{gateway}/host[:port]/path?query``."""
    parts = urlsplit(url)
    target = f"{gateway.rstrip('/')}/{parts.netloc}{parts.path or '/'}"
    if parts.query:
        target += "?" + parts.query
    return target


class RedirectTransport(RequestsTransport):  # type: ignore[misc]
    """A ``RequestsTransport`` that redirects every request to ``gateway``."""

    def __init__(self, gateway: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway.rstrip("/")

    def send(self, request: Any, **kwargs: Any) -> Any:
        original = request.url
        if not original.startswith(self.gateway + "/"):
            request.url = redirect_url(self.gateway, original)
        try:
            return super().send(request, **kwargs)
        finally:
            request.url = original
