"""Calling a user function the way the Python worker does, and logging the outcome.

* ``async def`` functions run on the host's event loop; plain functions run in a thread pool
  (the worker's ``PYTHON_THREADPOOL_THREAD_COUNT`` executor), with the caller's contextvars.
* A parameter named ``context`` that no binding claims receives a ``func.Context``.
* Every invocation is logged on ``logging.getLogger("devhost")`` as the host does:
  ``Executed 'Functions.NAME' (Succeeded, Id=..., Duration=12ms)``. An exception is logged
  with its traceback and returned as a failed result; it never escapes to the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import _abc as func_abc

from devhost.loader import AppLoadError, HostedFunction

__all__ = ["InvocationContext", "InvocationResult", "Invoker", "check_parameters", "log_invocation"]

logger = logging.getLogger("devhost")
CONTEXT_PARAM = "context"


class _TraceContext(func_abc.TraceContext):
    def __init__(self, invocation_id: str) -> None:
        self._traceparent = f"00-{uuid.uuid4().hex}-{invocation_id.replace('-', '')[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._traceparent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> func_abc.RpcException:  # pragma: no cover - never set by devhost
        raise AttributeError("no retry in progress")


class InvocationContext(func.Context):
    """The ``func.Context`` handed to a function that declares a ``context`` parameter."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local = threading.local()
        self._thread_local.invocation_id = invocation_id
        self._trace = _TraceContext(invocation_id)
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> func_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> func_abc.RetryContext:
        return self._retry


@dataclass(frozen=True)
class InvocationResult:
    """What one invocation produced: its return value, or the exception it raised."""

    function_name: str
    invocation_id: str
    value: Any
    error: BaseException | None
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def error_message(self) -> str | None:
        if self.error is None:
            return None
        return f"{type(self.error).__name__}: {self.error}"


def log_invocation(
    function_name: str,
    *,
    invocation_id: str,
    succeeded: bool,
    duration_ms: float,
    instance_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Log one finished invocation in the host's format (shared with the Durable engine)."""
    status = "Succeeded" if succeeded else "Failed"
    extra = f", InstanceId={instance_id}" if instance_id else ""
    suffix = f": {detail}" if detail else ""
    logger.log(
        logging.INFO if succeeded else logging.ERROR,
        "Executed 'Functions.%s' (%s, Id=%s%s, Duration=%.0fms)%s",
        function_name,
        status,
        invocation_id,
        extra,
        duration_ms,
        suffix,
    )


def _signature_names(function: HostedFunction) -> list[str]:
    try:
        return list(inspect.signature(function.user_function).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins have no signature
        return []


def check_parameters(function: HostedFunction) -> None:
    """Refuse a function whose parameters the host could not fill, as the worker does at load.

    Raises ``AppLoadError`` naming the function and the parameters without a binding.
    """
    bound = {str(b.get("name")) for b in function.bindings} | {CONTEXT_PARAM}
    params = inspect.signature(function.user_function).parameters
    unbound = [
        name for name, p in params.items() if name not in bound and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if unbound:
        raise AppLoadError(
            f"function {function.name!r}: the following parameters are declared in Python but have "
            f"no binding: {', '.join(sorted(unbound))}"
        )


class Invoker:
    """Runs user functions: async ones on the loop, sync ones on a thread pool."""

    def __init__(self, *, max_threads: int | None = None, function_directory: str = "") -> None:
        threads = (
            max_threads
            or int(os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT") or 0)
            or min(32, (os.cpu_count() or 1) + 4)
        )
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="devhost-worker")
        self._function_directory = function_directory

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def invoke(
        self,
        function: HostedFunction,
        trigger_value: Any,
        *,
        durable_client: str | None = None,
        extra_args: Mapping[str, Any] | None = None,
        detail: str | None = None,
        convert: Callable[[Any], Any] | None = None,
        instance_id_of: Callable[[Any], str | None] | None = None,
    ) -> InvocationResult:
        """Call ``function`` with its trigger value (and durable client JSON); never raises.

        ``convert`` turns the return value into what the host sends back (for HTTP, the
        worker's ``HttpResponseConverter``); an error there fails the invocation, as in the worker.
        ``instance_id_of`` finds the orchestration instance id in the (converted) result, for the log.
        """
        invocation_id = str(uuid.uuid4())
        kwargs: dict[str, Any] = {function.trigger_arg: trigger_value}
        client_arg = function.durable_client_arg
        if client_arg is not None:
            if durable_client is None:
                raise RuntimeError(f"function {function.name!r} needs a durable client but none is available")
            kwargs[client_arg] = durable_client
        if extra_args:
            kwargs.update(extra_args)
        if CONTEXT_PARAM in _signature_names(function) and CONTEXT_PARAM not in kwargs:
            kwargs[CONTEXT_PARAM] = InvocationContext(invocation_id, function.name, self._function_directory)
        logger.info("Executing 'Functions.%s' (Id=%s) %s", function.name, invocation_id, detail or "")
        started = time.perf_counter()
        value: Any = None
        error: BaseException | None = None
        try:
            if function.is_async:
                value = await function.user_function(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                ctx = contextvars.copy_context()
                call = functools.partial(ctx.run, function.user_function, **kwargs)
                value = await loop.run_in_executor(self._executor, call)
            if convert is not None:
                value = convert(value)
        except Exception as exc:
            error = exc
            logger.error(
                "Exception while executing function: Functions.%s (Id=%s)",
                function.name,
                invocation_id,
                exc_info=exc,
            )
        duration_ms = (time.perf_counter() - started) * 1000
        instance_id = None
        if error is None and instance_id_of is not None:
            try:
                instance_id = instance_id_of(value)
            except Exception:  # logging aid only
                instance_id = None
        log_invocation(
            function.name,
            invocation_id=invocation_id,
            succeeded=error is None,
            duration_ms=duration_ms,
            instance_id=instance_id,
            detail=f"{type(error).__name__}: {error}" if error is not None else None,
        )
        return InvocationResult(function.name, invocation_id, value, error, duration_ms)
