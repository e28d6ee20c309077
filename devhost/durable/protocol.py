"""The 1.x out-of-proc JSON protocol between the host and the Python orchestrator handle.

``build_context`` makes the trigger payload the extension sends (schema V3: ``upperSchemaVersion``
1 and ``upperSchemaVersionNew`` 2; the long-timer duration fields are omitted so the SDK creates
plain timers). ``invoke_orchestrator`` calls the SDK handle and turns its reply, or the exception
it raises with ``$OutOfProcData$``, into an ``OrchestratorReply``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActionType",
    "OrchestratorReply",
    "build_context",
    "flatten_actions",
    "invoke_orchestrator",
]

OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


class ActionType:
    """``actionType`` values of the SDK's actions (``models/actions/ActionType.py``)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


@dataclass
class OrchestratorReply:
    """What one orchestrator invocation returned.

    ``actions`` is the flat, cumulative list of leaf actions (compound WhenAny/WhenAll unwrapped,
    depth-first), so the driver diffs it against what it has already materialised. ``error`` is
    set when the orchestrator threw; ``warnings`` holds warnings the SDK emitted during replay.
    """

    is_done: bool
    actions: list[dict[str, Any]]
    output: Any = None
    has_output: bool = False
    custom_status: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def build_context(
    history: list[dict[str, Any]],
    input_text: str | None,
    instance_id: str,
    parent_instance_id: str | None,
) -> str:
    """The orchestration trigger payload (``OrchestrationContextToString``), as JSON text.

    ``input_text`` is the orchestration input as JSON text (the extension's ``input`` JToken is
    the stored, once-more-encoded input with one level removed).
    """
    return json.dumps(
        {
            "history": history,
            "input": input_text,
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )


def flatten_actions(actions: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Leaf actions in depth-first order; WhenAny (11) / WhenAll (12) wrappers are unwrapped."""
    for action in actions:
        if action.get("actionType") in (ActionType.WHEN_ANY, ActionType.WHEN_ALL):
            yield from flatten_actions(list(action.get("compoundActions") or []))
        else:
            yield action


def _reply_from_state(state: dict[str, Any], error: str | None) -> OrchestratorReply:
    raw_actions = state.get("actions") or []
    if len(raw_actions) != 1:
        # The extension throws for schema V2/V3 unless the outer list has exactly one entry.
        raise ValueError(
            f"with out-of-proc schema V3 the actions array must have exactly 1 outer entry, got {len(raw_actions)}"
        )
    return OrchestratorReply(
        is_done=bool(state.get("isDone")) and error is None,
        actions=list(flatten_actions(list(raw_actions[0]))),
        output=state.get("output"),
        has_output="output" in state,
        custom_status=state.get("customStatus"),
        error=error,
    )


def invoke_orchestrator(handle: Callable[[str], str], context_json: str) -> OrchestratorReply:
    """Call the SDK's orchestrator handle with the context JSON and parse its reply.

    A failing orchestrator makes the handle raise ``Exception("<msg>\\n\\n$OutOfProcData$:<state>")``;
    the state after the label carries the actions so far and ``error``. Any other exception (for
    example from a non-generator orchestrator) is a failure without actions. Warnings the SDK
    emits (such as "Potential duplicate Task completion" for buffered events) are collected, not
    raised: the real worker logs them, it does not fail the orchestration.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = handle(context_json)
            reply = _reply_from_state(json.loads(raw), None)
        except Exception as exc:  # the user's orchestrator threw
            message = str(exc)
            head, label, tail = message.rpartition(OUT_OF_PROC_LABEL)
            if label:
                state = json.loads(tail)
                reply = _reply_from_state(state, str(state.get("error") or head))
            else:
                reply = OrchestratorReply(is_done=False, actions=[], error=message or type(exc).__name__)
    # Deprecation notices (df_loads without expected_type) are silent in the real worker.
    reply.warnings = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)
    ]
    return reply
