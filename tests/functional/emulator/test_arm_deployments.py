"""ARM model deployments and RAI policies, through the real CognitiveServicesManagementClient."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    RaiPolicy,
    RaiPolicyContentFilter,
    RaiPolicyProperties,
    Sku,
)

from tests.functional.emulator.conftest import ACCOUNT_PROD, RG_PROD, SUB_PROD, Env


def _deployment(rai: str | None = None) -> Deployment:
    return Deployment(
        sku=Sku(name="Standard", capacity=5),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="gpt-4o-mini", version="2024-07-18"),
            rai_policy_name=rai,
        ),
    )


def test_list_and_get_deployments(env: Env) -> None:
    deployments = env.clients.cognitive(SUB_PROD).deployments
    names = [d.name for d in deployments.list(RG_PROD, ACCOUNT_PROD)]
    assert names == ["gpt-4o", "text-embedding-3-large"]
    gpt: Any = deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o")
    assert gpt.properties.model.name == "gpt-4o"
    assert gpt.properties.rai_policy_name == "contoso-strict"
    assert gpt.sku.name == "GlobalStandard" and gpt.sku.capacity == 50


def test_create_deployment_polls_until_succeeded(env: Env) -> None:
    deployments = env.clients.cognitive(SUB_PROD).deployments
    poller = deployments.begin_create_or_update(
        RG_PROD, ACCOUNT_PROD, "gpt-4o-mini", _deployment("contoso-strict"), polling_interval=0
    )
    created: Any = poller.result()
    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.rai_policy_name == "contoso-strict"
    assert env.emulator.counts()["status"]["arm.deployments.createOrUpdate"] == {"201": 1}
    fetched: Any = deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o-mini")
    assert fetched.properties.provisioning_state == "Succeeded"


def test_updating_an_existing_deployment_answers_200(env: Env) -> None:
    deployments = env.clients.cognitive(SUB_PROD).deployments
    deployments.begin_create_or_update(
        RG_PROD, ACCOUNT_PROD, "gpt-4o", _deployment("Microsoft.DefaultV2"), polling_interval=0
    ).result()
    assert env.emulator.counts()["status"]["arm.deployments.createOrUpdate"] == {"200": 1}
    fetched: Any = deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o")
    assert fetched.properties.rai_policy_name == "Microsoft.DefaultV2"


def test_create_with_unknown_rai_policy_is_rejected(env: Env) -> None:
    with pytest.raises(HttpResponseError) as info:
        env.clients.cognitive(SUB_PROD).deployments.begin_create_or_update(
            RG_PROD, ACCOUNT_PROD, "bad", _deployment("no-such-policy"), polling_interval=0
        )
    assert info.value.status_code == 400
    assert "no-such-policy" in str(info.value)


def test_failed_create_raises_and_marks_the_deployment_failed(env: Env) -> None:
    env.emulator.inject_fault("arm.deployments.createOrUpdate", "lro_failure", code="InsufficientQuota")
    deployments = env.clients.cognitive(SUB_PROD).deployments
    poller = deployments.begin_create_or_update(RG_PROD, ACCOUNT_PROD, "gpt-4o-mini", _deployment(), polling_interval=0)
    with pytest.raises(HttpResponseError) as info:
        poller.result()
    assert "InsufficientQuota" in str(info.value)
    failed: Any = deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o-mini")
    assert failed.properties.provisioning_state == "Failed"


def test_delete_deployment_polls_until_gone(env: Env) -> None:
    deployments = env.clients.cognitive(SUB_PROD).deployments
    deployments.begin_delete(RG_PROD, ACCOUNT_PROD, "gpt-4o", polling_interval=0).result()
    assert env.emulator.counts()["status"]["arm.deployments.delete"] == {"202": 1}
    with pytest.raises(ResourceNotFoundError):
        deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o")
    assert env.emulator.counts()["arm"][SUB_PROD]["deletes"] == 1


def test_delete_of_absent_deployment_answers_204(env: Env) -> None:
    deployments = env.clients.cognitive(SUB_PROD).deployments
    deployments.begin_delete(RG_PROD, ACCOUNT_PROD, "never-existed", polling_interval=0).result()
    assert env.emulator.counts()["status"]["arm.deployments.delete"] == {"204": 1}
    assert "arm.operations.get" not in env.emulator.counts()["calls"]


def test_failed_delete_raises_and_keeps_the_deployment(env: Env) -> None:
    env.emulator.inject_fault("arm.deployments.delete", "lro_failure", code="DeploymentLocked")
    deployments = env.clients.cognitive(SUB_PROD).deployments
    with pytest.raises(HttpResponseError) as info:
        deployments.begin_delete(RG_PROD, ACCOUNT_PROD, "gpt-4o", polling_interval=0).result()
    assert "DeploymentLocked" in str(info.value)
    kept: Any = deployments.get(RG_PROD, ACCOUNT_PROD, "gpt-4o")
    assert kept.properties.provisioning_state == "Succeeded"


def test_rai_policies_list_get_and_create(env: Env) -> None:
    policies = env.clients.cognitive(SUB_PROD).rai_policies
    names = [p.name for p in policies.list(RG_PROD, ACCOUNT_PROD)]
    assert names == ["Microsoft.Default", "Microsoft.DefaultV2", "contoso-strict"]
    strict: Any = policies.get(RG_PROD, ACCOUNT_PROD, "contoso-strict")
    assert strict.properties.base_policy_name == "Microsoft.DefaultV2"
    assert {f.name for f in strict.properties.content_filters} >= {"Hate", "Violence", "Jailbreak"}
    created = policies.create_or_update(
        RG_PROD,
        ACCOUNT_PROD,
        "contain-lockdown",
        RaiPolicy(
            properties=RaiPolicyProperties(
                base_policy_name="Microsoft.DefaultV2",
                mode="Blocking",
                content_filters=[
                    RaiPolicyContentFilter(
                        name="Hate", enabled=True, blocking=True, severity_threshold="Low", source="Prompt"
                    )
                ],
            )
        ),
    )
    assert created.name == "contain-lockdown"
    fetched: Any = policies.get(RG_PROD, ACCOUNT_PROD, "contain-lockdown")
    assert fetched.properties.content_filters[0].name == "Hate"
