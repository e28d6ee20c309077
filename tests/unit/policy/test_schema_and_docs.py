"""The committed JSON Schema and policy reference are current; categories and kinds stay in sync."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.policy import parse_policy, policy_json_schema
from shared.policy.cli import main, schema_text
from shared.policy.reference import (
    BEGIN_MARKER,
    END_MARKER,
    reference_markdown,
    schema_field_names,
    splice_reference,
)
from shared.policy.schema import ALERT_CATEGORIES, KNOWN_FINDING_KINDS

from .conftest import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "shared/policy/policy.schema.json"
DOCS = REPO_ROOT / "docs/policy.md"
REGENERATE = "python -m shared.policy.cli schema --write shared/policy/policy.schema.json"


def test_committed_json_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), f"regenerate it: {REGENERATE}"


def test_json_schema_shows_durations_as_users_write_them() -> None:
    approvals = policy_json_schema()["$defs"]["ApprovalPolicy"]["properties"]
    assert approvals["timeout"]["default"] == "4h"
    assert approvals["reminder_interval"]["default"] == "30m"


def test_json_schema_forbids_unknown_fields_everywhere() -> None:
    schema = policy_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    objects = [d for d in schema["$defs"].values() if d.get("type") == "object"]
    assert objects
    assert all(d.get("additionalProperties") is False for d in objects)


def test_every_field_has_a_description() -> None:
    schema = policy_json_schema()
    missing = [
        f"{owner}.{name}"
        for owner, definition in [("Policy", schema), *schema["$defs"].items()]
        for name, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


def test_docs_reference_section_is_current() -> None:
    document = DOCS.read_text(encoding="utf-8")
    assert splice_reference(document) == document, (
        "regenerate it: python -m shared.policy.cli reference --write docs/policy.md"
    )


def test_docs_mention_every_schema_field() -> None:
    document = DOCS.read_text(encoding="utf-8")
    generated = set(re.findall(r"^\| `([a-z_]+)` \|", reference_markdown(), flags=re.MULTILINE))
    assert generated == schema_field_names()
    assert generated <= set(re.findall(r"`([a-z_]+)`", document))


def test_docs_full_example_uses_every_field_and_is_a_valid_policy() -> None:
    document = DOCS.read_text(encoding="utf-8")
    example = document.split("<!-- full example -->", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    parse_policy(example)
    used = set(re.findall(r"^[\s-]*([a-z_]+):", example, flags=re.MULTILINE))
    assert sorted(schema_field_names() - used) == []


def test_reference_cannot_be_spliced_into_a_document_without_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        splice_reference("# no markers\n")


def test_cli_writes_the_schema_and_the_reference(tmp_path: Path) -> None:
    schema_path = tmp_path / "schema.json"
    assert main(["schema", "--write", str(schema_path)]) == 0
    assert json.loads(schema_path.read_text(encoding="utf-8")) == policy_json_schema()
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\noutro\n", encoding="utf-8")
    assert main(["reference", "--write", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == "intro\n" + reference_markdown() + "outro\n"


def test_alert_categories_are_those_of_the_alert_catalogue() -> None:
    from shared.alerts import catalogue

    assert set(ALERT_CATEGORIES) == {c.value for c in catalogue.AlertCategory}


def test_known_kinds_are_namespaced_lower_case_identifiers() -> None:
    for kind in KNOWN_FINDING_KINDS:
        assert re.fullmatch(r"(key|anomaly|model|posture):[a-z_]+", kind), kind
