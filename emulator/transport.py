"""An azure-core transport that answers every request in-process from an ``Emulator``.

``EmulatorTransport(emulator)`` is a ``RequestsTransport`` whose ``requests.Session`` has a
custom adapter mounted on ``http://`` and ``https://`` (the pattern verified in the project's
reference notes): the SDK clients keep their real ``https://`` URLs (so Key Vault's TLS and
challenge checks, ARM polling and paging behave as against Azure), and nothing touches the
network. Pass it to ``AzureClients(settings, transport=EmulatorTransport(emulator))``.

The Event Grid basic-topic client ignores ``transport=``: publish through the loopback server
(``emulator.server``) instead.

Retry and polling waits go through ``HttpTransport.sleep``; with ``real_sleep=False`` (the
default) they are recorded in ``slept`` and skipped, so a test that injects a 429 with
``Retry-After`` stays fast and deterministic.
"""

from __future__ import annotations

import io
import threading
import time
from http import HTTPStatus
from typing import Any

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from emulator.core import Emulator
from emulator.faults import LOST_ANSWER_HEADER

__all__ = ["EmulatorAdapter", "EmulatorTransport"]


class EmulatorAdapter(BaseAdapter):
    """A ``requests`` adapter that hands each prepared request to ``Emulator.handle``."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def send(  # noqa: PLR0917 - the signature of requests.adapters.BaseAdapter.send
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()  # type: ignore[union-attr]
        if isinstance(body, str):
            body = body.encode("utf-8")
        status, headers, content = self.emulator.handle(
            request.method or "GET", request.url or "", dict(request.headers), body or b""
        )
        if headers.pop(LOST_ANSWER_HEADER, None) is not None:
            raise requests.exceptions.ReadTimeout(
                "the emulator dropped the answer (lost_answer fault)", request=request
            )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = content
        response.raw = HTTPResponse(body=io.BytesIO(content), headers=headers, status=status, preload_content=False)
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        try:
            response.reason = HTTPStatus(status).phrase
        except ValueError:
            response.reason = ""
        return response

    def close(self) -> None:
        return None


class EmulatorTransport(RequestsTransport):  # type: ignore[misc]
    """An azure-core ``HttpTransport`` served by ``emulator`` in-process.

    ``slept`` lists the durations the SDK asked to wait (retries, LRO polling).
    """

    def __init__(self, emulator: Emulator, *, real_sleep: bool = False, **kwargs: Any) -> None:
        session = requests.Session()
        session.trust_env = False
        adapter = EmulatorAdapter(emulator)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        super().__init__(session=session, session_owner=False, **kwargs)
        self.emulator = emulator
        self.real_sleep = real_sleep
        self.slept: list[float] = []
        self._sleep_lock = threading.Lock()

    def sleep(self, duration: float) -> None:
        with self._sleep_lock:
            self.slept.append(float(duration))
        if self.real_sleep:
            time.sleep(duration)
