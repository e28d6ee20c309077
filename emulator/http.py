"""The emulator's HTTP vocabulary: a parsed request, a response, and an error that becomes one.

Everything is plain data so the same handlers serve the in-process transport and the aiohttp
loopback server.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ChallengeError", "HttpError", "Request", "Response", "json_response"]


@dataclass(frozen=True, slots=True)
class Request:
    """One request as a service handler sees it. Header names are lowercase."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def build(cls, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Request:
        """Parse ``url`` (``https://host[:port]/path?query``) and normalise the headers."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query[key] = value
        return cls(
            method=method.upper(),
            url=url,
            host=host,
            path=parts.path or "/",
            query=query,
            headers={k.lower(): v for k, v in headers.items()},
            body=body or b"",
        )

    def json(self) -> Any:
        """The body parsed as JSON; raises ``HttpError`` 400 when it is not JSON."""
        if not self.body:
            raise HttpError(400, "InvalidRequestContent", "The request content was invalid: the body is empty.")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(
                400, "InvalidRequestContent", f"The request content was invalid and could not be parsed: {exc}"
            ) from None

    def bearer(self) -> str | None:
        """The Bearer token of the ``Authorization`` header, or ``None``."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None


@dataclass(slots=True)
class Response:
    """Status, headers and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def as_tuple(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, self.headers, self.body


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (``application/json; charset=utf-8``)."""
    out = {"Content-Type": "application/json; charset=utf-8"}
    if headers:
        out.update(headers)
    return Response(status, out, json.dumps(payload, separators=(",", ":")).encode("utf-8"))


class HttpError(Exception):
    """Raised by handlers; becomes a response with ``{"error": {"code", "message", ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}

    def to_response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.extra)
        return json_response(self.status, {"error": error}, self.headers)


class ChallengeError(HttpError):
    """A 401 that starts an authentication challenge (Key Vault's ``WWW-Authenticate`` handshake)."""


def new_request_id() -> str:
    """A fresh request id (GUID), as Azure services put in ``x-ms-request-id``."""
    return str(uuid.uuid4())
