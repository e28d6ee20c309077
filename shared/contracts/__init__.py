"""The durable contract: one module per orchestration family names its orchestrators and
activities and defines the payload models they exchange. Orchestrators (``shared.orchestrations``)
call only these names with these models; ``handlers/`` register functions under these names and
validate these models; the use cases take and return them.

- ``incident``: the incident and restore orchestrations;
- ``approval``: the approval gate (the one way a step gets a human decision);
- ``rotation``: scheduled and emergency key rotations;
- ``retry``: how an orchestrator retries an activity (``RetrySpec``).
"""
