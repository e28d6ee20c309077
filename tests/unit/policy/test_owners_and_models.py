"""Owners come from tags, then fallbacks; models are checked against the allowlist."""

from __future__ import annotations

from shared.policy import is_model_allowed, owners_for

from .conftest import MINIMAL, OTHER_SUB, SUB, policy_from

OWNERS = MINIMAL.replace(
    "  fallback:\n",
    f"  tags: [owner, security-contact]\n  fallback:\n    by_subscription:\n      {SUB}: [ai-team@contoso.com]\n",
)


def test_owner_tags_are_read_in_order_split_and_deduplicated() -> None:
    policy = policy_from(OWNERS)
    tags = {"Security-Contact": "sec@contoso.com; Alice@contoso.com", "owner": "alice@contoso.com, bob@contoso.com"}
    assert owners_for(policy, tags, SUB) == ["alice@contoso.com", "bob@contoso.com", "sec@contoso.com"]


def test_without_owner_tags_the_subscription_fallback_is_used() -> None:
    policy = policy_from(OWNERS)
    assert owners_for(policy, {"env": "prod"}, SUB.upper()) == ["ai-team@contoso.com"]


def test_without_a_subscription_fallback_the_default_is_used() -> None:
    policy = policy_from(OWNERS)
    assert owners_for(policy, {}, OTHER_SUB) == ["secops@contoso.com"]
    assert owners_for(policy, {"owner": " , "}, None) == ["secops@contoso.com"]


ALLOW = (
    MINIMAL
    + """\
models:
  allowlist:
    - {name: gpt-4o, versions: ['2024-08-06', '2024-11-20']}
    - {name: text-embedding-3-large, versions: '*'}
    - {name: Phi-4, format: Microsoft}
"""
)


def test_allowlisted_model_and_version_is_allowed() -> None:
    policy = policy_from(ALLOW)
    assert is_model_allowed(policy, "gpt-4o", "2024-08-06", "OpenAI")
    assert is_model_allowed(policy, "GPT-4o", "2024-11-20", "openai")
    assert is_model_allowed(policy, "text-embedding-3-large", "1", "OpenAI")
    assert is_model_allowed(policy, "phi-4", "7", "Microsoft")


def test_other_versions_models_and_formats_are_not_allowed() -> None:
    policy = policy_from(ALLOW)
    assert not is_model_allowed(policy, "gpt-4o", "2024-05-13", "OpenAI")
    assert not is_model_allowed(policy, "gpt-35-turbo", "0613", "OpenAI")
    assert not is_model_allowed(policy, "phi-4", "7", "OpenAI")


def test_empty_allowlist_enforces_nothing() -> None:
    assert is_model_allowed(policy_from(MINIMAL), "anything", "1", "Whatever")


def test_unquoted_dates_and_numbers_in_versions_are_read_as_text() -> None:
    policy = policy_from(MINIMAL + "models:\n  allowlist:\n    - {name: m, versions: [2024-08-06, 1]}\n")
    assert policy.models.allowlist[0].versions == ("2024-08-06", "1")
