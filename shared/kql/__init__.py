"""Warden's named KQL queries: one ``.kql`` file per query, rendered with typed parameters.

Each query lives beside this module as ``<name>.kql``. The file starts with the header comment
``// warden-query: <name>`` and declares its parameters with the standard Kusto statement::

    // warden-query: security_alerts
    declare query_parameters(since:datetime, until:datetime);
    SecurityAlert
    | where TimeGenerated >= since and TimeGenerated < until

``render(name, **params)`` returns the text Warden sends: the header kept, and the
``declare query_parameters(...)`` statement replaced by one ``let <p> = <typed literal>;`` line
per parameter, in declaration order.

Resource Graph does not support ``let`` statements (MicrosoftDocs/azure-docs issue #104044: "Azure
Resource Graph doesn't support the let operator"). A query meant for it carries a second header
line ``// warden-target: resourcegraph``; for such a query ``render`` writes each binding as a
comment line ``// let <p> = <literal>;`` (so the text still says what was bound, and the
emulator can read it back) and substitutes the literal for every use of the parameter in the
query body (identifiers outside strings and comments, not after a ``.``).

Values are checked against the declared Kusto types, so a missing, unknown or mistyped
parameter raises ``KqlParameterError`` naming it before anything is sent.
``parse_rendered(text)`` is the inverse, used by the local emulator (which cannot run KQL) to
recover the query name and the parameter values from rendered text.

Supported parameter types and the literals they render to:

==========  ======================================  ==========================================
type        Python value                            literal
==========  ======================================  ==========================================
datetime    timezone-aware ``datetime``             ``datetime(2026-01-02T03:04:05Z)``
timespan    non-negative ``timedelta``              ``time(1.02:03:04)`` (fraction if needed)
real        ``float`` or ``int``                    ``real(1.5)``, ``real(nan)``, ``real(+inf)``
long, int   ``int`` (not ``bool``)                  ``long(42)``, ``int(42)``
bool        ``bool``                                ``true`` / ``false``
string      ``str``                                 ``"a \\"quoted\\" value"``
guid        ``uuid.UUID`` or GUID ``str``           ``guid(00000000-0000-0000-0000-000000000000)``
dynamic     JSON-serialisable value                 ``dynamic(["OpenAI","AIServices"])``
==========  ======================================  ==========================================

Declared defaults (``kinds:dynamic = dynamic(["OpenAI"])``) make a parameter optional; they
must be written in the literal forms above.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "HEADER_PREFIX",
    "TARGETS",
    "KqlError",
    "KqlParameterError",
    "NamedQuery",
    "Parameter",
    "QueryNotFoundError",
    "RenderedQuery",
    "UnnamedQueryError",
    "format_literal",
    "list_queries",
    "load",
    "parse_literal",
    "parse_rendered",
    "render",
]

HEADER_PREFIX = "// warden-query:"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_RE = re.compile(r"^\s*//\s*warden-query:\s*(\S+)\s*$")
_TARGET_RE = re.compile(r"^\s*//\s*warden-target:\s*(\S+)\s*$", re.MULTILINE)
TARGETS = ("loganalytics", "resourcegraph")
_LET_RE = re.compile(r"^(?://\s*)?let\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*);\s*$")
_DECLARE_RE = re.compile(r"\bdeclare\s+query_parameters\s*\(", re.IGNORECASE)

TYPES = ("datetime", "timespan", "real", "long", "int", "bool", "string", "guid", "dynamic")
_TYPE_ALIASES = {"double": "real", "date": "datetime", "time": "timespan", "boolean": "bool", "uuid": "guid"}


class KqlError(ValueError):
    """Base class of every error raised by this module."""


class QueryNotFoundError(KqlError):
    """No ``<name>.kql`` file ships with Warden for the requested name."""


class UnnamedQueryError(KqlError):
    """A query text has no ``// warden-query: <name>`` header on its first line."""


