"""ASP.NET Core route templates as the Functions host uses them for HTTP triggers.

Supports what Functions apps write in practice: literal segments (matched case-insensitively),
``{name}``, optional ``{name?}``, defaults ``{name=value}``, catch-all ``{*name}`` / ``{**name}``
and the inline constraints ``int long bool guid datetime decimal double float alpha
minlength(n) maxlength(n) length(n[,m]) min(n) max(n) range(a,b) regex(expr) required``,
chained as in ``{id:int:min(1)}``. Anything else (complex segments such as ``{a}.{b}``,
unknown constraints) raises ``RouteTemplateError`` at start-up instead of silently
matching differently from Azure.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

__all__ = ["RouteTemplate", "RouteTemplateError", "parse_route"]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RouteTemplateError(ValueError):
    """A route template devhost cannot honour exactly as the Functions host would."""


Check = Callable[[str], bool]


def _int_in(bounds: tuple[int, int]) -> Check:
    def check(value: str) -> bool:
        if not re.fullmatch(r"[+-]?\d+", value):
            return False
        return bounds[0] <= int(value) <= bounds[1]

    return check


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value) is not None


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _ints(args: str, count: int, name: str) -> list[int]:
    parts = [p.strip() for p in args.split(",")] if args else []
    if len(parts) != count or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise RouteTemplateError(f"constraint {name!r} takes {count} integer argument(s), got {args!r}")
    return [int(p) for p in parts]


def _constraint(name: str, args: str | None) -> Check:
    lowered = name.lower()
    simple: dict[str, Check] = {
        "int": _int_in(INT32),
        "long": _int_in(INT64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "datetime": _is_datetime,
        "decimal": _is_number,
        "double": _is_number,
        "float": _is_number,
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
        "required": lambda v: v != "",
    }
    if lowered in simple:
        if args is not None:
            raise RouteTemplateError(f"constraint {name!r} takes no arguments")
        return simple[lowered]
    if args is None:
        raise RouteTemplateError(
            f"unknown route constraint {name!r} (supported: {', '.join(sorted(simple))}, minlength, "
            "maxlength, length, min, max, range, regex)"
        )
    if lowered == "minlength":
        (n,) = _ints(args, 1, name)
        return lambda v: len(v) >= n
    if lowered == "maxlength":
        (n,) = _ints(args, 1, name)
        return lambda v: len(v) <= n
    if lowered == "length":
        bounds = _ints(args, 2 if "," in args else 1, name)
        lo, hi = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        return lambda v: lo <= len(v) <= hi
    if lowered in ("min", "max", "range"):
        limits = _ints(args, 2 if lowered == "range" else 1, name)
        lo = limits[0] if lowered in ("min", "range") else INT64[0]
        hi = limits[-1] if lowered in ("max", "range") else INT64[1]
        return _int_in((lo, hi))
    if lowered == "regex":
        try:
            pattern = re.compile(args, re.IGNORECASE)
        except re.error as exc:
            raise RouteTemplateError(f"regex constraint {args!r} does not compile: {exc}") from exc
        # ASP.NET's RegexRouteConstraint uses IsMatch (unanchored), like re.search.
        return lambda v: pattern.search(v) is not None
    raise RouteTemplateError(f"unknown route constraint {name!r}")


def _split_constraints(text: str) -> list[str]:
    """Split ``int:min(1):regex(a:b)`` on colons outside parentheses."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    name: str | None = None
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    checks: tuple[Check, ...] = field(default=(), compare=False)

    @property
    def precedence(self) -> int:
        """ASP.NET inbound precedence digit: lower wins."""
        if self.literal is not None:
            return 1
        if self.catch_all:
            return 5
        return 3 if self.checks else 4

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.checks)


