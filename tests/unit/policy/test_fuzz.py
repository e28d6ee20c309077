"""Whatever text it is given, load_policy returns a Policy or raises PolicyError, nothing else."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.policy import Policy, PolicyError, parse_policy
from shared.policy.reference import schema_field_names

from .conftest import SHIPPED_POLICY

SHIPPED_TEXT = SHIPPED_POLICY.read_text(encoding="utf-8")
SHIPPED_DATA = yaml.safe_load(SHIPPED_TEXT)
FIELD_NAMES = sorted(schema_field_names())

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""For examples that parse the whole shipped policy (about 40 ms each)."""


def parses_or_explains(text: str) -> Policy | PolicyError:
    try:
        return parse_policy(text)
    except PolicyError as exc:
        assert exc.problems
        assert all(str(p).startswith("policy.yaml") for p in exc.problems)
        return exc


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    parses_or_explains(text)


YAML_PUNCTUATION = st.sampled_from(
    ["\n", "  ", ": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!", "<<: ", "? ", "|", ">", "'", '"', "#", "---"]
)


@FUZZ
@given(st.lists(st.one_of(YAML_PUNCTUATION, st.sampled_from(FIELD_NAMES), st.text(max_size=5)), max_size=60))
def test_yaml_looking_noise_never_crashes_the_loader(parts: list[str]) -> None:
    parses_or_explains("".join(parts))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["30m", "PT4H", "notify_owners", "jailbreak", "High", "deny", "approve", "*", "key:*"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=10))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


@FUZZ
@given(documents)
def test_arbitrary_structures_give_a_policy_or_line_numbered_errors(document: Any) -> None:
    result = parses_or_explains(yaml.safe_dump(document))
    if isinstance(result, PolicyError) and isinstance(document, dict) and document:
        assert all(p.line is not None for p in result.problems), str(result)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


SHIPPED_PATHS = _paths(SHIPPED_DATA)[1:]


@SLOW_FUZZ
@given(st.sampled_from(SHIPPED_PATHS), st.one_of(scalars, documents))
def test_one_changed_value_in_the_shipped_policy_is_accepted_or_pinpointed(
    path: tuple[Any, ...], replacement: Any
) -> None:
    data = yaml.safe_load(SHIPPED_TEXT)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = replacement
    result = parses_or_explains(yaml.safe_dump(data, sort_keys=False))
    if isinstance(result, PolicyError):
        assert all(p.line is not None for p in result.problems), str(result)


@SLOW_FUZZ
@given(st.data())
def test_line_edits_of_the_shipped_policy_never_crash_the_loader(data: st.DataObject) -> None:
    lines = SHIPPED_TEXT.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        edit = data.draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "truncate"]))
        if edit == "delete":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, lines[index])
        elif edit == "indent":
            lines[index] = "  " + lines[index]
        elif edit == "dedent":
            lines[index] = lines[index].removeprefix("  ")
        else:
            lines[index] = lines[index][: len(lines[index]) // 2] + "\n"
        if not lines:
            break
    parses_or_explains("".join(lines))