class KqlParameterError(KqlError):
    """A parameter is missing, unknown, of the wrong type, or not representable as a literal."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One declared query parameter: its name, Kusto type, and optional default value."""

    name: str
    type: str
    has_default: bool = False
    default: Any = None


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A query file as loaded: its name, declared parameters and full text."""

    name: str
    parameters: tuple[Parameter, ...]
    text: str
    declare_span: tuple[int, int]
    """Character span of the ``declare query_parameters(...);`` statement in ``text``."""
    target: str = "loganalytics"
    """Where the query runs: ``loganalytics`` (default) or ``resourcegraph`` (header ``// warden-target:``)."""

    def parameter(self, name: str) -> Parameter | None:
        """The declared parameter called ``name``, or ``None``."""
        for param in self.parameters:
            if param.name == name:
                return param
        return None


@dataclass(frozen=True, slots=True)
class RenderedQuery:
    """What ``parse_rendered`` recovers from a rendered text: the name and typed parameter values."""

    name: str
    params: dict[str, Any]


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def list_queries() -> list[str]:
    """Names of every query shipped with Warden (the ``.kql`` files beside this module)."""
    root = resources.files(__name__)
    return sorted(entry.name.removesuffix(".kql") for entry in root.iterdir() if entry.name.endswith(".kql"))


@lru_cache(maxsize=64)
def load(name: str) -> NamedQuery:
    """Load and check the query file ``<name>.kql``.

    Raises ``QueryNotFoundError`` when no such file ships, and ``KqlError`` when the file's
    header or ``declare query_parameters`` statement is malformed.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise QueryNotFoundError(f"invalid query name {name!r}: expected lowercase letters, digits and _")
    resource = resources.files(__name__).joinpath(f"{name}.kql")
    if not resource.is_file():
        raise QueryNotFoundError(
            f"unknown query {name!r}: no {name}.kql in shared/kql (known: {', '.join(list_queries())})"
        )
    text = resource.read_text(encoding="utf-8")
    return _parse_query_file(name, text)


def _parse_query_file(name: str, text: str) -> NamedQuery:
    first_line = text.split("\n", 1)[0]
    match = _HEADER_RE.match(first_line)
    if match is None:
        raise KqlError(f"{name}.kql: the first line must be '{HEADER_PREFIX} {name}'")
    if match.group(1) != name:
        raise KqlError(f"{name}.kql: header names {match.group(1)!r}, expected {name!r}")
    target_match = _TARGET_RE.search(text)
    target = target_match.group(1).lower() if target_match else "loganalytics"
    if target not in TARGETS:
        raise KqlError(f"{name}.kql: unknown warden-target {target!r}; expected one of {', '.join(TARGETS)}")
    found = _DECLARE_RE.search(text)
    if found is None:
        return NamedQuery(name, (), text, (len(first_line) + 1, len(first_line) + 1), target)
    start = found.start()
    open_paren = found.end() - 1
    close_paren = _matching_paren(text, open_paren)
    if close_paren is None:
        raise KqlError(f"{name}.kql: unbalanced parentheses in declare query_parameters")
    rest = text[close_paren + 1 :]
    stripped = rest.lstrip()
    if not stripped.startswith(";"):
        raise KqlError(f"{name}.kql: declare query_parameters(...) must end with ';'")
    end = close_paren + 1 + (len(rest) - len(stripped)) + 1
    params: list[Parameter] = []
    seen: set[str] = set()
    for raw in _split_top_level(text[open_paren + 1 : close_paren]):
        param = _parse_declaration(name, raw)
        if param.name in seen:
            raise KqlError(f"{name}.kql: parameter {param.name!r} is declared twice")
        seen.add(param.name)
        params.append(param)
    return NamedQuery(name, tuple(params), text, (start, end), target)


def _parse_declaration(query: str, raw: str) -> Parameter:
    head, sep, default_text = raw.partition("=")
    pname, colon, ptype = head.partition(":")
    pname, ptype = pname.strip(), ptype.strip().lower()
    if not colon or not _IDENT_RE.match(pname):
        raise KqlError(f"{query}.kql: malformed parameter declaration {raw.strip()!r}; expected name:type")
    ptype = _TYPE_ALIASES.get(ptype, ptype)
    if ptype not in TYPES:
        raise KqlError(f"{query}.kql: parameter {pname!r} has unsupported type {ptype!r}")
    if not sep:
        return Parameter(pname, ptype)
    try:
        default = parse_literal(ptype, default_text.strip())
    except KqlParameterError as exc:
        raise KqlError(f"{query}.kql: default of {pname!r}: {exc}") from None
    return Parameter(pname, ptype, True, default)


def _matching_paren(text: str, open_index: int) -> int | None:
    depth = 0
    i = open_index
    while i < len(text):
        char = text[i]
        if char in "\"'":
            i = _skip_string(text, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _skip_string(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return i


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char in "\"'":
            i = _skip_string(text, i)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[current:i])
            current = i + 1
        i += 1
    tail = text[current:]
    if tail.strip():
        parts.append(tail)
    return [part for part in parts if part.strip()]


# --------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------
def render(name: str, /, **params: Any) -> str:
    """Return the text of query ``name`` with ``params`` bound as typed ``let`` statements.

    Raises ``QueryNotFoundError`` for an unknown name and ``KqlParameterError`` when a required
    parameter is missing, a given one is not declared, or a value does not fit its declared type.
    """
    query = load(name)
    declared = {param.name for param in query.parameters}
    unknown = sorted(set(params) - declared)
    if unknown:
        raise KqlParameterError(
            f"query {name!r} has no parameter(s) {', '.join(unknown)}; "
            f"declared: {', '.join(sorted(declared)) or 'none'}"
        )
    lines: list[str] = []
    literals: dict[str, str] = {}
    for param in query.parameters:
        if param.name in params:
            value = params[param.name]
        elif param.has_default:
            value = param.default
        else:
            raise KqlParameterError(f"query {name!r} needs parameter {param.name!r} ({param.type})")
        try:
            literal = format_literal(param.type, value)
        except KqlParameterError as exc:
            raise KqlParameterError(f"query {name!r}, parameter {param.name!r}: {exc}") from None
        literals[param.name] = literal
        lines.append(f"let {param.name} = {literal};")
    start, end = query.declare_span
    before, after = query.text[:start], query.text[end:]
    if after.startswith("\n"):
        after = after[1:]
    if query.target == "resourcegraph":
        lines = [f"// {line}" for line in lines]
        after = _substitute(after, literals)
    block = "\n".join(lines)
    if block and not before.endswith("\n"):
        before += "\n"
    return before + (block + "\n" if block else "") + after


_IDENT_START = re.compile(r"[A-Za-z_]")


def _substitute(body: str, literals: dict[str, str]) -> str:
    """Replace parameter identifiers in ``body`` by their literals, skipping strings and comments."""
    if not literals:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if body.startswith("//", i):
            end = body.find("\n", i)
            end = len(body) if end < 0 else end
            out.append(body[i:end])
            i = end
            continue
        if char in "\"'":
            end = _skip_string(body, i)
            out.append(body[i:end])
            i = end
            continue
        if _IDENT_START.match(char) and (i == 0 or not (body[i - 1].isalnum() or body[i - 1] in "_.")):
            j = i + 1
            while j < len(body) and (body[j].isalnum() or body[j] == "_"):
                j += 1
            word = body[i:j]
            out.append(literals.get(word, word))
            i = j
            continue
        out.append(char)
        i += 1
    return "".join(out)


def format_literal(kql_type: str, value: Any) -> str:
    """Format ``value`` as a Kusto literal of ``kql_type``; raises ``KqlParameterError`` if it does not fit."""
    kql_type = _TYPE_ALIASES.get(kql_type, kql_type)
    if kql_type == "datetime":
        if not isinstance(value, datetime):
            raise KqlParameterError(f"expected a datetime, got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise KqlParameterError(f"expected a timezone-aware datetime, got naive {value.isoformat()}")
        utc = value.astimezone(UTC)
        text = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"
        if utc.microsecond:
            text += f".{utc.microsecond:06d}"
        return f"datetime({text}Z)"
    if kql_type == "timespan":
        if not isinstance(value, timedelta):
            raise KqlParameterError(f"expected a timedelta, got {type(value).__name__} {value!r}")
        if value < timedelta(0):
            raise KqlParameterError(f"expected a non-negative timedelta, got {value}")
        seconds = value.days * 86400 + value.seconds
        days, rem = divmod(seconds, 86400)
        hours, rem = divmod(rem, 3600)
        minutes, secs = divmod(rem, 60)
        text = f"{days}.{hours:02d}:{minutes:02d}:{secs:02d}"
        if value.microseconds:
            text += f".{value.microseconds:06d}"
        return f"time({text})"
    if kql_type == "real":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise KqlParameterError(f"expected a real number, got {type(value).__name__} {value!r}")
        number = float(value)
        if math.isnan(number):
            return "real(nan)"
        if math.isinf(number):
            return "real(+inf)" if number > 0 else "real(-inf)"
        return f"real({number!r})"
    if kql_type in ("long", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise KqlParameterError(f"expected an integer, got {type(value).__name__} {value!r}")
        limit = 2**63 if kql_type == "long" else 2**31
        if not -limit <= value < limit:
            raise KqlParameterError(f"{value} does not fit in a Kusto {kql_type}")
        return f"{kql_type}({value})"
    if kql_type == "bool":
        if not isinstance(value, bool):
            raise KqlParameterError(f"expected a bool, got {type(value).__name__} {value!r}")
        return "true" if value else "false"
    if kql_type == "string":
        if not isinstance(value, str):
            raise KqlParameterError(f"expected a str, got {type(value).__name__} {value!r}")
        return _quote(value)
    if kql_type == "guid":
        if isinstance(value, str):
            try:
                value = uuid.UUID(value)
            except ValueError:
                raise KqlParameterError(f"expected a GUID, got {value!r}") from None
        if not isinstance(value, uuid.UUID):
            raise KqlParameterError(f"expected a GUID, got {type(value).__name__} {value!r}")
        return f"guid({value})"
    if kql_type == "dynamic":
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise KqlParameterError(f"expected a JSON-serialisable value: {exc}") from None
        return f"dynamic({text})"
    raise KqlParameterError(f"unsupported Kusto type {kql_type!r}")


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}


def _quote(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            raise KqlParameterError(f"string contains control character U+{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _unquote(text: str) -> str:
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "\"'":
        raise KqlParameterError(f"expected a quoted string literal, got {text!r}")
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _UNESCAPES:
                raise KqlParameterError(f"unsupported escape in string literal {text!r}")
            out.append(_UNESCAPES[body[i + 1]])
            i += 2
            continue
        if char == text[0]:
            raise KqlParameterError(f"unescaped quote in string literal {text!r}")
        out.append(char)
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# parsing rendered text (the emulator's side)
# --------------------------------------------------------------------------------------------
_CALL_RE = re.compile(r"^([a-z]+)\((.*)\)$", re.DOTALL)
_TIMESPAN_RE = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
_SHORT_TIMESPAN_RE = re.compile(r"^(\d+(?:\.\d+)?)(d|h|m|s|ms)$")
_SHORT_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_literal(kql_type: str, text: str) -> Any:
    """Parse a Kusto literal of ``kql_type`` (in the forms ``format_literal`` writes) to a Python value.

    Raises ``KqlParameterError`` when the text is not such a literal.
    """
    kql_type = _TYPE_ALIASES.get(kql_type, kql_type)
    text = text.strip()
    call = _CALL_RE.match(text)
    inner = call.group(2).strip() if call else None
    func = call.group(1) if call else None
    try:
        if kql_type == "datetime" and func in ("datetime", "todatetime") and inner is not None:
            value = inner.strip("\"'")
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if kql_type == "timespan":
            if func in ("time", "timespan", "totimespan") and inner is not None:
                return _parse_timespan(inner.strip("\"'"))
            short = _SHORT_TIMESPAN_RE.match(text)
            if short:
                return timedelta(seconds=float(short.group(1)) * _SHORT_UNITS[short.group(2)])
        if kql_type == "real":
            body = inner if func in ("real", "double") and inner is not None else text
            return float(body.replace("+inf", "inf"))
        if kql_type in ("long", "int"):
            body = inner if func in ("long", "int") and inner is not None else text
            return int(body)
        if kql_type == "bool":
            body = inner if func == "bool" and inner is not None else text
            if body.lower() in ("true", "false"):
                return body.lower() == "true"
        if kql_type == "string":
            return _unquote(text)
        if kql_type == "guid" and func == "guid" and inner is not None:
            return uuid.UUID(inner)
        if kql_type == "dynamic" and func == "dynamic" and inner is not None:
            return json.loads(inner)
    except (ValueError, json.JSONDecodeError) as exc:
        raise KqlParameterError(f"malformed {kql_type} literal {text!r}: {exc}") from None
    raise KqlParameterError(f"malformed {kql_type} literal {text!r}")


def _parse_timespan(text: str) -> timedelta:
    match = _TIMESPAN_RE.match(text)
    if match is None:
        short = _SHORT_TIMESPAN_RE.match(text)
        if short:
            return timedelta(seconds=float(short.group(1)) * _SHORT_UNITS[short.group(2)])
        raise ValueError(f"expected d.hh:mm:ss[.fffffff], got {text!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    micro = int((fraction or "0").ljust(7, "0")[:6]) if fraction else 0
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds), microseconds=micro
    )


def query_name_of(text: str) -> str:
    """The name in a query text's ``// warden-query: <name>`` header; raises ``UnnamedQueryError``."""
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip():
            continue
        match = _HEADER_RE.match(line)
        if match is None:
            break
        return match.group(1)
    raise UnnamedQueryError(
        f"query text has no '{HEADER_PREFIX} <name>' header on its first line; "
        "Warden sends only named queries from shared/kql"
    )


def parse_rendered(text: str) -> RenderedQuery:
    """Recover the query name and typed parameter values from text produced by ``render``.

    Raises ``UnnamedQueryError`` without a header, ``QueryNotFoundError`` for a name with no
    ``.kql`` file, and ``KqlParameterError`` when a declared parameter has no ``let`` line or a
    literal does not parse as its declared type.
    """
    name = query_name_of(text)
    query = load(name)
    values: dict[str, Any] = {}
    for line in text.splitlines()[1:]:
        match = _LET_RE.match(line.strip())
        if match is None:
            continue
        pname, literal = match.group(1), match.group(2)
        param = query.parameter(pname)
        if param is None or pname in values:
            continue
        try:
            values[pname] = parse_literal(param.type, literal)
        except KqlParameterError as exc:
            raise KqlParameterError(f"query {name!r}, parameter {pname!r}: {exc}") from None
    for param in query.parameters:
        if param.name not in values:
            raise KqlParameterError(f"query {name!r}: no 'let {param.name} = ...;' line in the text")
    return RenderedQuery(name, values)
