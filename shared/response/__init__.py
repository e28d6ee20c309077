"""Response steps: what an incident plans to do and what happened when it did (``steps``).

The rest of the response lives by layer: the plan is chosen by ``shared.policy``; the durable
contract is ``shared.contracts.incident``; the orchestration is ``shared.orchestrations.incident``;
the activities are use cases (``shared.usecases.triage``, ``containment``, ``restore``,
``incidents``).
"""
