"""Which rule a finding matches, and why (pure functions, no I/O).

Rules are tried in order and the first whose every condition holds wins. Each condition that
held is described in words, so a plan can say *why* it chose its playbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from shared.finding import Finding
from shared.policy.schema import Policy, Rule, RuleMatch

__all__ = ["RuleMatchResult", "finding_category", "first_matching_rule", "match_rule", "tags_match"]


@dataclass(frozen=True, slots=True)
class RuleMatchResult:
    """A rule that matched, with one phrase per condition that held."""

    rule: Rule
    index: int
    reasons: tuple[str, ...]


def finding_category(finding: Finding) -> str | None:
    """The Defender alert category in ``evidence["category"]`` (lower-cased), if any."""
    value = finding.evidence.get("category")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def tags_match(wanted: Mapping[str, str], tags: Mapping[str, str]) -> list[str] | None:
    """Whether ``tags`` carry every tag in ``wanted`` (case-insensitive; value ``*`` = any).

    Returns the matching ``name=value`` phrases, or ``None`` when a wanted tag is missing.
    """
    lowered = {str(name).lower(): str(value) for name, value in tags.items()}
    phrases = []
    for name, value in wanted.items():
        actual = lowered.get(name.lower())
        if actual is None or (value != "*" and actual.lower() != value.lower()):
            return None
        phrases.append(f"{name}={actual}")
    return phrases


def match_rule(match: RuleMatch, finding: Finding, resource_tags: Mapping[str, str]) -> list[str] | None:
    """The reasons ``finding`` meets every condition of ``match``, or ``None`` if one fails."""
    if match.is_catch_all:
        return ["it matches every finding"]
    reasons: list[str] = []
    if match.source:
        if finding.source not in match.source:
            return None
        reasons.append(f"source {finding.source.value}")
    if match.kind:
        kind = finding.kind.lower()
        pattern = next((p for p in match.kind if fnmatchcase(kind, p.lower())), None)
        if pattern is None:
            return None
        reasons.append(f"kind {finding.kind}" + ("" if pattern.lower() == kind else f" matches {pattern}"))
    if match.category:
        category = finding_category(finding)
        if category is None or category not in match.category:
            return None
        reasons.append(f"category {category}")
    if match.min_severity is not None:
        if finding.severity.rank < match.min_severity.rank:
            return None
        reasons.append(f"severity {finding.severity.value} ≥ {match.min_severity.value}")
    if match.tags:
        phrases = tags_match(match.tags, resource_tags)
        if phrases is None:
            return None
        reasons.append("tags " + ", ".join(phrases))
    if match.subscriptions:
        if finding.resource is None:
            return None
        subscription = finding.resource.subscription_id.lower()
        if subscription not in match.subscriptions:
            return None
        reasons.append(f"subscription {subscription}")
    return reasons


def first_matching_rule(policy: Policy, finding: Finding, resource_tags: Mapping[str, str]) -> RuleMatchResult | None:
    """The first rule of ``policy`` that ``finding`` matches, or ``None``."""
    for index, rule in enumerate(policy.rules):
        reasons = match_rule(rule.match, finding, resource_tags)
        if reasons is not None:
            return RuleMatchResult(rule, index, tuple(reasons))
    return None
