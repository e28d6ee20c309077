"""The ``Emulator``: in-memory Azure state behind one request handler.

``Emulator.handle(method, url, headers, body) -> (status, headers, body)`` routes by the URL's
host to one of the emulated services (``emulator.services``):

===================================================  =======================================
host                                                 service
===================================================  =======================================
``management.azure.com`` (``/providers/Microsoft.    Resource Graph
ResourceGraph/resources``)
``management.azure.com`` (everything else)           ARM Cognitive Services (accounts, keys,
                                                     deployments, RAI policies, LRO status)
``{vault}.vault.azure.net``                          Key Vault secrets
``api.loganalytics.io``                              Log Analytics query (and ``$batch``)
``{topic}.{region}-1.eventgrid.azure.net``           Event Grid basic-topic publish
``{subdomain}.openai.azure.com`` /                   account data plane (``/openai/models``)
``{subdomain}.cognitiveservices.azure.com``
===================================================  =======================================

Each call is counted under its API name (``emulator.faults.API_NAMES``), may be hit by an
injected fault, and for ARM takes a token from the subscription's read/write/delete bucket
(429 when empty, only with ``throttling=True``). State is guarded by one re-entrant lock, so
the emulator is safe to drive from many threads (the loopback server runs handlers in a pool).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from emulator.faults import API_NAMES, LOST_ANSWER_HEADER, Counters, FaultRule, Faults
from emulator.http import ChallengeError, HttpError, Request, Response, new_request_id
from emulator.state import PublishedEvent, TenantState
from emulator.tables import LOG_TABLES, coerce_row
from emulator.tenant import TenantSpec, parse_tenant
from emulator.throttle import ArmThrottle

__all__ = ["DEFAULT_CALLER", "Call", "Emulator", "Route", "Service"]

_log = logging.getLogger("warden.emulator")

DEFAULT_CALLER = "8a0f5e0e-0000-4000-8000-0000000ca11e"
"""Object id written as ``Caller`` in AzureActivity rows for tokens with no mapped principal."""


class Call:
    """What a handler knows about the call beyond the request: the faults that fired for it."""

    def __init__(self, api: str, faults: list[FaultRule], token: str | None) -> None:
        self.api = api
        self.faults = faults
        self.token = token

    def fault(self, kind: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.kind == kind:
                return rule
        return None


class Route:
    """A request matched to an API name and a handler."""

    __slots__ = ("api", "arm_kind", "handler", "subscription")

    def __init__(
        self,
        api: str,
        handler: Callable[[Request, Call], Response],
        *,
        subscription: str | None = None,
        arm_kind: str | None = None,
    ) -> None:
        self.api = api
        self.handler = handler
        self.subscription = subscription
        self.arm_kind = arm_kind


class Service(Protocol):
    """One emulated Azure service."""

    name: str

    def route(self, req: Request) -> Route:
        """Match the request; raises ``HttpError`` (404/405/400) for anything not emulated."""

    def authenticate(self, req: Request, route: Route) -> None:
        """Raises ``HttpError`` 401 when the request carries no acceptable credential."""

    def fault_error(self, rule: FaultRule) -> HttpError:
        """The error an injected ``throttle`` or ``error`` fault answers with."""

    def decorate(self, req: Request, route: Route, response: Response) -> None:
        """Add the service's standard response headers."""


