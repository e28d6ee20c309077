"""The Durable engine: drives the real ``azure-functions-durable`` 1.x orchestrator handle.

See the package docstring (``devhost/durable/__init__.py``) for what is faithful to the Durable
Task extension and what is simplified.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.functions._durable_functions import df_dumps

from devhost.durable.activities import ActivityInvoker
from devhost.durable.clock import Clock, SystemClock
from devhost.durable.episodes import Episode, apply_reply, deliver, fresh_state, parent_notice
from devhost.durable.history import EventType, format_time, make_event, parse_time
from devhost.durable.protocol import OrchestratorReply, build_context, invoke_orchestrator
from devhost.durable.status import (
    TERMINAL_STATUSES,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    OrchestrationStatus,
    OrchestratorNotFoundError,
    loads_or_none,
)
from devhost.durable.store import ActivityRow, InstanceRow, MessageRow, Store, Transaction

if TYPE_CHECKING:
    from aiohttp import web

    from devhost.loader import HostedFunction, LoadedApp

__all__ = ["DurableEngine"]

log = logging.getLogger("devhost.durable")


class DurableEngine:
    """Runs the app's orchestrators and activities with SQLite-backed durability.

    ``start()`` resumes all pending work from the store and begins processing; ``stop()`` ends it
    (work in flight is resumed by the next ``start()``). Orchestrator episodes run one at a time on
    a dedicated thread; activities run concurrently up to ``activity_concurrency`` (sync ones on a
    thread pool of that size, async ones on the loop).
    """

    def __init__(
        self,
        app: LoadedApp,
        store_path: str | Path,
        *,
        task_hub: str = "WardenHub",
        activity_concurrency: int = 10,
        clock: Clock | None = None,
    ) -> None:
        if activity_concurrency < 1:
            raise ValueError(f"activity_concurrency must be at least 1, got {activity_concurrency}")
        self.app = app
        self.store_path = Path(store_path)
        self.task_hub = task_hub
        self.activity_concurrency = activity_concurrency
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._store: Store | None = None
        self._running = False
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._activity_tasks: set[asyncio.Task[None]] = set()
        self._timer_task: asyncio.Task[None] | None = None
        self._timer_wake: asyncio.Event | None = None
        self._activity_sem: asyncio.Semaphore | None = None
        self._orchestrator_pool: ThreadPoolExecutor | None = None
        self._activity_pool: ThreadPoolExecutor | None = None
        self._activities: ActivityInvoker | None = None
        self._completion_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._warned: set[str] = set()
        self.system_key: str | None = None
        self.base_url: str | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the durable engine is not started (await engine.start() first)")
        return self._store

    async def start(self) -> None:
        """Open the store and resume everything pending: activities, due messages, timers."""
        if self._running:
            return
        self._store = Store(self.store_path)
        self._orchestrator_pool = ThreadPoolExecutor(1, thread_name_prefix="devhost-orchestrator")
        self._activity_pool = ThreadPoolExecutor(self.activity_concurrency, thread_name_prefix="devhost-activity")
        self._activity_sem = asyncio.Semaphore(self.activity_concurrency)
        self._activities = ActivityInvoker(
            self.app,
            self.clock,
            self._activity_pool,
            lambda: self.client_binding_json(self.base_url) if self.base_url else None,
        )
        self._timer_wake = asyncio.Event()
        self._running = True
        resumed = self.store.activities()
        for row in resumed:
            self._dispatch_activity(row)
        due = self.store.instances_with_due_messages(format_time(self.clock.now()))
        for instance_id in due:
            self._kick(instance_id)
        self._timer_task = asyncio.create_task(self._timer_loop(), name="devhost-durable-timers")
        log.info(
            "durable engine started (task hub %s, store %s): %d activities and %d instances resumed",
            self.task_hub,
            self.store_path,
            len(resumed),
            len(due),
        )

    async def stop(self) -> None:
        """Stop processing. Activities and episodes in flight are abandoned and rerun on restart."""
        if not self._running:
            return
        self._running = False
        tasks: list[asyncio.Task[None]] = [*self._workers.values(), *self._activity_tasks]
        if self._timer_task is not None:
            tasks.append(self._timer_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._activity_tasks.clear()
        self._dirty.clear()
        for pool in (self._orchestrator_pool, self._activity_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        for waiters in self._completion_waiters.values():
            for fut in waiters:
                fut.cancel()
        self._completion_waiters.clear()
        for fut in self._idle_waiters:
            fut.cancel()
        self._idle_waiters.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        log.info("durable engine stopped")

    # ---- client API (Python) -----------------------------------------------------------------

    async def start_new(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start orchestrator ``name`` with ``input`` (any JSON-serialisable value); returns the id.

        Raises ``OrchestratorNotFoundError`` for an unknown orchestrator and
        ``InstanceAlreadyExistsError`` if ``instance_id`` is Pending/Running/ContinuedAsNew.
        """
        stored = json.dumps(df_dumps(input)) if input is not None else None
        return self.create_instance(name, stored, instance_id)

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Deliver an event, as the .NET client's ``RaiseEventAsync(object)`` does.

        The orchestrator receives ``data`` itself. (The Python client over HTTP sends the data
        JSON-encoded once more, so there the orchestrator receives JSON text: issue #295.)
        """
        self.enqueue_event(instance_id, event_name, json.dumps(data))

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate a running instance. Raises ``InstanceNotFoundError`` / ``InstanceGoneError``."""
        self.enqueue_terminate(instance_id, reason)

    async def get_status(self, instance_id: str) -> OrchestrationStatus | None:
        """The instance's status, or None if there is no such instance."""
        inst = self.store.get_instance(instance_id)
        return self.status_of(inst) if inst is not None else None

    async def wait_for_completion(
        self,
        instance_id: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - the interface contract names a timeout
    ) -> OrchestrationStatus:
        """Wait until the instance is Completed, Failed or Terminated; raises ``TimeoutError``."""
        async with asyncio.timeout(timeout):
            while True:
                inst = self.store.get_instance(instance_id)
                if inst is None:
                    raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r}")
                if inst.is_terminal:
                    return self.status_of(inst)
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._completion_waiters.setdefault(instance_id, []).append(fut)
                await fut

    async def wait_for_idle(self) -> None:
        """Wait until no episode or activity runs and no message is due (timers not yet due wait)."""
        attempted: set[str] = set()
        while True:
            if self._is_idle():
                # Due messages nobody has kicked yet (a timer that just came due on a manual clock).
                # Each instance is kicked once here: an inbox that cannot progress must not spin.
                due = set(self.store.instances_with_due_messages(format_time(self.clock.now()))) - attempted
                attempted |= due
                for instance_id in due:
                    self._kick(instance_id)
                if self._is_idle():
                    return
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(fut)
            await fut

    def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The raw DTFx history of the instance's current execution (what the SDK replays)."""
        return self.store.get_history(instance_id)

    def list_statuses(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        runtime_status: list[str] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[OrchestrationStatus]:
        rows = self.store.list_instances(
            created_from=format_time(created_from) if created_from else None,
            created_to=format_time(created_to) if created_to else None,
            statuses=runtime_status,
            prefix=instance_id_prefix,
        )
        return [self.status_of(r) for r in rows]

    async def purge(self, instance_id: str) -> int:
        """Delete a Completed/Failed/Terminated instance and its history; returns 0 or 1."""
        inst = self.store.get_instance(instance_id)
        if inst is None or not inst.is_terminal:
            return 0
        with self.store.transaction() as tx:
            tx.delete_instance(instance_id)
        return 1

    async def purge_by(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        runtime_status: list[str] | None = None,
    ) -> int:
        """Purge every terminal instance matching the filters; returns how many were deleted."""
        statuses = [s for s in (runtime_status or sorted(TERMINAL_STATUSES)) if s in TERMINAL_STATUSES]
        if not statuses:
            return 0
        rows = self.store.list_instances(
            created_from=format_time(created_from) if created_from else None,
            created_to=format_time(created_to) if created_to else None,
            statuses=statuses,
        )
        with self.store.transaction() as tx:
            for row in rows:
                tx.delete_instance(row.instance_id)
        return len(rows)

    # ---- binding and HTTP API ----------------------------------------------------------------

    def client_binding_json(self, base_url: str) -> str:
        """The JSON string the host passes to a ``durableClient`` parameter.

        ``base_url`` is the host's origin (``http://127.0.0.1:7071``). The ``code`` query
        parameter uses the ``system_key`` given to ``add_routes`` (call that first).
        """
        from devhost.durable.http_api import client_binding

        self.base_url = base_url.rstrip("/")
        return json.dumps(client_binding(self.base_url, self.task_hub, self.system_key))

    def add_routes(self, app: web.Application, *, system_key: str | None = None) -> None:
        """Register the HTTP API under ``/runtime/webhooks/durabletask/`` and ``/durabletask/``."""
        from devhost.durable.http_api import register_routes

        self.system_key = system_key
        register_routes(app, self, system_key)

    # ---- operations shared by the Python and HTTP APIs ----------------------------------------

    def orchestrator(self, name: str) -> HostedFunction | None:
        fn = self.app.get(name)
        return fn if fn is not None and fn.trigger_type == "orchestrationTrigger" else None

    def create_instance(self, name: str, stored_input: str | None, instance_id: str | None) -> str:
        """Create (or overwrite a terminal) instance. ``stored_input`` is ExecutionStarted.Input."""
        fn = self.orchestrator(name)
        if fn is None:
            raise OrchestratorNotFoundError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Orchestrators of this app: {', '.join(self._orchestrator_names()) or 'none'}"
            )
        iid = instance_id or uuid.uuid4().hex
        existing = self.store.get_instance(iid)
        if existing is not None and not existing.is_terminal:
            raise InstanceAlreadyExistsError(
                f"An Orchestration instance with the status {existing.runtime_status} already exists."
            )
        now = self.clock.now()
        with self.store.transaction() as tx:
            self._create_instance_tx(tx, instance_id=iid, name=fn.name, stored_input=stored_input, now=now, parent=None)
        self._kick(iid)
        log.info("orchestration %s scheduled as instance %s", fn.name, iid)
        return iid

    def enqueue_event(self, instance_id: str, event_name: str, input_text: str | None) -> None:
        """Add an ``EventRaised`` to the instance's inbox (``input_text`` is EventRaised.Input)."""
        inst = self._require_running(instance_id)
        now = self.clock.now()
        event = make_event(EventType.EventRaised, now, Name=event_name, Input=input_text)
        with self.store.transaction() as tx:
            tx.add_message(inst.instance_id, None, "event", format_time(now), event)
        self._kick(instance_id)

    def enqueue_terminate(self, instance_id: str, reason: str) -> None:
        inst = self._require_running(instance_id)
        now = self.clock.now()
        event = make_event(EventType.ExecutionTerminated, now, Input=json.dumps(reason))
        with self.store.transaction() as tx:
            tx.add_message(inst.instance_id, None, "terminate", format_time(now), event)
        self._kick(instance_id)

    def status_of(self, inst: InstanceRow) -> OrchestrationStatus:
        return OrchestrationStatus(
            name=inst.name,
            instance_id=inst.instance_id,
            runtime_status=inst.runtime_status,
            input=loads_or_none(inst.input),
            output=loads_or_none(inst.output),
            custom_status=loads_or_none(inst.custom_status),
            created_time=parse_time(inst.created_time),
            last_updated_time=parse_time(inst.last_updated_time),
        )

    def _require_running(self, instance_id: str) -> InstanceRow:
        inst = self.store.get_instance(instance_id)
        if inst is None:
            raise InstanceNotFoundError(f"No instance with ID {instance_id} found.")
        if inst.is_terminal:
            raise InstanceGoneError(f"Instance with ID {instance_id} is gone: it is {inst.runtime_status.lower()}.")
        return inst

    def _orchestrator_names(self) -> list[str]:
        return [f.name for f in self.app.by_trigger("orchestrationTrigger")]

    def _create_instance_tx(
        self,
        tx: Transaction,
        *,
        instance_id: str,
        name: str,
        stored_input: str | None,
        now: datetime,
        parent: dict[str, Any] | None,
    ) -> None:
        execution_id = uuid.uuid4().hex
        stamp = format_time(now)
        tx.clear_history(instance_id)
        tx.delete_instance_messages(instance_id)
        tx.delete_instance_activities(instance_id)
        tx.put_instance(
            InstanceRow(
                instance_id=instance_id,
                name=name,
                execution_id=execution_id,
                runtime_status="Pending",
                input=stored_input,
                output=None,
                custom_status=None,
                created_time=stamp,
                last_updated_time=stamp,
                parent_instance_id=parent["instance_id"] if parent else None,
                parent_execution_id=parent["execution_id"] if parent else None,
                parent_task_id=parent["task_id"] if parent else None,
                engine_state=fresh_state(),
            )
        )
        parent_info = (
            {
                "Name": parent["name"],
                "OrchestrationInstance": {
                    "InstanceId": parent["instance_id"],
                    "ExecutionId": parent["execution_id"],
                },
                "TaskScheduleId": parent["task_id"],
            }
            if parent
            else None
        )
        started = make_event(
            EventType.ExecutionStarted,
            now,
            OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
            ParentInstance=parent_info,
            Name=name,
            Version="",
            Input=stored_input,
            Tags=None,
        )
        tx.add_message(instance_id, execution_id, "start", stamp, started)

    # ---- scheduling ------------------------------------------------------------------------

    def _kick(self, instance_id: str) -> None:
        """Make sure the instance's inbox is processed soon (one episode loop per instance)."""
        if not self._running:
            return
        self._dirty.add(instance_id)
        if instance_id not in self._workers:
            self._workers[instance_id] = asyncio.create_task(
                self._drain(instance_id), name=f"devhost-durable-{instance_id}"
            )

    async def _drain(self, instance_id: str) -> None:
        try:
            while instance_id in self._dirty:
                self._dirty.discard(instance_id)
                while await self._episode(instance_id):
                    pass
        except asyncio.CancelledError:
            raise
        except Exception:
            # An engine bug must not take the host down; the inbox stays and is retried on restart.
            log.exception("durable engine error while processing instance %s", instance_id)
        finally:
            self._workers.pop(instance_id, None)
            self._check_idle()

    def _is_idle(self) -> bool:
        return not self._workers and not self._activity_tasks and not self._dirty

    def _check_idle(self) -> None:
        if self._is_idle():
            waiters, self._idle_waiters = self._idle_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _notify_finished(self, instance_id: str) -> None:
        for fut in self._completion_waiters.pop(instance_id, []):
            if not fut.done():
                fut.set_result(None)

    async def _timer_loop(self) -> None:
        wake = self._timer_wake
        if wake is None:
            raise RuntimeError("the timer loop runs only while the engine is started")
        while self._running:
            wake.clear()
            now = format_time(self.clock.now())
            for instance_id in self.store.instances_with_due_messages(now):
                self._kick(instance_id)
            next_due = self.store.next_timer_after(now)
            waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(wake.wait())}
            if next_due is not None:
                waits.add(asyncio.ensure_future(self.clock.sleep_until(parse_time(next_due))))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in waits:
                    fut.cancel()

    def _wake_timers(self) -> None:
        if self._timer_wake is not None:
            self._timer_wake.set()

    # ---- orchestrator episodes -------------------------------------------------------------

    async def _episode(self, instance_id: str) -> bool:
        """Run one episode for the instance if its inbox has due messages; True if it did work."""
        store = self.store
        now = self.clock.now()
        messages = store.due_messages(instance_id, format_time(now))
        if not messages:
            return False
        inst = store.get_instance(instance_id)
        if inst is None:
            with store.transaction() as tx:
                tx.delete_messages([m.id for m in messages])
            return True
        live = [
            m
            for m in messages
            if not inst.is_terminal and (m.execution_id is None or m.execution_id == inst.execution_id)
        ]
        if not live:
            with store.transaction() as tx:
                tx.delete_messages([m.id for m in messages])
            return True
        consumed = [m.id for m in messages]
        terminate = next((m for m in live if m.kind == "terminate"), None)
        history = store.get_history(instance_id)
        start = next((m for m in live if m.kind == "start"), None)
        if not history and start is None:
            # Events for an execution not started yet: keep them; drop only the stale ones.
            stale = [m.id for m in messages if m not in live]
            if stale:
                with store.transaction() as tx:
                    tx.delete_messages(stale)
            return False
        last_started = max(
            (parse_time(e["Timestamp"]) for e in history if e["EventType"] == EventType.OrchestratorStarted),
            default=now,
        )
        episode = Episode(
            inst=inst,
            now=max(now, last_started),
            history_len=len(history),
            events=[make_event(EventType.OrchestratorStarted, max(now, last_started))],
            consumed=consumed,
        )
        if terminate is not None:
            self._terminate_episode(episode, terminate)
            return True
        if not history and start is not None:
            episode.events.append(start.event)
        incoming = [m for m in live if m.kind not in ("start", "terminate")]
        deliver(episode, incoming)

        fn = self.orchestrator(inst.name)
        started = time.perf_counter()
        if fn is None:
            reply = OrchestratorReply(
                is_done=False,
                actions=[],
                error=f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function.",
            )
        else:
            input_value = loads_or_none(inst.input)
            context_json = build_context(history + episode.events, input_value, instance_id, inst.parent_instance_id)
            loop = asyncio.get_running_loop()
            reply = await loop.run_in_executor(
                self._orchestrator_pool,
                functools.partial(invoke_orchestrator, fn.user_function, context_json),
            )
        elapsed_ms = (time.perf_counter() - started) * 1000
        for warning in reply.warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                log.warning("orchestrator %s (instance %s): %s", inst.name, instance_id, warning)
        apply_reply(episode, reply)
        self._commit(episode)
        failed = episode.inst.runtime_status == "Failed"
        log.log(
            logging.WARNING if failed else logging.INFO,
            "Executed 'Functions.%s' (%s, Id=%s, InstanceId=%s, Duration=%.0fms): orchestrator episode, "
            "%d events, instance %s%s",
            inst.name,
            "Failed" if failed else "Succeeded",
            uuid.uuid4(),
            instance_id,
            elapsed_ms,
            len(episode.events),
            episode.inst.runtime_status,
            f": {reply.error}" if failed and reply.error else "",
        )
        return True

    def _terminate_episode(self, episode: Episode, message: MessageRow) -> None:
        inst = episode.inst
        reason_text = message.event.get("Input")
        inst.runtime_status = "Terminated"
        inst.output = reason_text
        inst.last_updated_time = format_time(episode.now)
        episode.events.append(message.event)
        episode.events.append(
            make_event(EventType.ExecutionCompleted, episode.now, OrchestrationStatus="Terminated", Result=reason_text)
        )
        parent_notice(
            episode,
            make_event(
                EventType.SubOrchestrationInstanceFailed,
                episode.now,
                TaskScheduledId=inst.parent_task_id,
                Reason=f"Orchestrator function '{inst.name}' was terminated: {loads_or_none(reason_text)}",
                Details=None,
            ),
        )
        self._commit(episode)
        log.info("orchestrator %s instance %s terminated", inst.name, inst.instance_id)

    def _commit(self, episode: Episode) -> None:
        """Write the episode in one transaction, then start what it scheduled."""
        inst = episode.inst
        iid = inst.instance_id
        events = [*episode.events, *episode.scheduled]
        if inst.runtime_status != "ContinuedAsNew":
            events.append(make_event(EventType.OrchestratorCompleted, episode.now))
        new_activities: list[ActivityRow] = []
        with self.store.transaction() as tx:
            tx.delete_messages(episode.consumed)
            if episode.continue_as_new is not None:
                # The old execution's history is replaced by the new execution's.
                self._restart_execution_tx(tx, inst, episode.continue_as_new[0], episode.now)
                episode.effects.kick.add(iid)
            else:
                tx.append_history(iid, episode.history_len, events)
                tx.put_instance(inst)
            for seq, name, input_text in episode.pending_activities:
                row_id = tx.add_activity(iid, inst.execution_id, seq, name, input_text)
                new_activities.append(ActivityRow(row_id, iid, inst.execution_id, seq, name, input_text))
            for seq, fire_at in episode.pending_timers:
                fired = make_event(EventType.TimerFired, fire_at, TimerId=seq, FireAt=format_time(fire_at))
                tx.add_message(iid, inst.execution_id, "timer", format_time(fire_at), fired)
                episode.effects.timers = True
            for seq, action in episode.pending_children:
                self._start_child_tx(tx, episode, seq, action)
            if episode.parent_event is not None and inst.parent_instance_id is not None:
                tx.add_message(
                    inst.parent_instance_id,
                    inst.parent_execution_id,
                    "event",
                    format_time(episode.now),
                    episode.parent_event,
                )
            if inst.is_terminal:
                tx.delete_instance_messages(iid)
                tx.delete_instance_activities(iid)
        for row in new_activities:
            self._dispatch_activity(row)
        for other in episode.effects.kick:
            self._kick(other)
        if episode.effects.timers:
            self._wake_timers()
        if inst.is_terminal:
            self._notify_finished(iid)

    def _restart_execution_tx(self, tx: Transaction, inst: InstanceRow, input_text: str | None, now: datetime) -> None:
        """ContinueAsNew: same instance id, new execution, fresh history, input from the action."""
        old_execution = inst.execution_id
        inst.execution_id = uuid.uuid4().hex
        inst.input = json.dumps(input_text) if input_text is not None else None
        inst.engine_state = fresh_state()
        inst.last_updated_time = format_time(now)
        tx.clear_history(inst.instance_id)
        tx.delete_instance_messages(inst.instance_id, old_execution)
        tx.delete_instance_activities(inst.instance_id)
        tx.put_instance(inst)
        parent_info = (
            {
                "OrchestrationInstance": {
                    "InstanceId": inst.parent_instance_id,
                    "ExecutionId": inst.parent_execution_id,
                },
                "TaskScheduleId": inst.parent_task_id,
            }
            if inst.parent_instance_id
            else None
        )
        started = make_event(
            EventType.ExecutionStarted,
            now,
            OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
            ParentInstance=parent_info,
            Name=inst.name,
            Version="",
            Input=inst.input,
            Tags=None,
        )
        tx.add_message(inst.instance_id, inst.execution_id, "start", format_time(now), started)

    def _start_child_tx(self, tx: Transaction, episode: Episode, seq: int, action: dict[str, Any]) -> None:
        inst = episode.inst
        child_id = str(action["instanceId"])
        existing = self.store.get_instance(child_id)
        input_text = action.get("input")
        if existing is not None and not existing.is_terminal:
            failed = make_event(
                EventType.SubOrchestrationInstanceFailed,
                episode.now,
                TaskScheduledId=seq,
                Reason=f"An Orchestration instance with the status {existing.runtime_status} already exists.",
                Details=None,
            )
            tx.add_message(inst.instance_id, inst.execution_id, "event", format_time(episode.now), failed)
            episode.effects.kick.add(inst.instance_id)
            return
        self._create_instance_tx(
            tx,
            instance_id=child_id,
            name=action["functionName"],
            stored_input=json.dumps(input_text) if input_text is not None else None,
            now=episode.now,
            parent={
                "instance_id": inst.instance_id,
                "execution_id": inst.execution_id,
                "task_id": seq,
                "name": inst.name,
            },
        )
        episode.effects.kick.add(child_id)

    # ---- activities ------------------------------------------------------------------------

    def _dispatch_activity(self, row: ActivityRow) -> None:
        if not self._running:
            return
        task = asyncio.create_task(self._run_activity(row), name=f"devhost-activity-{row.name}-{row.id}")
        self._activity_tasks.add(task)
        task.add_done_callback(self._activity_done)

    def _activity_done(self, task: asyncio.Task[None]) -> None:
        self._activity_tasks.discard(task)
        self._check_idle()

    async def _run_activity(self, row: ActivityRow) -> None:
        if self._activity_sem is None or self._activities is None:
            raise RuntimeError("activities run only while the engine is started")
        async with self._activity_sem:
            invocation_id = str(uuid.uuid4())
            started = time.perf_counter()
            event = await self._activities.invoke(row, invocation_id)
            elapsed_ms = (time.perf_counter() - started) * 1000
        ok = event["EventType"] == EventType.TaskCompleted
        log.log(
            logging.INFO if ok else logging.WARNING,
            "Executed 'Functions.%s' (%s, Id=%s, InstanceId=%s, Duration=%.0fms): activity, task %d%s",
            row.name,
            "Succeeded" if ok else "Failed",
            invocation_id,
            row.instance_id,
            elapsed_ms,
            row.task_id,
            "" if ok else f": {event.get('Reason')}",
        )
        if not self._running:
            return
        with self.store.transaction() as tx:
            if not tx.delete_activity(row.id):
                return  # the instance finished, continued as new, or was purged meanwhile
            tx.add_message(row.instance_id, row.execution_id, "event", event["Timestamp"], event)
        self._kick(row.instance_id)
