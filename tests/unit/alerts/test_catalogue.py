"""The Defender for AI catalogue: every documented id, its category, and tolerant lookup."""

from __future__ import annotations

import json

import pytest

from shared.alerts.catalogue import (
    AlertCatalogue,
    AlertCategory,
    AlertFamily,
    CatalogueError,
    default_catalogue,
    load_catalogue,
    normalize_tactic,
)
from shared.finding import Severity

# The ids of learn.microsoft.com/azure/defender-for-cloud/alerts-ai-workloads (June 2026) and
# its git history, as listed in Warden's reference notes: the spec this catalogue must cover.
DOCUMENTED = {
    "AI.Azure_CredentialTheftAttempt": ("Medium", "credential_theft"),
    "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt": ("Medium", "jailbreak"),
    "AI.Azure_Jailbreak.ContentFiltering.DetectedAttempt": ("Medium", "jailbreak"),
    "AI.Azure_MaliciousUrl.ModelResponse": ("High", "malicious_url"),
    "AI.Azure_MaliciousUrl.UnknownSource": ("High", "malicious_url"),
    "AI.Azure_MaliciousUrl.UserPrompt": ("High", "malicious_url"),
    "AI.Azure_AccessFromSuspiciousUserAgent": ("Medium", "suspicious_access"),
    "AI.Azure_ASCIISmuggling": ("High", "prompt_injection"),
    "AI.Azure_AccessFromAnonymizedIP": ("High", "suspicious_access"),
    "AI.Azure_AccessFromSuspiciousIP": ("High", "suspicious_access"),
    "AI.Azure_DOWDuplicateRequests": ("Medium", "wallet_abuse"),
    "AI.Azure_DOWVolumeAnomaly": ("Medium", "wallet_abuse"),
    "AI.Azure_AccessAnomaly": ("Medium", "suspicious_access"),
    "AI.Azure_AnomalousOperation.InitialAccess": ("Medium", "anomalous_operation"),
    "AI.Azure_AnomalousToolInvocation": ("Low", "anomalous_tool"),
    "AI.Azure_LLMReconnaissance": ("Low", "reconnaissance"),
    "AI.Azure_Agentic_Jailbreak": ("Medium", "jailbreak"),
    "AI.Azure_Agentic_BlockedJailbreak": ("Medium", "jailbreak"),
    "AI.Azure_Agentic_ASCIISmuggling": ("High", "prompt_injection"),
    "AI.Azure_Agentic_MaliciousUrl.UserPrompt": ("High", "malicious_url"),
    "AI.Azure_Agentic_AccessFromSuspiciousIP": ("High", "suspicious_access"),
    "AI.Azure_Agentic_AccessFromAnonymizedIP": ("High", "suspicious_access"),
    "AI.Azure_Agentic_AccessFromSuspiciousUserAgent": ("Medium", "suspicious_access"),
    "AI.Azure_Agentic_MaliciousUrl.ModelResponse": ("High", "malicious_url"),
    "AI.Azure_Agentic_MaliciousUrl.ToolOutput": ("High", "malicious_url"),
    "AI.Azure_Agentic_DOWVolumeAnomaly": ("Medium", "wallet_abuse"),
    "AI.Azure_Agentic_InstructionLeakage": ("Low", "data_leak"),
    "AI.Azure_Agentic_LLMReconnaissance": ("Low", "reconnaissance"),
    "AI.AIModelScan_MalwareDetected": ("High", "model_malware"),
    "AI.Azure_DataLeakInModelResponse.Sensitive": ("Low", "data_leak"),
    "AI.Azure_SensitiveDataAnomaly": ("Medium", "data_leak"),
    "AI.Azure_PhishingContentInModelResponse": ("High", "malicious_url"),
    "AI.Azure_PhishingContentInAIApplication": ("High", "malicious_url"),
    "AI.Azure_PhishingContentInUserPrompt": ("High", "malicious_url"),
}
EXPOSED_K8S = "Exposed Kubernetes service detected (AI applications on Kubernetes)"


