"""Invoking the app's ``activityTrigger`` functions as the Python worker does.

The input is decoded and the result encoded with the worker's own ``ActivityTriggerConverter``
(``df_loads`` of the action's input text; ``df_dumps`` of the return value, ``ValueError`` if it is
not JSON-serialisable). Sync functions run on a thread pool, async ones on the event loop. The
outcome is the history event the host appends: ``TaskCompleted`` or ``TaskFailed``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.durable.clock import Clock
from devhost.durable.history import EventType, make_event
from devhost.durable.store import ActivityRow

if TYPE_CHECKING:
    from devhost.loader import LoadedApp

__all__ = ["ActivityInvoker"]

CONTEXT_PARAM = "context"


class ActivityInvoker:
    """Runs activities of ``app``. ``client_binding`` returns the durable client JSON (or None)."""

    def __init__(
        self,
        app: LoadedApp,
        clock: Clock,
        pool: Executor,
        client_binding: Callable[[], str | None],
    ) -> None:
        self.app = app
        self.clock = clock
        self.pool = pool
        self.client_binding = client_binding

    def app_directory(self) -> str:
        module = sys.modules.get(self.app.module_name)
        return str(Path(getattr(module, "__file__", None) or ".").resolve().parent)

    async def invoke(self, row: ActivityRow, invocation_id: str) -> dict[str, Any]:
        """Run the activity; returns its TaskCompleted or TaskFailed event (never raises)."""
        try:
            result_text = await self._call(row, invocation_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return make_event(
                EventType.TaskFailed,
                self.clock.now(),
                TaskScheduledId=row.task_id,
                Reason=f"Activity function '{row.name}' failed: {type(exc).__name__}: {exc}",
                Details="".join(traceback.format_exception(exc)),
            )
        return make_event(EventType.TaskCompleted, self.clock.now(), TaskScheduledId=row.task_id, Result=result_text)

    async def _call(self, row: ActivityRow, invocation_id: str) -> str:
        fn = self.app.get(row.name)
        if fn is None or fn.trigger_type != "activityTrigger":
            names = ", ".join(f.name for f in self.app.by_trigger("activityTrigger")) or "none"
            raise LookupError(
                f"The function '{row.name}' doesn't exist, is disabled, or is not an activity "
                f"function. Activities of this app: {names}"
            )
        value = ActivityTriggerConverter.decode(
            meta.Datum(type="json", value=row.input if row.input is not None else "null"),
            trigger_metadata=None,
        )
        kwargs: dict[str, Any] = {fn.trigger_arg: value}
        if fn.durable_client_arg is not None:
            binding = self.client_binding()
            if binding is None:
                raise RuntimeError(
                    f"activity {row.name!r} takes a durable client, but the engine has no base URL "
                    "(call engine.client_binding_json(base_url) when the HTTP server starts)"
                )
            kwargs[fn.durable_client_arg] = binding
        if CONTEXT_PARAM in inspect.signature(fn.user_function).parameters and CONTEXT_PARAM not in kwargs:
            # The worker passes a func.Context to a parameter named "context".
            from devhost.invocation import InvocationContext

            kwargs[CONTEXT_PARAM] = InvocationContext(invocation_id, fn.name, self.app_directory())
        call: Callable[..., Any] = fn.user_function
        if fn.is_async:
            result = await call(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.pool, functools.partial(call, **kwargs))
        return str(ActivityTriggerConverter.encode(result, expected_type=None).value)
