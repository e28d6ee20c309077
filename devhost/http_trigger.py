"""HTTP triggers: route table, key checks, and the request/response conversion of the worker.

The request reaches the function as the worker builds it: the host's RPC ``http`` datum
(method, url, headers, query, route params, raw body bytes) decoded by azure-functions' own
``HttpRequestConverter``. The return value goes back through its ``HttpResponseConverter``, so
a function returning something the worker cannot encode (``None``, a ``dict``) fails with the
worker's ``TypeError`` and a 500, exactly as on Azure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions import meta
from azure.functions.http import HttpRequestConverter, HttpResponseConverter

from devhost.keys import HostKeys
from devhost.loader import AppLoadError, HostedFunction
from devhost.routing import RouteTemplate, RouteTemplateError, parse_route

__all__ = [
    "AUTH_LEVELS",
    "HttpRoute",
    "HttpRouteTable",
    "build_request",
    "check_status_instance_id",
    "encode_response",
    "presented_key",
    "to_web_response",
]

AUTH_LEVELS = ("anonymous", "function", "admin")
KEY_HEADER = "x-functions-key"
NO_BODY_STATUSES = frozenset({204, 304})


def presented_key(request: web.Request) -> str | None:
    """The key a request presents: the ``x-functions-key`` header wins over ``?code=``."""
    header = request.headers.get(KEY_HEADER)
    if header is not None:
        return header
    return request.query.get("code")


def is_authorized(auth_level: str, keys: HostKeys, key: str | None) -> bool:
    if auth_level == "anonymous":
        return True
    if auth_level == "function":
        return keys.is_function(key)
    return keys.is_master(key)


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function and its parsed route."""

    function: HostedFunction
    template: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str
    order: int

    def allows(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods


class HttpRouteTable:
    """Every HTTP route of the app, tried in ASP.NET precedence order (literals first)."""

    def __init__(self, functions: Iterable[HostedFunction], route_prefix: str) -> None:
        self.route_prefix = route_prefix.strip("/")
        routes: list[HttpRoute] = []
        for order, fn in enumerate(functions):
            trigger = fn.trigger
            auth_level = str(trigger.get("authLevel") or "function").lower()
            if auth_level not in AUTH_LEVELS:
                raise AppLoadError(
                    f"function {fn.name!r}: authLevel {auth_level!r} is not supported "
                    f"(expected one of {', '.join(AUTH_LEVELS)})"
                )
            try:
                template = parse_route(str(trigger.get("route") or fn.name))
            except RouteTemplateError as exc:
                raise AppLoadError(f"function {fn.name!r}: {exc}") from exc
            methods = trigger.get("methods")
            routes.append(
                HttpRoute(
                    function=fn,
                    template=template,
                    methods=frozenset(str(m).upper() for m in methods) if methods else None,
                    auth_level=auth_level,
                    order=order,
                )
            )
        width = max((len(r.template.segments) for r in routes), default=0)
        # Shorter templates pad with 0 (as decimals: 1.1 < 1.14); ties keep declaration order.
        self.routes = sorted(
            routes, key=lambda r: (r.template.precedence + (0,) * (width - len(r.template.segments)), r.order)
        )

    def segments_after_prefix(self, raw_path: str) -> list[str] | None:
        """The percent-encoded segments after the route prefix, or ``None`` outside it."""
        path = raw_path.split("?", 1)[0].strip("/")
        parts = path.split("/") if path else []
        if self.route_prefix:
            prefix = self.route_prefix.split("/")
            if [p.lower() for p in parts[: len(prefix)]] != [p.lower() for p in prefix]:
                return None
            parts = parts[len(prefix) :]
        return parts

    def resolve(self, raw_path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | None:
        segments = self.segments_after_prefix(raw_path)
        if segments is None:
            return None
        for route in self.routes:
            if not route.allows(method):
                continue
            params = route.template.match(segments)
            if params is not None:
                return route, params
        return None

    def describe(self, base_url: str) -> list[str]:
        lines = []
        for route in sorted(self.routes, key=lambda r: r.order):
            methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
            path = "/".join(p for p in (self.route_prefix, route.template.template.strip("/")) if p)
            lines.append(f"{route.function.name}: [{methods}] {base_url}/{path} ({route.auth_level})")
        return lines


def _joined(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names are joined with ',' as ASP.NET's ``StringValues.ToString()`` does."""
    merged: dict[str, list[str]] = {}
    for name, value in items:
        merged.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in merged.items()}


def build_request(
    method: str,
    *,
    url: str,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    route_params: Mapping[str, str],
    body: bytes,
) -> func.HttpRequest:
    """Build the ``func.HttpRequest`` the worker would, through azure-functions' converter."""
    datum = meta.Datum(
        type="http",
        value={
            "method": meta.Datum(method, "string"),
            "url": meta.Datum(url, "string"),
            "headers": {k: meta.Datum(v, "string") for k, v in _joined(headers).items()},
            "query": {k: meta.Datum(v, "string") for k, v in _joined(query).items()},
            "params": {k: meta.Datum(v, "string") for k, v in route_params.items()},
            # The Python worker declares RawHttpBodyBytes, so the host sends the body as bytes.
            "body": meta.Datum(body, "bytes"),
        },
    )
    request: func.HttpRequest = HttpRequestConverter.decode(datum, trigger_metadata={})
    return request


def encode_response(value: Any) -> meta.Datum:
    """Encode a function's return value as the worker does; raise its ``TypeError`` otherwise."""
    try:
        datum: meta.Datum = HttpResponseConverter.encode(value, expected_type=None)
    except NotImplementedError:
        kind = type(value)
        name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
        raise TypeError(
            f'unable to encode outgoing TypedData: unsupported type "{HttpResponseConverter}" for Python type "{name}"'
        ) from None
    return datum


def check_status_instance_id(datum: meta.Datum) -> str | None:
    """The instance id in a durable check-status response (``create_check_status_response``)."""
    if datum.type != "http":
        return None
    try:
        body = json.loads(datum.value["body"].value or b"null")
    except ValueError:
        return None
    if isinstance(body, dict) and "statusQueryGetUri" in body and isinstance(body.get("id"), str):
        return str(body["id"])
    return None


def to_web_response(datum: meta.Datum, *, head: bool = False) -> web.Response:
    """Turn the worker's encoded response into the HTTP response the host sends."""
    if datum.type == "string":
        body = str(datum.value).encode("utf-8")
        return web.Response(
            status=200,
            body=None if head else body,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
    value: Mapping[str, Any] = datum.value
    status = int(value["status_code"].value)
    response = web.Response(status=status)
    for name, header in value["headers"].items():
        response.headers.add(name, str(header.value))
    cookies: Sequence[SimpleCookie] | None = value.get("cookies")
    for cookie in cookies or ():
        for morsel in cookie.values():
            response.headers.add("Set-Cookie", morsel.OutputString())
    payload: bytes = value["body"].value or b""
    if status in NO_BODY_STATUSES or head:
        response.headers.pop("Content-Type", None)
        return response
    response.body = payload
    return response
