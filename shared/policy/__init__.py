"""Policy as code: ``policy.yaml`` maps findings to playbooks, approvals and guards.

- ``load_policy(path)`` / ``parse_policy(text)``: read and validate a policy, or raise one
  ``PolicyError`` listing every problem with its line (``policy.yaml:12: rules[2].playbook: ...``).
- ``plan_response(policy, finding, resource_tags, now=...)``: the ``ResponsePlan`` for a finding.
- ``owners_for``, ``is_model_allowed``: the other decisions the orchestrator and detectors need.
- ``policy_json_schema()``: the JSON Schema for editors (committed as ``policy.schema.json``).

Nothing here does I/O except ``load_policy`` reading its file.
"""

from shared.policy.decisions import (
    ResponsePlan,
    SkippedStep,
    is_model_allowed,
    is_protected,
    owners_for,
    plan_response,
    step_id,
)
from shared.policy.durations import format_duration, parse_duration
from shared.policy.errors import PolicyError, PolicyProblem
from shared.policy.loader import MAX_POLICY_BYTES, load_policy, parse_policy
from shared.policy.schema import Policy, policy_json_schema

__all__ = [
    "MAX_POLICY_BYTES",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "ResponsePlan",
    "SkippedStep",
    "format_duration",
    "is_model_allowed",
    "is_protected",
    "load_policy",
    "owners_for",
    "parse_duration",
    "parse_policy",
    "plan_response",
    "policy_json_schema",
    "step_id",
]
