"""The field reference of ``docs/policy.md``, generated from the policy's JSON Schema.

The schema's descriptions come from the attribute docstrings in ``schema.py``, so the reference
cannot drift from the code: a test regenerates it and compares it with the committed document.
"""

from __future__ import annotations

import json
from typing import Any

from shared.policy.durations import DURATION_PATTERN
from shared.policy.schema import policy_json_schema

__all__ = ["BEGIN_MARKER", "END_MARKER", "reference_markdown", "schema_field_names", "splice_reference"]

BEGIN_MARKER = "<!-- BEGIN GENERATED REFERENCE: python -m shared.policy.cli reference --write docs/policy.md -->"
END_MARKER = "<!-- END GENERATED REFERENCE -->"


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{_ref_name(prop['$ref'])}](#{_ref_name(prop['$ref']).lower()})"
    if "anyOf" in prop:
        options = [_type_of(option) for option in prop["anyOf"] if option.get("type") != "null"]
        nullable = any(option.get("type") == "null" for option in prop["anyOf"])
        text = " or ".join(dict.fromkeys(options))
        return text + (" (or null)" if nullable else "")
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{value}`" for value in prop["enum"])
    if prop.get("pattern") == DURATION_PATTERN:
        return "duration"
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if kind == "object":
        values: Any = prop.get("additionalProperties") or next(iter(prop.get("patternProperties", {}).values()), {})
        return f"mapping of name to {_type_of(values) if isinstance(values, dict) else 'any'}"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if prop.get("format") == "uuid":
        return "GUID"
    return str(kind or "any")


def _default_of(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in prop:
        return "its defaults" if "$ref" in prop else ""
    default = prop["default"]
    if isinstance(default, dict) and len(json.dumps(default)) > 60:
        return "see below"
    return f"`{json.dumps(default, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(name: str, schema: dict[str, Any], heading: str) -> list[str]:
    lines = [f"### {heading}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        lines.append(
            f"| `{field}` | {_type_of(prop)} | {_default_of(prop, field in required)} | "
            f"{_cell(prop.get('description', ''))} |"
        )
    lines.append("")
    return lines


def _model_order(schema: dict[str, Any]) -> list[str]:
    """Definitions in the order they are first referenced from the top level (breadth first)."""
    defs = schema.get("$defs", {})
    order: list[str] = []
    queue = [schema]
    while queue:
        node = queue.pop(0)
        for ref in _refs(node.get("properties", {})):
            if ref not in order and ref in defs and "properties" in defs[ref]:
                order.append(ref)
                queue.append(defs[ref])
    return order


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(_ref_name(node["$ref"]))
        for value in node.values():
            found += _refs(value)
    elif isinstance(node, list):
        for item in node:
            found += _refs(item)
    return found


def reference_markdown() -> str:
    """The generated reference: one table per object of the schema, top level first."""
    schema = policy_json_schema()
    lines = [BEGIN_MARKER, "", "## Field reference", ""]
    lines += [
        "Generated from the schema (`shared/policy/schema.py`); durations are written `30m`, `4h`, "
        "`1h30m`, `14d`, `2w` or ISO-8601 (`PT30M`, `P14D`).",
        "",
    ]
    lines += _section("Policy", schema, "Policy (top level)")
    for name in _model_order(schema):
        lines += _section(name, schema["$defs"][name], name)
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def splice_reference(document: str) -> str:
    """``document`` with the text between the markers replaced by the current reference."""
    start = document.find(BEGIN_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError("the document has no generated-reference markers")
    tail = document[end + len(END_MARKER) :].removeprefix("\n")
    return document[:start] + reference_markdown() + tail


def schema_field_names() -> set[str]:
    """Every field name anywhere in the policy schema."""
    schema = policy_json_schema()
    names = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        names |= set(definition.get("properties", {}))
    return names
