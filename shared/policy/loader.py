"""Loading a policy file: YAML with line numbers -> validated ``Policy`` or one ``PolicyError``.

Every problem is reported as ``FILE:LINE: PATH: MESSAGE``, e.g.::

    policy.yaml:41: rules[2].playbook: 'quarantine' is not a defined playbook (defined: notify, ...)

Structural problems (unknown fields, wrong types, bad durations) are all reported together; the
cross-field checks (``schema.policy_problems``) run once the structure is valid.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.policy.errors import PolicyError, PolicyProblem
from shared.policy.schema import Policy, policy_problems
from shared.policy.yamlsource import LineIndex, Path, YamlReadError, read_yaml

__all__ = ["MAX_POLICY_BYTES", "load_policy", "parse_policy"]

MAX_POLICY_BYTES = 1_048_576
"""Larger policy files are refused unread (a real policy is a few kilobytes)."""

_INPUT_SHOWN = 80
_QUOTED = re.compile(r"'([^']*)'")


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read, parse and validate the policy file at ``path``.

    Raises ``PolicyError`` listing every problem (unreadable or oversized file, YAML syntax,
    schema and cross-field problems), each with its line where one applies.
    """
    fs_path = FsPath(path)
    source = fs_path.name or str(fs_path)
    try:
        with fs_path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError([PolicyProblem(source, None, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError([_too_large(source)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyError([PolicyProblem(source, line, "", "the file is not valid UTF-8 text")]) from None
    return parse_policy(text, source=source)


def parse_policy(text: str, *, source: str = "policy.yaml") -> Policy:
    """Parse and validate policy YAML ``text``; ``source`` names it in messages.

    Raises ``PolicyError`` like ``load_policy``. Never raises anything else for any text.
    """
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_POLICY_BYTES:
        raise PolicyError([_too_large(source)])
    try:
        data, lines = read_yaml(text)
    except YamlReadError as exc:
        raise PolicyError([PolicyProblem(source, p.line, _dotted(p.path), p.message) for p in exc.problems]) from None
    if not isinstance(data, dict):
        shown = "a list" if isinstance(data, list) else f"the value {_shown(data)}"
        raise PolicyError(
            [PolicyProblem(source, lines.line_of(()), "", f"expected a mapping with 'version: 1', got {shown}")]
        )
    try:
        policy = Policy.model_validate(data, context={"defer_cross_field_checks": True})
    except ValidationError as exc:
        raise PolicyError([_from_pydantic(error, data, lines, source) for error in exc.errors()]) from None
    problems = [
        PolicyProblem(source, lines.line_of(path), _dotted(path), message) for path, message in policy_problems(policy)
    ]
    if problems:
        raise PolicyError(problems)
    return policy


def _too_large(source: str) -> PolicyProblem:
    return PolicyProblem(
        source, None, "", f"the file is larger than {MAX_POLICY_BYTES} bytes; refusing to read a policy that big"
    )


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace("-", "").replace("_", "").isalnum():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= _INPUT_SHOWN else text[: _INPUT_SHOWN - 3] + "..."


def _locate(data: Any, loc: tuple[int | str, ...]) -> tuple[Path, Path]:
    """Split a pydantic error location into (path present in the data, full display path).

    Pydantic adds internal steps to locations (union members, ``[key]`` for dict keys, validator
    names); they are dropped. A trailing name that is not in the data (a missing field) is
    kept for display only.
    """
    present: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        in_mapping = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_list:
            current = current[part]
            present.append(part)
        elif position == len(loc) - 1 and isinstance(part, str) and not part.startswith(("[", "function-")):
            return tuple(present), (*present, part)
    return tuple(present), tuple(present)


def _from_pydantic(error: Any, data: Any, lines: LineIndex, source: str) -> PolicyProblem:
    loc = tuple(error.get("loc", ()))
    present, shown = _locate(data, loc)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "policy_field":
        field = str(ctx.get("field", ""))
        node = _at(data, present)
        if isinstance(node, dict) and field in node:
            present = (*present, field)
        shown = (*present, field) if present[-1:] != (field,) else present
        message = str(ctx.get("message", error.get("msg", "invalid value")))
    elif kind == "extra_forbidden":
        name = str(shown[-1]) if shown else "?"
        message = f"unknown field {name!r}" + _suggest(name, _allowed_fields(loc[:-1]))
    elif kind == "missing":
        message = "required field is missing"
    elif kind in {"too_short", "too_long"}:
        message = _clean(error.get("msg", "wrong length")).replace("Tuple should", "List should")
    elif kind in {"literal_error", "enum"}:
        message = f"{_clean(error.get('msg', ''))}; got {_shown(given)}"
        if isinstance(given, str):
            message += _suggest(given, _QUOTED.findall(str(error.get("msg", ""))), list_allowed=False)
    elif kind.startswith(("value_error", "assertion_error")):
        message = _clean(error.get("msg", "invalid value"))
    else:
        message = f"{_clean(error.get('msg', 'invalid value'))}; got {_shown(given)}"
    return PolicyProblem(source, lines.line_of(present), _dotted(shown), message)


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _suggest(name: str, allowed: list[str], *, list_allowed: bool = True) -> str:
    if not allowed:
        return ""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return hint + (f" (allowed: {', '.join(allowed)})" if list_allowed else "")


def _allowed_fields(loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the model at ``loc`` (walking the Policy type along the location)."""
    current: Any = Policy
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    model = _model_of(current)
    return list(model.model_fields) if model is not None else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [leaf for arg in typing.get_args(annotation) for leaf in _flatten(arg)]
    return [annotation]


def _step_into(annotation: Any, part: int | str) -> Any:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(str(part))
            if field is not None:
                return field.annotation
            continue
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin in (tuple, list) and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2 and isinstance(part, str):
            return args[1]
    return None
