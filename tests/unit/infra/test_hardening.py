"""Transport, authentication and identity settings, asserted on the parsed templates."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import AliasChoices

from shared.settings import WardenSettings
from tests.unit.infra.bicep import INFRA, REPO, Resource, parse, resources

FUNCTIONAPP = INFRA / "modules" / "functionapp.bicep"


def _one(resource_type: str) -> Resource:
    found = resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {[r.symbol for r in found]}"
    return found[0]


def _app_settings() -> dict[str, Any]:
    doc = parse(FUNCTIONAPP)
    settings: dict[str, Any] = {}
    for name in ("baseSettings", "teamsSettings", "eventHubSettings", "authSettings"):
        value = doc["variables"][name]["value"]
        if isinstance(value, dict) and "operator" in value:  # cond ? {} : {...}
            value = value["operator"]["operands"]["false_value"]
        settings.update(value)
    return settings


def _settings_aliases() -> set[str]:
    aliases: set[str] = set()
    for field in WardenSettings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            aliases.update(str(choice) for choice in alias.choices)
        elif alias is not None:
            aliases.add(str(alias))
    return aliases


# --- storage ------------------------------------------------------------------------------------


def test_storage_disables_shared_key_and_public_blob_access() -> None:
    props = _one("Microsoft.Storage/storageAccounts").properties
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True


def test_storage_requires_https_and_tls12() -> None:
    props = _one("Microsoft.Storage/storageAccounts").properties
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] == "TLS1_2"


def test_storage_has_private_deployment_and_dead_letter_containers() -> None:
    containers = resources("Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {c.symbol for c in containers} == {"deploymentContainer", "deadLetterContainer"}
    assert all(c.properties["publicAccess"] == "None" for c in containers)


def test_no_template_reads_storage_account_keys() -> None:
    for path in INFRA.rglob("*.bicep"):
        text = path.read_text(encoding="utf-8")
        assert "AccountKey=" not in text, path.name
        storage_list_keys = re.search(r"storage\w*\.listKeys\(", text, re.IGNORECASE)
        assert storage_list_keys is None, f"{path.name} lists storage account keys"


# --- function app -------------------------------------------------------------------------------


def test_function_app_runs_on_flex_consumption_python_311() -> None:
    plan = _one("Microsoft.Web/serverfarms")
    assert plan.body["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.properties["reserved"] is True
    site = _one("Microsoft.Web/sites")
    assert site.body["kind"] == "functionapp,linux"
    assert site.properties["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}


def test_function_app_has_a_system_assigned_identity() -> None:
    assert _one("Microsoft.Web/sites").body["identity"] == {"type": "SystemAssigned"}


def test_function_app_is_https_only_with_tls12_and_no_ftp() -> None:
    site = _one("Microsoft.Web/sites").properties
    assert site["httpsOnly"] is True
    config = site["siteConfig"]
    assert config["minTlsVersion"] == "1.2"
    assert config["scmMinTlsVersion"] == "1.2"
    assert config["ftpsState"] == "Disabled"
    assert config["remoteDebuggingEnabled"] is False


def test_basic_publishing_credentials_are_disabled() -> None:
    policies = resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p.body["name"] for p in policies} == {"ftp", "scm"}
    assert all(p.properties["allow"] is False for p in policies)


def test_deployment_package_is_read_with_the_managed_identity() -> None:
    storage = _one("Microsoft.Web/sites").properties["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "SystemAssignedIdentity"}


def test_host_storage_is_identity_based() -> None:
    settings = _app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage__accountName" in settings
    assert "AzureWebJobsStorage" not in settings, "a connection string would need shared keys"


def test_flex_consumption_settings_are_not_set_as_app_settings() -> None:
    settings = _app_settings()
    for name in ("FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"):
        assert name not in settings, f"{name} is configured through functionAppConfig on Flex Consumption"


def test_app_settings_cover_what_warden_reads() -> None:
    settings = _app_settings()
    for name in (
        "WARDEN_TASK_HUB",
        "WARDEN_SUBSCRIPTION_IDS",
        "WARDEN_LOG_ANALYTICS_WORKSPACE_ID",
        "WARDEN_IDENTITY_PRINCIPAL_ID",
        "WARDEN_TABLES_ENDPOINT",
        "WARDEN_NOTIFY_TOPIC_ENDPOINT",
        "WARDEN_APPROVER_ROLE",
        "WARDEN_LINK_SIGNING_KEY",
        "WARDEN_PUBLIC_BASE_URL",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    ):
        assert name in settings, f"app setting {name} is missing"


def test_every_warden_app_setting_is_one_shared_settings_declares() -> None:
    aliases = _settings_aliases()
    # WARDEN_EVENTHUB* are the Event Hubs trigger's identity-based connection, read by the host.
    unknown = {
        name
        for name in _app_settings()
        if name.startswith("WARDEN_") and not name.startswith("WARDEN_EVENTHUB") and name not in aliases
    }
    assert not unknown, f"app settings shared/settings.py does not declare: {sorted(unknown)}"


def test_host_json_task_hub_setting_is_provided() -> None:
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    hub = host["extensions"]["durableTask"]["hubName"]
    assert hub == "%WARDEN_TASK_HUB%"
    assert "WARDEN_TASK_HUB" in _app_settings()


def test_secrets_reach_the_app_as_key_vault_references() -> None:
    settings = _app_settings()
    doc = parse(FUNCTIONAPP)
    assert doc["variables"]["keyVaultRef"]["value"] == "@Microsoft.KeyVault(SecretUri={0})"
    for name in ("WARDEN_LINK_SIGNING_KEY", "WARDEN_TEAMS_WEBHOOK_URL", "MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"):
        value = settings[name]
        assert value["function"]["type"] == "format", name
        assert value["function"]["parameters"]["format_string"] == "keyVaultRef", name
    assert "WARDEN_NOTIFY_TOPIC_KEY" not in settings, "publish with the managed identity, not a topic key"
    assert "WARDEN_TABLES_CONNECTION_STRING" not in settings, "Azurite-only setting"


def test_application_insights_uses_entra_auth() -> None:
    component = _one("Microsoft.Insights/components")
    assert component.properties["DisableLocalAuth"] is True
    assert component.properties["WorkspaceResourceId"]  # workspace-based
    assert _app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"


# --- App Service Authentication -----------------------------------------------------------------


def test_easy_auth_requires_sign_in_except_event_grid_and_health() -> None:
    configs = {c.body["name"]: c for c in resources("Microsoft.Web/sites/config")}
    auth = configs["authsettingsV2"]
    validation = auth.properties["globalValidation"]
    assert validation["requireAuthentication"] is True
    assert set(validation["excludedPaths"]) == {"/api/health", "/runtime/webhooks/eventgrid"}
    assert not any(path.startswith("/api/approval") for path in validation["excludedPaths"])
    assert auth.properties["httpSettings"]["requireHttps"] is True
    assert auth.properties["identityProviders"]["azureActiveDirectory"]["enabled"] is True


# --- key vault, topics, event hub ---------------------------------------------------------------


def test_key_vault_has_soft_delete_and_purge_protection() -> None:
    props = _one("Microsoft.KeyVault/vaults").properties
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] >= 7


def test_secrets_have_content_type_and_expiry() -> None:
    for secret in resources("Microsoft.KeyVault/vaults/secrets"):
        assert secret.properties["contentType"], secret.symbol
        assert secret.properties["attributes"]["exp"], secret.symbol


def test_custom_topics_accept_only_entra_publishers_over_tls12() -> None:
    topic = _one("Microsoft.EventGrid/topics")
    assert topic.properties["disableLocalAuth"] is True
    assert topic.properties["minimumTlsVersionAllowed"] == "1.2"


def test_both_custom_topics_come_from_the_hardened_module() -> None:
    modules = parse(INFRA / "main.bicep")["modules"]
    topics = {name for name, m in modules.items() if m["detail"]["path"] == "modules/eventgrid-topic.bicep"}
    assert topics == {"defenderTopic", "notifyTopic"}


def test_event_hub_namespace_requires_tls12_and_only_a_send_rule_exists() -> None:
    namespace = _one("Microsoft.EventHub/namespaces")
    assert namespace.properties["minimumTlsVersion"] == "1.2"
    rules = resources("Microsoft.EventHub/namespaces/eventhubs/authorizationRules")
    assert [r.properties["rights"] for r in rules] == [["Send"]]
    assert not resources("Microsoft.EventHub/namespaces/authorizationRules"), "no namespace-wide SAS rules"


def test_logic_app_publishes_with_its_managed_identity() -> None:
    logic = _one("Microsoft.Logic/workflows")
    assert logic.body["identity"] == {"type": "SystemAssigned"}
    action = logic.properties["definition"]["actions"]["Publish_to_Warden_topic"]
    assert action["inputs"]["authentication"] == {
        "type": "ManagedServiceIdentity",
        "audience": "https://eventgrid.azure.net",
    }