@pytest.mark.parametrize(("alert_type", "expected"), sorted(DOCUMENTED.items()))
def test_every_documented_id_has_its_severity_and_category(alert_type: str, expected: tuple[str, str]) -> None:
    entry = default_catalogue().get(alert_type)
    assert (entry.severity.value, entry.category.value) == expected
    assert entry.display_name


def test_catalogue_has_exactly_the_documented_ids_plus_the_idless_kubernetes_alert() -> None:
    catalogue = default_catalogue()
    ids = {e.alert_type for e in catalogue.entries}
    assert ids == {*DOCUMENTED, None}
    assert len(catalogue) == len(DOCUMENTED) + 1


def test_every_canonical_id_has_the_ai_prefix() -> None:
    for entry in default_catalogue().entries:
        assert entry.alert_type is None or entry.alert_type.startswith("AI.")


def test_data_file_names_its_source() -> None:
    assert "alerts-ai-workloads" in default_catalogue().source
    assert "8060052cc18c" in default_catalogue().source


def test_agent_id_written_without_prefix_resolves_to_the_prefixed_canonical_entry() -> None:
    entry = default_catalogue().lookup("Azure_Agentic_BlockedJailbreak")
    assert entry is not None
    assert entry.alert_type == "AI.Azure_Agentic_BlockedJailbreak"
    assert entry.family is AlertFamily.AGENT


@pytest.mark.parametrize(
    "spelling",
    [
        "AI.Azure_Agentic_LLMReconaissance",
        "AI.Azure_Agentic_LLMReconnaissance",
        "ai.azure_agentic_llmreconaissance",
        "  AI.AZURE_AGENTIC_LLMRECONNAISSANCE ",
    ],
)
def test_reconnaissance_spellings_and_case_resolve_to_one_entry(spelling: str) -> None:
    entry = default_catalogue().lookup(spelling)
    assert entry is not None
    assert entry.alert_type == "AI.Azure_Agentic_LLMReconnaissance"


def test_application_reconnaissance_misspelling_resolves_too() -> None:
    entry = default_catalogue().lookup("AI.Azure_LLMReconaissance")
    assert entry is not None
    assert entry.alert_type == "AI.Azure_LLMReconnaissance"


def test_case_differences_resolve_to_the_canonical_id() -> None:
    c = default_catalogue().classify("ai.azure_jailbreak.contentfiltering.blockedattempt")
    assert c.is_ai
    assert c.canonical_type == "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt"


def test_unknown_ai_type_is_an_ai_alert_of_category_ai_other() -> None:
    c = default_catalogue().classify("AI.Azure_SomethingNew2027")
    assert c.is_ai
    assert c.entry is None
    assert c.category is AlertCategory.AI_OTHER
    assert c.canonical_type == "AI.Azure_SomethingNew2027"


@pytest.mark.parametrize("alert_type", ["VM_EICAR", "K8S.NODE_ImageBuild", "Storage.Blob_AnonymousAccess", "AIX"])
def test_non_ai_types_are_not_ours(alert_type: str) -> None:
    c = default_catalogue().classify(alert_type, "Some display name")
    assert not c.is_ai
    assert c.category is None
    assert c.canonical_type is None


def test_idless_kubernetes_alert_matches_by_display_name_only() -> None:
    catalogue = default_catalogue()
    c = catalogue.classify("K8S_ExposedService", EXPOSED_K8S.upper())
    assert c.is_ai
    assert c.entry is not None
    assert c.category is AlertCategory.EXPOSED_SERVICE
    assert c.canonical_type == "K8S_ExposedService"
    assert not catalogue.classify("K8S_ExposedService", "Exposed Kubernetes service").is_ai


