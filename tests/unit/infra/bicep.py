"""Offline reading of Warden's Bicep (infra/) for the infrastructure tests.

Every ``.bicep`` file is parsed with ``pycep-parser`` (``from pycep import BicepParser``), the
same parser checkov uses for Bicep. pycep renders a Bicep document as JSON-like dicts:

- ``resources`` / ``modules`` / ``parameters`` / ``variables`` / ``outputs`` keyed by symbolic name;
- a resource body is ``{"type", "api_version", "existing", "config": {...}}``, where a conditional
  (``if``) or loop (``for``) wraps the real body once more as ``{"condition"/"loop_type", "config"}``;
- identifiers (variables, parameters, symbolic names) appear as bare strings, function calls as
  ``{"function": {"type", "parameters"}}`` and ``a.b`` as a ``property_accessor`` operator.

The helpers below unwrap that shape and resolve the few expressions the tests care about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"


def bicep_files() -> list[Path]:
    """Every Bicep file under infra/, sorted."""
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """The pycep JSON of one Bicep file (cached; raises on a syntax error)."""
    result: dict[str, Any] = BicepParser().parse(text=path.read_text(encoding="utf-8"))  # type: ignore[assignment]
    return result


def rel(path: Path) -> str:
    return path.relative_to(INFRA).as_posix()


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """The resource or module body, with ``if``/``for`` wrappers removed."""
    config: dict[str, Any] = declaration["config"]
    while isinstance(config, dict) and ("condition" in config or "loop_type" in config) and "config" in config:
        config = config["config"]
    return config


def is_conditional(declaration: dict[str, Any]) -> bool:
    config = declaration["config"]
    return isinstance(config, dict) and config.get("condition") is not None


@dataclass(frozen=True)
class Resource:
    """One resource declaration in one file."""

    file: Path
    symbol: str
    type: str
    existing: bool
    body: dict[str, Any]
    conditional: bool

    @property
    def properties(self) -> dict[str, Any]:
        props = self.body.get("properties", {})
        return props if isinstance(props, dict) else {}

    def resolve(self, value: Any) -> Any:
        return resolve(value, parse(self.file))


def resources(resource_type: str | None = None, *, include_existing: bool = False) -> list[Resource]:
    """Resource declarations across infra/ (optionally of one type; ``existing`` ones excluded)."""
    found: list[Resource] = []
    for path in bicep_files():
        for symbol, declaration in parse(path).get("resources", {}).items():
            if declaration.get("existing") and not include_existing:
                continue
            if resource_type is not None and declaration["type"].lower() != resource_type.lower():
                continue
            found.append(
                Resource(
                    file=path,
                    symbol=symbol,
                    type=declaration["type"],
                    existing=bool(declaration.get("existing")),
                    body=body(declaration),
                    conditional=is_conditional(declaration),
                )
            )
    return found


def declared_type(path: Path, symbol: str) -> str | None:
    """The resource type of symbolic name ``symbol`` in ``path`` (existing resources included)."""
    declaration = parse(path).get("resources", {}).get(symbol)
    return None if declaration is None else str(declaration["type"])


def resolve(value: Any, doc: dict[str, Any], depth: int = 0) -> Any:
    """Resolve variable references, ``var.key`` accessors and ``subscriptionResourceId(type, name)``.

    Anything else is returned unchanged (the tests compare literal values).
    """
    if depth > 10:
        return value
    variables = doc.get("variables", {})
    if isinstance(value, str) and value in variables:
        return resolve(variables[value]["value"], doc, depth + 1)
    if isinstance(value, dict) and "operator" in value:
        operator = value["operator"]
        if operator.get("type") == "property_accessor":
            target = resolve(operator["operands"]["operand_1"], doc, depth + 1)
            key = operator["operands"]["operand_2"]
            if isinstance(target, dict) and isinstance(key, str) and key in target:
                return resolve(target[key], doc, depth + 1)
    if isinstance(value, dict) and "function" in value:
        function = value["function"]
        if function.get("type") == "subscription_resource_id":
            params = function["parameters"]
            if params.get("resource_type") == "Microsoft.Authorization/roleDefinitions":
                return resolve(params["resource_name_1"], doc, depth + 1)
    return value


SKIP_RE = re.compile(r"#checkov:skip=(?P<id>CKV2?_[A-Z0-9_]+)(?::(?P<reason>.*))?$")


@dataclass(frozen=True)
class Suppression:
    file: str
    check_id: str
    reason: str
    line: int


def suppressions() -> list[Suppression]:
    """Every inline ``#checkov:skip=ID: reason`` in the Bicep files."""
    found: list[Suppression] = []
    for path in bicep_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_RE.search(line.strip())
            if match:
                found.append(Suppression(rel(path), match["id"], (match["reason"] or "").strip(), number))
    return found
