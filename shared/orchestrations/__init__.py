"""Orchestration bodies: deterministic generators over a Durable orchestration context.

Only ``context`` APIs are used (``get_input``, ``call_activity[_with_retry]``,
``call_sub_orchestrator``, ``task_all``, ``task_any``, ``create_timer``,
``wait_for_external_event``, ``current_utc_datetime``, ``instance_id``, ``set_custom_status``):
no I/O, clock, randomness or settings, so a replay always takes the same path. Policy values are
read by activities. ``handlers/`` registers each body under its name in ``shared.contracts``;
unit tests drive them with a fake context.

- ``incident``: one incident (triage, approval, containment, verification, notification, close)
  and the restore of its containment;
- ``approval_gate``: waiting for a human decision on one step (reminders, escalation, timeout);
- ``rotation``: scheduled (zero-downtime) and emergency key rotations;
- ``calls``: calling activities with contract models, and decoding what comes back.
"""
