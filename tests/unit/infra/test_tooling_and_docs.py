"""The tools venv script pins everything, and docs/deploy.md stays in step with the templates."""

from __future__ import annotations

import os
import re

from tests.unit.infra.bicep import INFRA, REPO, parse, suppressions

SCRIPT = REPO / "scripts" / "tools-venv.sh"
DEPLOY_DOC = REPO / "docs" / "deploy.md"


def _pins() -> list[str]:
    text = SCRIPT.read_text(encoding="utf-8")
    block = re.search(r"PINS=\"\$\(cat <<'EOF'\n(?P<pins>.*?)\nEOF", text, re.DOTALL)
    assert block, "scripts/tools-venv.sh: PINS heredoc not found"
    return [line for line in block["pins"].splitlines() if line.strip()]


def test_tools_venv_script_is_executable() -> None:
    assert os.access(SCRIPT, os.X_OK)


def test_tools_venv_pins_every_package_exactly() -> None:
    pins = _pins()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.\-+]+", pin) for pin in pins), pins
    names = [pin.split("==")[0].lower() for pin in pins]
    assert len(names) == len(set(names)), "a package is pinned twice"
    assert "checkov==3.3.30" in pins


def test_tools_venv_installs_without_resolving() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "--no-deps" in text, "the pinned set is installed as is, without a resolver run"
    assert "pip check" in text


def test_deploy_doc_describes_every_parameter() -> None:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    missing = [name for name in parse(INFRA / "main.bicep")["parameters"] if f"`{name}`" not in doc]
    assert not missing, f"docs/deploy.md does not describe: {missing}"


def test_deploy_doc_lists_every_checkov_suppression() -> None:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    for skip in suppressions():
        number = skip.check_id.rsplit("_", 1)[-1]
        assert skip.check_id in doc or re.search(rf"\b{number}\b", doc), f"{skip.check_id} not in docs"


def test_deploy_doc_says_it_was_checked_offline_only() -> None:
    assert "checked offline only" in DEPLOY_DOC.read_text(encoding="utf-8")