def _parse_parameter(body: str, template: str) -> _Segment:
    catch_all = False
    if body.startswith("**"):
        body, catch_all = body[2:], True
    elif body.startswith("*"):
        body, catch_all = body[1:], True
    default: str | None = None
    head, *constraint_parts = _split_constraints(body)
    if constraint_parts and "=" in constraint_parts[-1] and not constraint_parts[-1].startswith("regex("):
        constraint_parts[-1], default = constraint_parts[-1].split("=", 1)
    elif "=" in head:
        head, default = head.split("=", 1)
    optional = False
    if head.endswith("?"):
        head, optional = head[:-1], True
    if constraint_parts and constraint_parts[-1].endswith("?"):
        constraint_parts[-1], optional = constraint_parts[-1][:-1], True
    if not _PARAM_NAME.match(head):
        raise RouteTemplateError(f"route {template!r}: invalid parameter name {head!r}")
    if optional and default is not None:
        raise RouteTemplateError(f"route {template!r}: parameter {head!r} cannot be optional and have a default")
    checks: list[Check] = []
    for part in constraint_parts:
        match = re.fullmatch(r"([A-Za-z]+)(?:\((.*)\))?", part, re.DOTALL)
        if match is None:
            raise RouteTemplateError(f"route {template!r}: cannot parse constraint {part!r} of {head!r}")
        try:
            checks.append(_constraint(match.group(1), match.group(2)))
        except RouteTemplateError as exc:
            raise RouteTemplateError(f"route {template!r}, parameter {head!r}: {exc}") from None
    return _Segment(name=head, optional=optional, default=default, catch_all=catch_all, checks=tuple(checks))


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; ``match`` returns the route parameters or ``None``."""

    template: str
    segments: tuple[_Segment, ...]

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(s.precedence for s in self.segments)

    @property
    def parameter_names(self) -> list[str]:
        return [s.name for s in self.segments if s.name is not None]

    def match(self, raw_segments: Sequence[str]) -> dict[str, str] | None:
        """Match the (still percent-encoded) path segments after the route prefix."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(unquote(s) for s in raw_segments[index:])
                if rest:
                    if not segment.accepts(rest):
                        return None
                    values[str(segment.name)] = rest
                elif segment.default is not None:
                    values[str(segment.name)] = segment.default
                return values
            if index >= len(raw_segments):
                if segment.literal is not None:
                    return None
                if segment.default is not None:
                    values[str(segment.name)] = segment.default
                elif not segment.optional:
                    return None
                continue
            value = unquote(raw_segments[index])
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if value == "" or not segment.accepts(value):
                return None
            values[str(segment.name)] = value
        if len(raw_segments) > len(self.segments):
            return None
        return values


def parse_route(template: str) -> RouteTemplate:
    """Parse a Functions route template (without the ``api/`` prefix).

    Raises ``RouteTemplateError`` naming the template and what is not supported.
    """
    text = template.strip()
    if text.startswith("~/"):
        text = text[2:]
    text = text.strip("/")
    segments: list[_Segment] = []
    for raw in text.split("/") if text else []:
        if raw == "":
            raise RouteTemplateError(f"route {template!r}: empty segment ('//')")
        inner = raw[1:-1].replace("{{", "").replace("}}", "")
        if raw.startswith("{") and raw.endswith("}") and "{" not in inner and "}" not in inner:
            body = raw[1:-1].replace("{{", "{").replace("}}", "}")
            segments.append(_parse_parameter(body, template))
        elif "{" in raw or "}" in raw:
            raise RouteTemplateError(
                f"route {template!r}: segment {raw!r} mixes literals and parameters (or uses "
                "'{{'/'}}' escapes); devhost supports one parameter or one literal per segment"
            )
        elif "?" in raw or "#" in raw:
            raise RouteTemplateError(f"route {template!r}: '?' and '#' are not allowed in a literal segment")
        else:
            segments.append(_Segment(literal=raw))
    seen_optional = False
    names: set[str] = set()
    for index, segment in enumerate(segments):
        if segment.name is not None:
            if segment.name.lower() in names:
                raise RouteTemplateError(f"route {template!r}: parameter {segment.name!r} appears twice")
            names.add(segment.name.lower())
        if segment.catch_all and index != len(segments) - 1:
            raise RouteTemplateError(f"route {template!r}: a catch-all parameter must be the last segment")
        if segment.optional or segment.default is not None:
            seen_optional = True
        elif seen_optional and not segment.catch_all:
            raise RouteTemplateError(f"route {template!r}: segment {index + 1} is required but follows an optional one")
    return RouteTemplate(template=template, segments=tuple(segments))
