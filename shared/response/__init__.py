"""Incident response: triage, approval gate, containment actions, verification, restore.

- ``orchestration``: the deterministic incident and restore orchestration bodies (and the
  custom status shape the Approvals API reads);
- ``triage``: the policy's plan for a finding, with the resource's tags and the circuit breaker;
- ``actions``: the idempotent, snapshotting containment actions and their verification;
- ``restore``: re-applying an incident's snapshots;
- ``records``: audited approval decisions and notification intents;
- ``ports``: what the activities talk to (built by the composition root, ``shared.bootstrap``).
"""
