"""Fault injection and counters.

A fault rule targets API names (see ``API_NAMES``; ``fnmatch`` patterns such as ``arm.*`` or
``*`` are allowed) and fires either on the next ``count`` matching calls, or with probability
``probability`` per call from its own seeded random generator (both may be combined: at most
``count`` firings, each with that probability). Kinds:

``throttle``
    answer 429 with ``Retry-After: retry_after`` (seconds, default 1) and the service's
    throttling error body.
``error``
    answer ``status`` (default 503) with error code ``code`` (default ``ServiceUnavailable``).
``latency``
    sleep ``latency`` seconds, then handle the call normally (does not stop other rules).
``lro_failure``
    the long-running operation this call starts ends ``Failed`` with ``code`` (default
    ``InternalServerError``); only fires on LRO-starting APIs.
``lost_answer``
    handle the call normally (a write takes effect), then drop the answer: the in-process
    transport raises a read timeout and the loopback server closes the connection without
    answering, as when a connection breaks after Azure applied a write.
``partial``
    Log Analytics answers 200 with the rows truncated to ``keep_rows`` (default: half) and an
    ``error`` of code ``PartialError`` (``LogsQueryPartialResult`` in the SDK); only fires on
    ``logs.query`` / ``logs.batch``.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["API_NAMES", "FAULT_KINDS", "LOST_ANSWER_HEADER", "Counters", "FaultRule", "Faults"]

API_NAMES: dict[str, str] = {
    "arm.accounts.list": "GET  /subscriptions/{s}/providers/Microsoft.CognitiveServices/accounts",
    "arm.accounts.listByResourceGroup": "GET  .../resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts",
    "arm.accounts.get": "GET  {account}",
    "arm.accounts.update": "PATCH {account} (LRO)",
    "arm.accounts.listKeys": "POST {account}/listKeys",
    "arm.accounts.regenerateKey": "POST {account}/regenerateKey",
    "arm.deployments.list": "GET  {account}/deployments",
    "arm.deployments.get": "GET  {account}/deployments/{d}",
    "arm.deployments.createOrUpdate": "PUT  {account}/deployments/{d} (LRO)",
    "arm.deployments.delete": "DELETE {account}/deployments/{d} (LRO)",
    "arm.raiPolicies.list": "GET  {account}/raiPolicies",
    "arm.raiPolicies.get": "GET  {account}/raiPolicies/{p}",
    "arm.raiPolicies.createOrUpdate": "PUT  {account}/raiPolicies/{p}",
    "arm.operations.get": "GET  .../locations/{l}/operationStatuses|operationResults/{id} (LRO polls)",
    "resourcegraph.query": "POST /providers/Microsoft.ResourceGraph/resources",
    "keyvault.setSecret": "PUT  /secrets/{name}",
    "keyvault.getSecret": "GET  /secrets/{name}[/{version}]",
    "keyvault.listSecretVersions": "GET  /secrets/{name}/versions",
    "keyvault.listSecrets": "GET  /secrets",
    "keyvault.updateSecret": "PATCH /secrets/{name}[/{version}]",
    "keyvault.challenge": "(counter only) unauthenticated Key Vault requests answered 401 + challenge",
    "logs.query": "POST /v1/workspaces/{id}/query",
    "logs.batch": "POST /v1/$batch",
    "eventgrid.publish": "POST https://{topic host}/api/events",
    "dataplane.probe": "GET  https://{subdomain}.openai.azure.com/openai/models",
    "arm.diagnosticSettings.list": "GET  {account}/providers/Microsoft.Insights/diagnosticSettings",
    "arm.pricings.get": "GET  /subscriptions/{s}/providers/Microsoft.Security/pricings/{plan}",
    "arm.pricings.list": "GET  /subscriptions/{s}/providers/Microsoft.Security/pricings",
}
"""Every API name the emulator counts and accepts faults for, with the call it stands for."""

FaultKind = Literal["throttle", "error", "latency", "lro_failure", "lost_answer", "partial"]
FAULT_KINDS: tuple[str, ...] = ("throttle", "error", "latency", "lro_failure", "lost_answer", "partial")
LOST_ANSWER_HEADER = "x-emulator-lost-answer"
"""Set by ``Emulator.handle`` on a response whose answer a ``lost_answer`` fault drops; the
transports act on it and never pass it on."""
LRO_APIS = frozenset({"arm.accounts.update", "arm.deployments.createOrUpdate", "arm.deployments.delete"})
PARTIAL_APIS = frozenset({"logs.query", "logs.batch"})

_ids = itertools.count(1)


@dataclass(slots=True)
class FaultRule:
    """One fault rule (see the module docstring for the kinds and their parameters)."""

    api: str
    kind: str
    count: int | None = None
    probability: float | None = None
    seed: int | None = None
    status: int = 503
    code: str | None = None
    message: str | None = None
    retry_after: float = 1.0
    latency: float = 0.0
    keep_rows: int | None = None
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not any(fnmatch.fnmatchcase(name, self.api) for name in API_NAMES):
            raise ValueError(f"fault api {self.api!r} matches no API name; known: {', '.join(API_NAMES)}")
        if self.count is not None and self.count < 0:
            raise ValueError("fault count must be >= 0")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("fault probability must be between 0 and 1")
        if self.count is None and self.probability is None:
            self.count = 1
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise ValueError("an error fault's status must be 4xx or 5xx")
        if self.retry_after < 0 or self.latency < 0:
            raise ValueError("retry_after and latency must be >= 0")
        self._rng = random.Random(self.seed)  # nosec B311 # simulated faults and data, not security

    def applies_to(self, api: str) -> bool:
        if not fnmatch.fnmatchcase(api, self.api):
            return False
        if self.kind == "lro_failure":
            return api in LRO_APIS
        if self.kind == "partial":
            return api in PARTIAL_APIS
        return True

    def try_fire(self) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.count <= 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "api": self.api,
            "kind": self.kind,
            "remaining": self.count,
            "probability": self.probability,
            "seed": self.seed,
            "status": self.status,
            "code": self.code,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "keep_rows": self.keep_rows,
            "fired": self.fired,
        }


class Faults:
    """The active fault rules, thread-safe."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, api: str | None = None, rule_id: int | None = None) -> int:
        """Remove rules (all, those for exactly ``api``, or the one with ``rule_id``); returns how many."""
        with self._lock:
            before = len(self._rules)
            self._rules = [
                r for r in self._rules if not ((api is None or r.api == api) and (rule_id is None or r.id == rule_id))
            ]
            return before - len(self._rules)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def draw(self, api: str) -> list[FaultRule]:
        """The rules that fire for this call: any latency rules, then at most one other rule."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.applies_to(api):
                    continue
                if rule.kind == "latency":
                    if rule.try_fire():
                        fired.append(rule)
                    continue
                if rule.try_fire():
                    fired.append(rule)
                    break
            self._rules = [r for r in self._rules if not r.exhausted]
        return fired


class Counters:
    """Per-API call counters, per-API status counters and per-subscription ARM read/write/delete counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: defaultdict[str, int] = defaultdict(int)
            self._status: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
            self._arm: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))

    def call(self, api: str) -> None:
        with self._lock:
            self._calls[api] += 1

    def status(self, api: str, status: int) -> None:
        with self._lock:
            self._status[api][status] += 1

    def arm(self, subscription: str, kind: str) -> None:
        with self._lock:
            self._arm[subscription.lower()][kind] += 1

    def calls(self, api: str) -> int:
        with self._lock:
            return self._calls.get(api, 0)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(sorted(self._calls.items())),
                "status": {api: {str(k): v for k, v in sorted(c.items())} for api, c in sorted(self._status.items())},
                "arm": {
                    sub: {kind: counts.get(kind, 0) for kind in ("reads", "writes", "deletes")}
                    for sub, counts in sorted(self._arm.items())
                },
            }