def test_renamed_phishing_ids_name_their_malicious_url_successor() -> None:
    catalogue = default_catalogue()
    for old, new in [
        ("AI.Azure_PhishingContentInModelResponse", "AI.Azure_MaliciousUrl.ModelResponse"),
        ("AI.Azure_PhishingContentInAIApplication", "AI.Azure_MaliciousUrl.UnknownSource"),
        ("AI.Azure_PhishingContentInUserPrompt", "AI.Azure_MaliciousUrl.UserPrompt"),
    ]:
        entry = catalogue.get(old)
        assert entry.family is AlertFamily.HISTORICAL
        assert entry.superseded_by == new
        assert entry.category is catalogue.get(new).category


def test_tactics_are_mitre_names_and_keep_the_documented_wording() -> None:
    entry = default_catalogue().get("AI.Azure_MaliciousUrl.UnknownSource")
    assert entry.tactics == ("Impact", "Collection")
    assert entry.tactics_documented == ("Impact (Defacement)", "Collection")
    assert default_catalogue().get("AI.Azure_AccessAnomaly").tactics == (
        "Execution",
        "Reconnaissance",
        "Initial Access",
    )


def test_normalize_tactic_keeps_unknown_names() -> None:
    assert normalize_tactic(" Initial access ") == "Initial Access"
    assert normalize_tactic("PreAttack") == "PreAttack"


def test_by_category_lists_all_jailbreak_entries() -> None:
    ids = {e.alert_type for e in default_catalogue().by_category(AlertCategory.JAILBREAK)}
    assert ids == {
        "AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt",
        "AI.Azure_Jailbreak.ContentFiltering.DetectedAttempt",
        "AI.Azure_Agentic_Jailbreak",
        "AI.Azure_Agentic_BlockedJailbreak",
    }


def test_get_requires_the_exact_canonical_id() -> None:
    with pytest.raises(KeyError):
        default_catalogue().get("Azure_Agentic_BlockedJailbreak")


def _entry(alert_type: str | None, **extra: object) -> dict[str, object]:
    return {
        "alert_type": alert_type,
        "display_name": "x",
        "severity": "High",
        "category": "jailbreak",
        "family": "application",
        **extra,
    }


def test_an_alias_claimed_by_two_entries_is_a_catalogue_error() -> None:
    doc = {"entries": [_entry("AI.A"), _entry("AI.B", aliases=["A"])]}
    with pytest.raises(CatalogueError, match="names both"):
        load_catalogue(json.dumps(doc))


def test_a_bad_severity_in_the_data_file_is_named() -> None:
    with pytest.raises(CatalogueError, match=r"entries\[0\].*unknown severity"):
        load_catalogue(json.dumps({"entries": [_entry("AI.A", severity="Severe")]}))


def test_a_canonical_id_without_prefix_is_a_catalogue_error() -> None:
    with pytest.raises(CatalogueError, match=r"lacks the 'AI\.' prefix"):
        load_catalogue(json.dumps({"entries": [_entry("Azure_X")]}))


def test_an_unknown_successor_is_a_catalogue_error() -> None:
    with pytest.raises(CatalogueError, match="superseded by unknown id"):
        load_catalogue(json.dumps({"entries": [_entry("AI.A", superseded_by="AI.Missing")]}))


def test_catalogue_json_must_have_entries() -> None:
    with pytest.raises(CatalogueError):
        load_catalogue("[]")
    with pytest.raises(CatalogueError):
        load_catalogue("{not json")


def test_a_custom_catalogue_can_be_built_from_entries() -> None:
    base = default_catalogue().get("AI.Azure_ASCIISmuggling")
    catalogue = AlertCatalogue((base,))
    assert catalogue.lookup("Azure_ASCIISmuggling") is base
    assert catalogue.lookup("AI.Azure_Jailbreak.ContentFiltering.BlockedAttempt") is None
    assert base.severity is Severity.HIGH


def test_policy_schema_knows_exactly_the_alert_categories() -> None:
    from shared.policy import schema

    assert set(schema.ALERT_CATEGORIES) == {c.value for c in AlertCategory}
