"""The one translation of azure-core errors into Warden's port errors.

Every Azure adapter (``cognitive``, ``vault``, ``inventory``, ``logs``, ``posture``) runs its SDK
calls through ``azure_call``, naming what it does, the permission it needs and its port's error
classes (``ErrorKinds``). What each failure becomes:

=====================================================  ==========================================
azure-core raises                                      the port raises
=====================================================  ==========================================
``ServiceRequestError`` / ``ServiceResponseError``      ``no_answer`` ("no answer from Azure"; a
(connection refused, reset, timed out)                 write may or may not have happened);
                                                       re-raised unchanged when the port has none
``ResourceNotFoundError`` (404)                        ``not_found`` (else as any other status)
``ClientAuthenticationError``, or HTTP 401 / 403       ``denied``, naming the permission
an HTTP 2xx error: a long-running operation that       ``transient`` when its error code is a
ended ``Failed``                                       service failure
                                                       (``is_transient_operation_failure``),
                                                       else ``failed``
any other ``HttpResponseError``                        ``transient`` for 408/409/429/5xx when the
                                                       port has one, else ``failed``
=====================================================  ==========================================

Messages name the operation and resource (``what``) and never carry a key, token or secret value
(azure-core's own messages are not copied: they can echo request URLs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.ports.cognitive import is_transient_operation_failure, is_transient_status

__all__ = ["ErrorKinds", "azure_call", "translate"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ErrorKinds:
    """Which of a port's errors each failure becomes (``None``: see the module table)."""

    failed: type[Exception]
    denied: type[Exception]
    not_found: type[Exception] | None = None
    transient: type[Exception] | None = None
    no_answer: type[Exception] | None = None


def translate(exc: Exception, what: str, permission: str, kinds: ErrorKinds) -> Exception | None:
    """The port error for ``exc``, or ``None`` when ``exc`` is to be raised unchanged."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        if kinds.no_answer is None:
            return None
        return kinds.no_answer(f"{what}: no answer from Azure ({type(exc).__name__})")
    if isinstance(exc, ResourceNotFoundError) and kinds.not_found is not None:
        return kinds.not_found(f"{what}: not found (HTTP 404)")
    if isinstance(exc, ClientAuthenticationError) or (
        isinstance(exc, HttpResponseError) and exc.status_code in (401, 403)
    ):
        status = exc.status_code if isinstance(exc, HttpResponseError) else None
        return kinds.denied(f"{what}: access denied (HTTP {status}); Warden's identity needs {permission}")
    if not isinstance(exc, HttpResponseError):
        return None
    code = getattr(exc.error, "code", None) if exc.error is not None else None
    if exc.status_code is not None and 200 <= exc.status_code <= 299:
        # A long-running operation that ended Failed: the poll saying so answered 2xx, so only the
        # operation's error code tells a transient failure (retry the step) from a real one.
        retry = kinds.transient is not None and is_transient_operation_failure(code)
        kind = kinds.transient if retry and kinds.transient is not None else kinds.failed
        return kind(f"{what}: the operation ended Failed ({code or 'no error code'})")
    retry = kinds.transient is not None and is_transient_status(exc.status_code)
    kind = kinds.transient if retry and kinds.transient is not None else kinds.failed
    return kind(f"{what}: HTTP {exc.status_code} {code or exc.reason or ''}".rstrip())


def azure_call(what: str, permission: str, fn: Callable[[], T], kinds: ErrorKinds) -> T:
    """``fn()``, with azure-core errors translated to the port's (see the module docstring)."""
    from azure.core.exceptions import AzureError

    try:
        return fn()
    except AzureError as exc:
        error = translate(exc, what, permission, kinds)
        if error is None:
            raise
        raise error from None
