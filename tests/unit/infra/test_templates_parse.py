"""Every Bicep file under infra/ parses with pycep-parser, and the azd entry points are wired."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.unit.infra.bicep import INFRA, REPO, bicep_files, parse, rel

EXPECTED_MODULES = {
    "main.bicep",
    "modules/defender-intake.bicep",
    "modules/event-subscriptions.bicep",
    "modules/eventgrid-topic.bicep",
    "modules/eventhub.bicep",
    "modules/functionapp.bicep",
    "modules/functionapp-auth.bicep",
    "modules/key-vault-access.bicep",
    "modules/keyvault.bicep",
    "modules/kv-secret.bicep",
    "modules/monitored-subscription-rbac.bicep",
    "modules/monitoring.bicep",
    "modules/rbac.bicep",
    "modules/storage.bicep",
    "modules/workspace-info.bicep",
    "modules/workspace-reader.bicep",
}


def test_infra_holds_the_expected_bicep_files() -> None:
    assert {rel(path) for path in bicep_files()} == EXPECTED_MODULES


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_bicep_file_parses(path: Path) -> None:
    doc = parse(path)
    assert doc["resources"] or doc["modules"] or doc["outputs"], f"{rel(path)} declares nothing"


@pytest.mark.parametrize("path", bicep_files(), ids=rel)
def test_every_local_module_reference_exists(path: Path) -> None:
    for symbol, module in parse(path).get("modules", {}).items():
        target = path.parent / module["detail"]["path"]
        assert target.is_file(), f"{rel(path)}: module {symbol} points at missing {module['detail']['path']}"


def test_main_deploys_at_subscription_scope() -> None:
    assert parse(INFRA / "main.bicep")["globals"]["scope"]["value"] == "subscription"


def test_main_takes_the_azd_convention_parameters() -> None:
    params = parse(INFRA / "main.bicep")["parameters"]
    for name in ("environmentName", "location", "principalId"):
        assert name in params, f"main.bicep lacks the azd parameter {name}"


def test_main_outputs_follow_azd_naming() -> None:
    outputs = parse(INFRA / "main.bicep")["outputs"]
    assert {"AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME"} <= set(outputs)
    assert all(name.isupper() and name.startswith(("AZURE_", "WARDEN_")) for name in outputs), sorted(outputs)


def test_parameters_file_names_only_real_parameters() -> None:
    params = parse(INFRA / "main.bicep")["parameters"]
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(values) <= set(params), sorted(set(values) - set(params))


def test_every_parameter_without_a_default_is_supplied_by_the_parameters_file() -> None:
    params = parse(INFRA / "main.bicep")["parameters"]
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    required = {name for name, spec in params.items() if spec.get("default") is None}
    assert required <= set(values), sorted(required - set(values))


def test_parameters_file_keeps_secrets_out_of_the_repository() -> None:
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    for name in ("linkSigningKey", "authClientSecret", "teamsWebhookUrl"):
        assert values[name]["value"].startswith("${"), f"{name} must come from the azd environment"


def test_azure_yaml_declares_the_warden_function_service() -> None:
    config = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    service = config["services"]["warden"]
    assert service == {"project": ".", "language": "python", "host": "function"}
    assert config["infra"]["path"] == "infra"
    assert config["infra"]["provider"] == "bicep"


def test_postdeploy_hook_exists_and_is_executable() -> None:
    config = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    script = REPO / config["hooks"]["postdeploy"]["posix"]["run"]
    assert script.is_file()
    assert os.access(script, os.X_OK), f"{script} is not executable"


def test_function_package_excludes_infra_and_tooling() -> None:
    ignored = set((REPO / ".funcignore").read_text(encoding="utf-8").split())
    assert {"infra", "scripts", "azure.yaml", "tests"} <= ignored
