"""Human approval of disruptive response steps.

- ``models``: the gate's request and result (the contract with the incident orchestrator), the
  pending-approval record kept in Table Storage (``WardenApprovals``) and recorded decisions.
- ``gate``: the deterministic ``approval_gate`` sub-orchestration body (wait for decisions
  raced against a durable timer, reminders, escalation, final decision on timeout).
- ``principal``: the App Service Authentication (Easy Auth) principal, parsed and validated.
- ``rules``: who may decide (approver role, separation of duties, owners and causer).
- ``service``: list, show and decide — what the HTTP API and the one-click links call.
- ``ports``: ``ApprovalsDeps``, what the handlers use (built by ``shared.bootstrap``).
- ``links``: signed, expiring, single-use one-click links.
- ``page``: the approval page (escaped HTML, strict security headers, CSRF tokens).

Nothing here imports ``azure.functions``; ``handlers/approvals.py`` is the glue.
"""
