"""Least privilege, asserted on the parsed templates.

Rules: the custom role carries exactly the actions Warden uses; no wildcard actions; no broad
built-in roles (Owner, Contributor, ...) anywhere; every built-in role is assigned on ONE resource
of the type it is meant for (never a resource group or subscription); the only subscription-scope
assignment is the custom role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep import INFRA, Resource, bicep_files, declared_type, parse, rel, resources

# The exact control-plane actions Warden performs (docs/deploy.md, "Role grants").
WARDEN_ACTIONS = {
    "Microsoft.CognitiveServices/accounts/read",
    "Microsoft.CognitiveServices/accounts/write",
    "Microsoft.CognitiveServices/accounts/listKeys/action",
    "Microsoft.CognitiveServices/accounts/regenerateKey/action",
    "Microsoft.CognitiveServices/accounts/deployments/read",
    "Microsoft.CognitiveServices/accounts/deployments/write",
    "Microsoft.CognitiveServices/accounts/deployments/delete",
    "Microsoft.CognitiveServices/accounts/raiPolicies/read",
    "Microsoft.CognitiveServices/accounts/raiPolicies/write",
    "Microsoft.Insights/diagnosticSettings/read",
    "Microsoft.Security/pricings/read",
    "Microsoft.ResourceGraph/resources/read",
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
}

# Built-in roles Warden may hold, and the ONE resource type each may be assigned on.
ALLOWED_BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Microsoft.Storage/storageAccounts",  # Storage Blob Data Owner
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Microsoft.Storage/storageAccounts",  # Storage Queue Data Contributor
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Microsoft.Storage/storageAccounts",  # Storage Table Data Contributor
    # Storage Blob Data Contributor: Event Grid dead-letter writers, on the container only
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Microsoft.KeyVault/vaults",  # Key Vault Secrets Officer
    "73c42c96-874c-492b-b04d-ab87d138a893": "Microsoft.OperationalInsights/workspaces",  # Log Analytics Reader
    "d5a91429-5739-47e2-a06b-3470a27159e7": "Microsoft.EventGrid/topics",  # EventGrid Data Sender
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": "Microsoft.EventHub/namespaces/eventhubs",  # Event Hubs Data Receiver
    "3913510d-42f4-4e42-8a64-420c390055eb": "Microsoft.Insights/components",  # Monitoring Metrics Publisher
}

FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68": "Cognitive Services Contributor",
    "a97b65f3-24c7-4388-baec-2e87135dc908": "Cognitive Services User",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
}

SUBSCRIPTION_SCOPE_FILE = "modules/monitored-subscription-rbac.bicep"


def _role_definitions() -> list[Resource]:
    return resources("Microsoft.Authorization/roleDefinitions")


def _role_assignments() -> list[Resource]:
    return resources("Microsoft.Authorization/roleAssignments")


def _permissions(role: Resource) -> list[dict[str, Any]]:
    perms = role.resolve(role.properties["permissions"])
    assert isinstance(perms, list)
    return [{key: role.resolve(value) for key, value in entry.items()} for entry in perms]


def test_there_is_exactly_one_custom_role() -> None:
    roles = _role_definitions()
    assert [(rel(r.file), r.symbol) for r in roles] == [("main.bicep", "responderRole")]
    assert roles[0].properties["type"] == "CustomRole"


def test_custom_role_has_exactly_the_actions_warden_uses() -> None:
    (role,) = _role_definitions()
    (perms,) = _permissions(role)
    assert sorted(perms["actions"]) == sorted(WARDEN_ACTIONS)
    assert len(perms["actions"]) == len(set(perms["actions"])), "duplicate actions"


def test_custom_role_has_no_data_actions_or_exclusions() -> None:
    (role,) = _role_definitions()
    (perms,) = _permissions(role)
    assert perms["dataActions"] == []
    assert perms["notActions"] == []
    assert perms["notDataActions"] == []


def test_no_role_definition_uses_a_wildcard_action() -> None:
    for role in _role_definitions():
        for perms in _permissions(role):
            for kind in ("actions", "dataActions"):
                for action in perms.get(kind, []):
                    assert "*" not in action, f"{rel(role.file)}:{role.symbol} {kind} has wildcard {action!r}"


def test_custom_role_grants_no_authorization_writes() -> None:
    (role,) = _role_definitions()
    (perms,) = _permissions(role)
    assert not [a for a in perms["actions"] if a.lower().startswith("microsoft.authorization/")]
    writes = {a for a in perms["actions"] if a.endswith(("/write", "/delete", "/action"))}
    assert all(a.startswith("Microsoft.CognitiveServices/accounts/") for a in writes), writes


def test_custom_role_is_assignable_only_in_monitored_subscriptions() -> None:
    (role,) = _role_definitions()
    scopes = role.properties["assignableScopes"]
    assert scopes["loop_type"]["detail"]["array_name"] == "monitored"
    assert scopes["config"] == "/subscriptions/${subscriptionId}"


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_no_broad_built_in_role_appears_anywhere(path: Path) -> None:
    text = path.read_text(encoding="utf-8").lower()
    for guid, name in FORBIDDEN_ROLES.items():
        assert guid not in text, f"{rel(path)} references {name} ({guid})"


def test_no_broad_built_in_role_appears_in_parameters_or_hooks() -> None:
    for path in [INFRA / "main.parameters.json", *INFRA.glob("hooks/*")]:
        text = path.read_text(encoding="utf-8").lower()
        for guid, name in FORBIDDEN_ROLES.items():
            assert guid not in text, f"{path.name} references {name}"


def _role_guid(assignment: Resource) -> str:
    value = assignment.resolve(assignment.properties["roleDefinitionId"])
    assert isinstance(value, str), f"{rel(assignment.file)}:{assignment.symbol}: unresolved roleDefinitionId {value!r}"
    return value.lower()


@pytest.mark.parametrize(
    "assignment",
    [a for a in _role_assignments() if rel(a.file) != SUBSCRIPTION_SCOPE_FILE],
    ids=lambda a: f"{rel(a.file)}:{a.symbol}",
)
def test_built_in_role_is_assigned_on_one_resource_of_its_type(assignment: Resource) -> None:
    guid = _role_guid(assignment)
    assert guid in ALLOWED_BUILT_IN_ROLES, f"{assignment.symbol}: role {guid} is not on the allowed list"
    scope = assignment.body.get("scope")
    assert isinstance(scope, str), f"{assignment.symbol}: no resource scope (would default to the resource group)"
    scope_type = declared_type(assignment.file, scope)
    assert scope_type is not None, f"{assignment.symbol}: scope {scope!r} is not a resource declared in the file"
    assert scope_type.lower() == ALLOWED_BUILT_IN_ROLES[guid].lower(), (
        f"{assignment.symbol}: role {guid} scoped to {scope_type}, expected {ALLOWED_BUILT_IN_ROLES[guid]}"
    )


def test_only_the_custom_role_is_assigned_at_subscription_scope() -> None:
    doc = parse(INFRA / SUBSCRIPTION_SCOPE_FILE)
    assert doc["globals"]["scope"]["value"] == "subscription"
    (assignment,) = [a for a in _role_assignments() if rel(a.file) == SUBSCRIPTION_SCOPE_FILE]
    assert assignment.properties["roleDefinitionId"] == "roleDefinitionId"
    module = parse(INFRA / "main.bicep")["modules"]["monitoredScope"]
    params = module["config"]["config"]["params"]
    accessor = params["roleDefinitionId"]["operator"]["operands"]
    assert accessor == {"operand_1": "responderRole", "operand_2": "id"}


def test_role_assignments_name_their_principal_type_and_purpose() -> None:
    for assignment in _role_assignments():
        props = assignment.properties
        assert props.get("principalType") in {"ServicePrincipal", "User"}, assignment.symbol
        assert len(str(props.get("description", ""))) > 20, f"{assignment.symbol}: say why the grant exists"


def test_warden_identity_holds_the_expected_grants() -> None:
    granted = {_role_guid(a) for a in _role_assignments() if rel(a.file) != SUBSCRIPTION_SCOPE_FILE}
    assert granted == set(ALLOWED_BUILT_IN_ROLES)


def test_key_vault_uses_rbac_not_access_policies() -> None:
    (vault,) = resources("Microsoft.KeyVault/vaults")
    assert vault.properties["enableRbacAuthorization"] is True
    assert "accessPolicies" not in vault.properties
    assert not resources("Microsoft.KeyVault/vaults/accessPolicies")
