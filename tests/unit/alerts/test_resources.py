"""resolve_resource(): which AI account / deployment an alert is about (best effort, never raises)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.alerts import Accepted, AlertFormat, DefenderAlert, normalize, resolve_resource
from shared.resource_ids import AccountId, DeploymentId
from tests.alertgen import SUBSCRIPTION, account_resource_id, deployment_resource_id, make_alert

MAX = 256 * 1024
ACCOUNT = account_resource_id("contoso-openai")
DEPLOYMENT = deployment_resource_id("contoso-openai", "gpt-4o")


def _alert(fmt: AlertFormat | str = "rest_resource", **kw: Any) -> DefenderAlert:
    outcome = normalize(
        make_alert("AI.Azure_Jailbreak.ContentFiltering.DetectedAttempt", fmt, **kw), source="t", max_bytes=MAX
    )
    assert isinstance(outcome, Accepted), outcome
    return outcome.alert


def test_deployment_id_in_resource_identifiers_gives_a_deployment() -> None:
    res = resolve_resource(_alert(resource_id=DEPLOYMENT))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)
    assert res.source == "resource_ids[0]"
    assert res.account == AccountId.parse(ACCOUNT)


def test_resource_id_casing_does_not_matter() -> None:
    res = resolve_resource(_alert(resource_id=DEPLOYMENT.upper().replace(SUBSCRIPTION.upper(), SUBSCRIPTION)))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)


@pytest.mark.parametrize(
    "key", ["DeploymentName", "Deployment Name", "deployment_name", "Model Deployment", "AzureOpenAIDeploymentName"]
)
def test_account_id_plus_deployment_name_in_extended_properties_gives_the_deployment(key: str) -> None:
    res = resolve_resource(_alert(resource_id=ACCOUNT, extended_properties={key: "gpt-4o"}))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)
    assert res.deployment_source == f"extended_properties[{key!r}]"


def test_deployment_name_can_come_from_an_entity() -> None:
    entities = [{"$id": "1", "type": "azure-resource", "ResourceId": ACCOUNT, "DeploymentName": "gpt-4o"}]
    res = resolve_resource(_alert(resource_id=None, entities=entities))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)
    assert res.source == "entities[0]"
    assert res.deployment_source == "entities[0].DeploymentName"


def test_deployment_hint_may_be_a_full_arm_id() -> None:
    res = resolve_resource(_alert(resource_id=ACCOUNT, extended_properties={"Deployment": DEPLOYMENT}))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)


def test_deployment_hint_for_another_account_is_ignored_with_a_note() -> None:
    other = deployment_resource_id("other-account", "gpt-4o")
    res = resolve_resource(_alert(resource_id=ACCOUNT, extended_properties={"Deployment": other}))
    assert res.resource == AccountId.parse(ACCOUNT)
    assert any("does not name a deployment" in n for n in res.notes)


def test_invalid_deployment_name_leaves_the_account_with_a_note() -> None:
    res = resolve_resource(_alert(resource_id=ACCOUNT, extended_properties={"DeploymentName": "bad/name"}))
    assert res.resource == AccountId.parse(ACCOUNT)
    assert any("deployment name" in n for n in res.notes)


def test_azure_resource_entity_is_used_when_no_identifier_names_an_ai_resource() -> None:
    vm = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
    entities = [{"$id": "1", "Type": "azure-resource", "resourceId": DEPLOYMENT}]
    res = resolve_resource(_alert(resource_id=vm, entities=entities))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)
    assert res.source == "entities[0]"
    assert any("not a Cognitive Services account" in n for n in res.notes)


def test_compromised_entity_arm_id_is_the_last_resort() -> None:
    res = resolve_resource(_alert(resource_id=None, compromised_entity=ACCOUNT))
    assert res.resource == AccountId.parse(ACCOUNT)
    assert res.source == "compromised_entity"


def test_workflow_azure_resource_id_is_read() -> None:
    alert = make_alert("AI.Azure_ASCIISmuggling", "workflow_automation", resource_id=DEPLOYMENT)
    alert["ResourceIdentifiers"] = []
    outcome = normalize(alert, source="t", max_bytes=MAX)
    assert isinstance(outcome, Accepted)
    assert outcome.finding.resource == DeploymentId.parse(DEPLOYMENT)


def test_later_deployment_of_the_same_account_refines_an_account_answer() -> None:
    entities = [{"$id": "1", "type": "azure-resource", "ResourceId": DEPLOYMENT}]
    res = resolve_resource(_alert(resource_id=ACCOUNT, entities=entities))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)


def test_a_second_account_is_noted_and_the_first_kept() -> None:
    entities = [{"$id": "1", "type": "azure-resource", "ResourceId": account_resource_id("other-account")}]
    res = resolve_resource(_alert(resource_id=DEPLOYMENT, entities=entities))
    assert res.resource == DeploymentId.parse(DEPLOYMENT)
    assert any("another account" in n for n in res.notes)


def test_foundry_project_sub_resource_resolves_to_its_account() -> None:
    res = resolve_resource(_alert(resource_id=ACCOUNT + "/projects/agents-proj"))
    assert res.resource == AccountId.parse(ACCOUNT)
    assert any("projects/agents-proj" in n for n in res.notes)


@pytest.mark.parametrize(
    "bad",
    [
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/",
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/-x",
        "/providers/Microsoft.CognitiveServices/accounts/a1",
        "contoso-openai",
        "",
    ],
)
def test_bad_resource_ids_leave_the_finding_without_resource(bad: str) -> None:
    outcome = normalize(
        make_alert("AI.Azure_ASCIISmuggling", "rest_resource", resource_id=bad, compromised_entity="x"),
        source="t",
        max_bytes=MAX,
    )
    assert isinstance(outcome, Accepted), outcome
    assert outcome.finding.resource is None


def test_bad_cognitive_services_id_is_explained_in_the_notes() -> None:
    bad = "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1"
    res = resolve_resource(_alert(resource_id=bad))
    assert res.resource is None
    assert any("is not a GUID" in n for n in res.notes)
