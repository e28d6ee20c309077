"""``KeyProbe`` over the account data plane: proving a key works with one cheap call.

After regenerating a key, Warden must show the new key is accepted before it writes it to
Key Vault. The probe lists the account's models (``GET {endpoint}/openai/models``), which
needs only a valid ``api-key`` header and costs no tokens.
"""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import policies
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from shared.ports.probe import KeyRejectedError

__all__ = ["PROBE_API_VERSION", "DataPlaneProbe"]

PROBE_API_VERSION = "2024-10-21"


class DataPlaneProbe:
    """Checks a key against an account's data-plane endpoint.

    The key is sent only in the ``api-key`` header and never logged (azure-core's logging
    policy redacts unknown headers).
    """

    def __init__(self, *, transport: HttpTransport[Any, Any] | None = None) -> None:
        self._transport = transport

    def check_key(self, endpoint: str, key: str, *, timeout: float = 10.0) -> None:
        """Return if ``key`` is accepted by ``endpoint``.

        Raises ``KeyRejectedError`` on 401/403 and ``HttpResponseError`` on other failures.
        """
        credential = AzureKeyCredential(key)
        pipeline_policies: list[Any] = [
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(sdk_moniker="warden-probe/0.1"),
            policies.RetryPolicy(retry_total=2, retry_backoff_factor=0.2),
            policies.AzureKeyCredentialPolicy(credential, "api-key"),
            policies.NetworkTraceLoggingPolicy(),
        ]
        kwargs: dict[str, Any] = {"policies": pipeline_policies}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        client: PipelineClient[HttpRequest, Any] = PipelineClient(endpoint.rstrip("/"), **kwargs)
        request = HttpRequest("GET", f"{endpoint.rstrip('/')}/openai/models", params={"api-version": PROBE_API_VERSION})
        try:
            response = client.send_request(request, connection_timeout=timeout, read_timeout=timeout)
        except ClientAuthenticationError as exc:  # pragma: no cover - send_request does not raise by status
            raise KeyRejectedError(str(exc)) from None
        if response.status_code in (401, 403):
            raise KeyRejectedError(f"{endpoint} refused the key (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