class Emulator:
    """Thread-safe in-memory Azure for the APIs Warden calls.

    Parameters
    ----------
    tenant:
        A ``TenantSpec`` (see ``emulator.tenant``), parsed data of one, or ``None`` for an
        empty tenant.
    seed:
        Seed for generated keys and secret versions (``None``: cryptographically random).
    throttling:
        Enforce ARM's per-subscription token buckets (429 + ``Retry-After`` when empty). Off by
        default so ordinary tests never see throttling they did not ask for.
    lro_polls:
        How many polls a long-running operation answers ``InProgress`` before it completes.
    lro_retry_after:
        Seconds sent as ``Retry-After`` on LRO responses (0: no header). ARM sends one too;
        azure-mgmt pollers honour it over their default 30 s interval, so the small default
        keeps callers that do not pass ``polling_interval=0`` fast.
    arm_page_size, keyvault_page_size:
        Items per page of ARM account lists and Key Vault lists (``nextLink`` paging).
    clock:
        Returns "now" (timezone-aware); used for timestamps and relative query timespans.
    monotonic:
        Monotonic seconds for the token buckets.
    """

    def __init__(
        self,
        tenant: TenantSpec | dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        throttling: bool = False,
        lro_polls: int = 1,
        lro_retry_after: float = 0.05,
        arm_page_size: int = 100,
        keyvault_page_size: int = 25,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.lro_polls = lro_polls
        self.lro_retry_after = lro_retry_after
        self.arm_page_size = arm_page_size
        self.keyvault_page_size = keyvault_page_size
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.counters = Counters()
        self.faults = Faults()
        self.throttle = ArmThrottle(enforce=throttling, clock=monotonic)
        self._spec = parse_tenant(tenant if tenant is not None else {})
        self.state = self._build_state(self._spec)
        self.principals: dict[str, str] = dict(self._spec.principals)
        """Bearer token -> principal object id, for ``Caller`` in AzureActivity rows."""
        from emulator.services import build_services

        self._services = build_services(self)

    # -- state lifecycle -------------------------------------------------------------------------
    def _build_state(self, spec: TenantSpec) -> TenantState:
        rng = random.Random(self.seed) if self.seed is not None else None  # nosec B311 # simulated faults and data, not security
        return TenantState.from_spec(spec, rng=rng)

    def load_tenant(self, tenant: TenantSpec | dict[str, Any]) -> None:
        """Replace the whole state with a new tenant (counters, faults and buckets are reset too).

        Raises ``TenantError`` when ``tenant`` is invalid.
        """
        spec = parse_tenant(tenant)
        state = self._build_state(spec)
        with self.lock:
            self._spec = spec
            self.state = state
            self.principals = dict(spec.principals)
        self.counters.reset()
        self.faults.clear()
        self.throttle.reset()

    def reset(self) -> None:
        """Rebuild the state from the loaded tenant, and clear counters, faults, buckets and events.

        With a ``seed`` the generated keys come back identical; without one they are new.
        """
        self.load_tenant(self._spec)

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    # -- the one entry point ----------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: dict[str, str] | None = None, body: bytes | str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request as Azure would; never raises for bad input (answers 4xx)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        req = Request.build(method, url, headers or {}, raw)
        service = self._service_for(req)
        if service is None:
            err = HttpError(
                404, "HostNotEmulated", f"The emulator does not emulate host {req.host!r} ({req.method} {url})."
            )
            return err.to_response().as_tuple()
        api = f"{service.name}.unknown"
        found: Route | None = None
        try:
            with self.lock:
                route = found = service.route(req)
                api = route.api
                service.authenticate(req, route)
        except HttpError as exc:
            # An unauthenticated Key Vault request is the first leg of the challenge handshake:
            # counted on its own, not as a call of the API.
            counted = "keyvault.challenge" if isinstance(exc, ChallengeError) else api
            self.counters.call(counted)
            response = exc.to_response()
            if found is not None:
                service.decorate(req, found, response)
            response.headers.setdefault("x-ms-request-id", new_request_id())
            self.counters.status(counted, response.status)
            return response.as_tuple()
        except Exception:  # pragma: no cover - a bug in the emulator, answered as Azure would
            _log.exception("emulator routing of %s %s failed", req.method, req.host)
            error = HttpError(500, "InternalServerError", "The emulator failed to route the request.")
            return error.to_response().as_tuple()
        self.counters.call(api)
        response = self._dispatch(service, req, route)
        service.decorate(req, route, response)
        response.headers.setdefault("x-ms-request-id", new_request_id())
        self.counters.status(api, response.status)
        return response.as_tuple()

    def _dispatch(self, service: Service, req: Request, route: Route) -> Response:
        fired = self.faults.draw(route.api)
        for rule in fired:
            if rule.kind == "latency" and rule.latency > 0:
                time.sleep(rule.latency)
        for rule in fired:
            if rule.kind in ("throttle", "error"):
                return service.fault_error(rule).to_response()
        if route.subscription is not None and route.arm_kind is not None:
            self.counters.arm(route.subscription, route.arm_kind)
            allowed, _, wait = self.throttle.take(route.subscription, route.arm_kind)
            header = f"x-ms-ratelimit-remaining-subscription-{route.arm_kind}"
            if not allowed:
                error = HttpError(
                    429,
                    "SubscriptionRequestsThrottled",
                    f"Number of '{route.arm_kind[:-1]}' requests for subscription '{route.subscription}' "
                    f"exceeded. Please try again after '{int(wait)}' seconds after the time the "
                    "limit was reached.",
                    headers={"Retry-After": _seconds(wait), header: "0"},
                )
                return error.to_response()
        call = Call(route.api, fired, req.bearer())
        try:
            with self.lock:
                response = route.handler(req, call)
        except HttpError as exc:
            response = exc.to_response()
        except Exception:  # pragma: no cover - a bug in the emulator, shown as Azure would
            _log.exception("emulator handler for %s failed", route.api)
            response = HttpError(500, "InternalServerError", "The emulator failed to handle the request.").to_response()
        if route.subscription is not None and route.arm_kind is not None:
            header = f"x-ms-ratelimit-remaining-subscription-{route.arm_kind}"
            response.headers[header] = str(self.throttle.remaining(route.subscription, route.arm_kind))
        if call.fault("lost_answer") is not None:
            response.headers[LOST_ANSWER_HEADER] = "1"
        return response

    def _service_for(self, req: Request) -> Service | None:
        for matches, service in self._services:
            if matches(req):
                return service
        return None

    # -- faults and counters ----------------------------------------------------------------------
    def inject_fault(
        self,
        api: str,
        kind: str,
        *,
        count: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        status: int = 503,
        code: str | None = None,
        message: str | None = None,
        retry_after: float = 1.0,
        latency: float = 0.0,
        keep_rows: int | None = None,
    ) -> int:
        """Add a fault rule (see ``emulator.faults``) and return its id.

        Without ``count`` and ``probability`` the rule fires once. Raises ``ValueError`` for an
        unknown kind, an ``api`` pattern matching no API name, or out-of-range numbers.
        """
        rule = FaultRule(
            api=api,
            kind=kind,
            count=count,
            probability=probability,
            seed=seed,
            status=status,
            code=code,
            message=message,
            retry_after=retry_after,
            latency=latency,
            keep_rows=keep_rows,
        )
        return self.faults.add(rule).id

    def clear_faults(self, api: str | None = None, rule_id: int | None = None) -> int:
        """Remove fault rules (all, or for ``api``, or by id); returns how many were removed."""
        return self.faults.clear(api, rule_id)

    def list_faults(self) -> list[dict[str, Any]]:
        """The active fault rules."""
        return self.faults.describe()

    def counts(self) -> dict[str, Any]:
        """Call counters: ``calls`` per API, ``status`` per API and code, ``arm`` per subscription."""
        snap = self.counters.snapshot()
        for sub, kinds in snap["arm"].items():
            kinds["readTokensRemaining"] = self.throttle.remaining(sub, "reads")
        return snap

    def calls(self, api: str) -> int:
        """How many calls were made to ``api`` since the last counter reset."""
        return self.counters.calls(api)

    def reset_counters(self) -> None:
        """Zero every counter (state, faults and buckets are unchanged)."""
        self.counters.reset()

    def set_throttling(self, enabled: bool) -> None:
        """Turn enforcement of ARM's token buckets on or off (and refill them)."""
        self.throttle.enforce = enabled
        self.throttle.reset()

    @staticmethod
    def api_names() -> dict[str, str]:
        """Every API name, with the HTTP call it stands for."""
        return dict(API_NAMES)

    # -- inspection and seeding -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of the state (keys and secret values only as fingerprints)."""
        with self.lock:
            return self.state.snapshot()

    def published_events(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Events published to every topic (or to one topic, by name or host), oldest first."""
        with self.lock:
            events: list[PublishedEvent] = []
            for t in self.state.topics.values():
                if topic is None or topic.lower() in (t.name.lower(), t.host):
                    events.extend(t.events)
            events.sort(key=lambda e: e.received)
            return [e.describe() for e in events]

    def clear_events(self) -> None:
        """Forget every published event."""
        with self.lock:
            for t in self.state.topics.values():
                t.events.clear()

    def append_rows(self, workspace: str, table: str, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows to a Log Analytics table; returns the table's new row count.

        ``workspace`` is the customer GUID or the ARM name. Raises ``KeyError`` for an unknown
        workspace and ``ValueError`` for an unknown table, column or mistyped value (all rows
        are checked before any is added).
        """
        if table not in LOG_TABLES:
            raise ValueError(f"unknown table {table!r}; expected one of {', '.join(LOG_TABLES)}")
        coerced = []
        for index, row in enumerate(rows):
            try:
                coerced.append(coerce_row(table, row))
            except ValueError as exc:
                raise ValueError(f"row {index}: {exc}") from None
        with self.lock:
            ws = self.state.workspace(workspace)
            if ws is None:
                raise KeyError(f"no workspace {workspace!r} in the emulated tenant")
            target = ws.tables.setdefault(table, [])
            target.extend(coerced)
            return len(target)

    def account_keys(self, account_id: str) -> dict[str, str]:
        """The current ``key1``/``key2`` of an account (for tests; never log them).

        Raises ``KeyError`` for an unknown account id.
        """
        with self.lock:
            account = self.state.account_by_id(account_id)
            if account is None:
                raise KeyError(f"no account {account_id!r} in the emulated tenant")
            return dict(account.keys)

    def topic_key(self, topic: str) -> str:
        """The access key of a topic (by name or host); raises ``KeyError`` when unknown."""
        with self.lock:
            for t in self.state.topics.values():
                if topic.lower() in (t.name.lower(), t.host):
                    return t.key
        raise KeyError(f"no topic {topic!r} in the emulated tenant")

    def settle_operations(self) -> int:
        """Complete every in-progress long-running operation now; returns how many."""
        with self.lock:
            pending = [op for op in self.state.operations.values() if op.status == "InProgress"]
            for op in pending:
                op.finish(self.clock())
            return len(pending)

    def caller_for(self, token: str | None) -> str:
        """The principal id recorded as ``Caller`` for a Bearer token."""
        if token is None:
            return DEFAULT_CALLER
        return self.principals.get(token, DEFAULT_CALLER)

    def new_id(self) -> str:
        """A fresh GUID."""
        return str(uuid.uuid4())


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
