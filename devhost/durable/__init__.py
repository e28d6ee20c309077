"""devhost's Durable engine: runs ``df.DFApp`` orchestrations offline, on the real SDK.

It plays the part of the Durable Task extension + DTFx for the 1.x Python SDK: it builds the
orchestration trigger payload (out-of-proc schema V3), calls the SDK's real orchestrator handle,
reads the cumulative action list back, writes DTFx-shaped history, runs the app's real
``activityTrigger`` functions, and serves the HTTP API the real ``DurableOrchestrationClient``
calls. State lives in SQLite, so a killed host resumes where it stopped.

Public API (see ``DurableEngine``): ``DurableEngine(app, store_path, task_hub=, activity_concurrency=,
clock=)``, ``start()``, ``stop()``, ``client_binding_json(base_url)``, ``add_routes(web_app,
system_key=)``, and for tests ``start_new``, ``raise_event``, ``terminate``, ``get_status``,
``wait_for_completion``, ``wait_for_idle``, ``get_history``, ``purge``. Logs go to the
``devhost.durable`` logger (each orchestrator episode and activity with name, instance id and
duration). ``python -m devhost.durable.runner`` runs the engine and its HTTP API standalone.

Modules: ``engine`` (lifecycle, scheduling, commits), ``episodes`` (one episode's bookkeeping:
inbox in, SDK reply out), ``protocol`` (context JSON, reply parsing), ``history`` (DTFx events),
``activities`` (invoking activity functions), ``store`` (SQLite), ``http_api`` (the HTTP API and
the client binding), ``status`` (statuses, errors), ``clock`` (system and manual clocks).

Faithful to the extension (checked against the SDK's replay code):

- Context JSON ``{history, input (JSON text), instanceId, isReplaying, parentInstanceId,
  upperSchemaVersion: 1, upperSchemaVersionNew: 2}``; replies are parsed as ``OrchestratorState``,
  failures through the ``$OutOfProcData$`` label. History events are PascalCase DTFx events.
- Sequence ids: new leaf actions get ids in the SDK's depth-first order from one counter per
  execution; waits for external events take none. ``call_*_with_retry`` is executed by the host as
  DTFx does: ``TaskScheduled(n) -> TaskFailed(n) -> TimerCreated(n+1) -> TimerFired(n+1) ->
  TaskScheduled(n+2) ...``, with the extra final timer (fired immediately) after the last attempt.
- Payloads: start input is stored as the double-encoded body (so ``get_input()`` round-trips and
  the status API's ``input`` is JSON *text*, as on Azure); activity input/output go through the
  worker's own ``ActivityTriggerConverter``; ``EventRaised.Input`` is the HTTP body as sent, so an
  event raised by the Python client arrives in the orchestrator as JSON text (issue #295).
  ``engine.raise_event`` behaves like the .NET client and delivers the value itself.
- External events are appended to history when they arrive; buffering of early events is the
  SDK's (``deferred_tasks``), including bug #507 (one early event satisfies every later wait with
  the same name). The SDK's "Potential duplicate Task completion" warning is logged, not raised.
- Statuses Pending / Running / Completed / Failed / Terminated / ContinuedAsNew; a failed
  orchestrator's output is ``"Orchestrator function '<name>' failed: <message>"``; an activity
  failure is ``TaskFailed`` with ``Reason = "Activity function '<name>' failed: <Type>: <msg>"`` and
  the traceback as ``Details``. Sub-orchestration failures (and terminations) reach the parent as
  ``SubOrchestrationInstanceFailed``. Starting an id that is Pending/Running/ContinuedAsNew fails
  (the extension's default ``overridableExistingInstanceStates = NonRunningStates``: HTTP 500 with
  ``ExceptionMessage`` "An Orchestration instance with the status Running already exists.");
  a Completed/Failed/Terminated id is overwritten.
- Delivery is at-least-once: an activity whose completion was not committed runs again after a
  crash; completions already committed are never lost or duplicated.

Simplified (and why):

- One process, one store; orchestrator episodes run one at a time on one thread (the SDK is
  synchronous); there are no partitions, leases, control queues or message batching limits.
- Within an episode the engine orders the inbox itself: retry failures and retry timers first
  (they allocate sequence ids without advancing the generator), then everything else in arrival
  order. Azure orders by queue arrival; any order is a valid interleaving.
- The long-timer fields (``maximumShortTimerDuration``/``longRunningTimerIntervalDuration``) are
  omitted, as DTS and MSSQL do, so timers of any length are single timers.
- Cancelled timers are not revoked (DTFx cannot revoke them either); they fire harmlessly if the
  orchestration is still running, and are dropped when it has finished.
- Sub-orchestrations without an explicit id get ``"<parent id>:<sequence id>"``.
- ``showHistory`` renders a simplified ``historyEvents`` list; ``get_history`` gives the raw events.
- Not implemented: entities, ``call_http``, suspend/resume/rewind/restart (HTTP 501 with a JSON
  message; an orchestrator using entities or ``call_http`` fails with a message saying so),
  versioning, instance-id length checks, ``createAndWait`` URLs (listed in the binding, not served),
  purging instances that are not in a terminal state.
"""

from devhost.durable.clock import Clock, ManualClock, SystemClock
from devhost.durable.engine import DurableEngine
from devhost.durable.status import (
    DurableError,
    InstanceAlreadyExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    OrchestrationStatus,
    OrchestratorNotFoundError,
)

__all__ = [
    "Clock",
    "DurableEngine",
    "DurableError",
    "InstanceAlreadyExistsError",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "ManualClock",
    "OrchestrationStatus",
    "OrchestratorNotFoundError",
    "SystemClock",
]
