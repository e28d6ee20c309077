"""Safe YAML reading with line numbers, for policy files.

``read_yaml(text)`` returns the document as plain Python data (dicts with string keys, lists,
str/int/float/bool/None) plus a ``LineIndex`` giving the 1-based line of every mapping key and
sequence item, so a validation error can point at the line to fix.

It uses a ``yaml.SafeLoader`` subclass only to *compose* the node graph (no Python objects are
ever constructed from tags), then converts nodes itself, which is where it enforces what plain
YAML lets through silently:

- duplicate keys in one mapping (YAML keeps the last one; here it is an error naming both lines);
- non-string keys, merge keys (``<<``), explicit tags other than the core scalar ones;
- alias "bombs": aliases are expanded, but at most ``MAX_NODES`` nodes are produced in total;
- nesting deeper than ``MAX_DEPTH`` (also stops recursive aliases);
- more than one document, or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "MAX_NODES", "LineIndex", "Path", "YamlProblem", "YamlReadError", "read_yaml"]

MAX_DEPTH = 40
"""Deepest nesting accepted (a policy needs about six levels)."""
MAX_NODES = 50_000
"""Most nodes produced after expanding aliases (a large policy has a few thousand)."""

Path = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem found while reading: 1-based ``line`` (or ``None``), document ``path``, message."""

    line: int | None
    path: Path
    message: str


class YamlReadError(Exception):
    """The text is not a policy-shaped YAML document; ``problems`` says why and where."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass
class LineIndex:
    """1-based line of each path in the document (a key's line for mapping entries)."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _TrackingLoader(yaml.SafeLoader):
    """A SafeLoader that refuses to compose deeper than ``MAX_DEPTH`` levels."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {MAX_DEPTH} levels is not accepted", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def read_yaml(text: str) -> tuple[Any, LineIndex]:
    """Parse one YAML document into plain data and its line index.

    Raises ``YamlReadError`` for syntax errors (with the line), unsupported constructs, and
    documents that break the limits above. Never constructs arbitrary Python objects.
    """
    loader: _TrackingLoader | None = None
    try:
        loader = _TrackingLoader(text)
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise YamlReadError([YamlProblem(line, (), f"YAML syntax error: {message}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(0, int(exc.position))) + 1
        raise YamlReadError([YamlProblem(line, (), f"YAML syntax error: {exc.reason}")]) from None
    except yaml.YAMLError as exc:
        raise YamlReadError([YamlProblem(None, (), f"YAML error: {exc}")]) from None
    except RecursionError:
        raise YamlReadError(
            [YamlProblem(None, (), f"nesting deeper than {MAX_DEPTH} levels is not accepted")]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        raise YamlReadError([YamlProblem(1, (), "the document is empty; expected a mapping with 'version: 1'")])
    converter = _Converter(loader)
    data = converter.convert(root, (), 0)
    if converter.problems:
        raise YamlReadError(converter.problems)
    return data, converter.index


class _BudgetExceededError(Exception):
    pass


class _Converter:
    def __init__(self, loader: _TrackingLoader) -> None:
        self.loader = loader
        self.index = LineIndex()
        self.problems: list[YamlProblem] = []
        self.budget = MAX_NODES

    def convert(self, node: Node, path: Path, depth: int) -> Any:
        self.index.lines.setdefault(path, _line(node))
        try:
            return self._convert(node, path, depth)
        except _BudgetExceededError:
            self.problems = [
                YamlProblem(
                    _line(node),
                    (),
                    f"the document expands to more than {MAX_NODES} nodes (aliases included); "
                    "refusing to expand it further",
                )
            ]
            return None

    def _convert(self, node: Node, path: Path, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _BudgetExceededError
        if depth > MAX_DEPTH:
            self._problem(node, path[:2], f"nesting deeper than {MAX_DEPTH} levels is not accepted")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                self._problem(node, path, f"YAML tag {node.tag!r} is not supported in a policy")
                return None
            items = []
            for position, item in enumerate(node.value):
                item_path = (*path, position)
                self.index.lines[item_path] = _line(item)
                items.append(self._convert(item, item_path, depth + 1))
            return items
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        self._problem(node, path, "unsupported YAML node")  # pragma: no cover - composer makes only these
        return None

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> Any:
        if node.tag != _TAG + "map":
            self._problem(node, path, f"YAML tag {node.tag!r} is not supported in a policy")
            return None
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                self._problem(key_node, path, "YAML merge keys ('<<') are not supported; repeat the fields")
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                self._problem(key_node, path, f"mapping keys must be plain strings; got {shown!r} (quote it if needed)")
                continue
            key = str(key_node.value)
            item_path = (*path, key)
            if key in seen:
                self._problem(
                    key_node,
                    item_path,
                    f"duplicate key {key!r} (first defined on line {seen[key]}); YAML would silently "
                    "keep only the last one",
                )
                continue
            seen[key] = _line(key_node)
            self.index.lines[item_path] = _line(key_node)
            result[key] = self._convert(value_node, item_path, depth + 1)
        return result

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        if node.tag == _TAG + "timestamp":
            return str(node.value)  # dates stay text; no field of a policy is a date
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, path, f"YAML tag {node.tag!r} is not supported in a policy")
            return None
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            self._problem(node, path, f"cannot read the value {str(node.value)[:40]!r}: {exc}")
            return None

    def _problem(self, node: Node, path: Path, message: str) -> None:
        self.problems.append(YamlProblem(_line(node), path, message))
