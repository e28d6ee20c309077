"""Which AI account (and deployment) an alert is about: ``resolve_resource``.

Best effort, because the public docs publish no AI alert payload (NOT CONFIRMED which fields
Defender for AI fills). Candidates are tried in this order, and the first Cognitive Services
id wins:

1. ``alert.resource_ids``: ``resourceIdentifiers`` items of type ``AzureResource``
   (``azureResourceId``), then the workflow ``AzureResourceId`` / the row's ``ResourceId``;
2. entities of type ``azure-resource`` (``ResourceId`` / ``resourceId``);
3. ``compromised_entity`` when it is an ARM id (it is often just a name, which is not enough).

An id under ``Microsoft.CognitiveServices/accounts/{account}`` gives an ``AccountId``; with
``/deployments/{name}`` a ``DeploymentId``; any other sub-resource (e.g. a Foundry
``/projects/{p}``) resolves to its account, with a note. A later candidate naming a deployment of
the same account refines an account-only answer.

When only the account is known, a deployment name is looked up (designed for both outcomes:
Defender may or may not send one) in, first, ``extended_properties`` and then the top-level keys
of each entity, under these keys compared without case, spaces, ``_`` or ``-``:
``DeploymentName``, ``Deployment``, ``ModelDeploymentName``, ``ModelDeployment``,
``AzureOpenAIDeploymentName``, ``AIDeploymentName``. A value may be a name or a deployment ARM id.

Ids that do not parse are recorded in ``notes`` and skipped; nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.alerts.alert import DefenderAlert
from shared.resource_ids import AccountId, DeploymentId, InvalidResourceIdError, parse_resource_id

__all__ = ["DEPLOYMENT_NAME_KEYS", "ResourceResolution", "resolve_resource"]

DEPLOYMENT_NAME_KEYS = frozenset(
    {
        "deploymentname",
        "deployment",
        "modeldeploymentname",
        "modeldeployment",
        "azureopenaideploymentname",
        "aideploymentname",
    }
)
"""Normalized (lower-case, letters and digits only) keys that may hold a deployment name."""

_PROVIDER = "/providers/microsoft.cognitiveservices/accounts/"
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_MAX_NOTES = 10


def _norm_key(key: str) -> str:
    return _NON_ALNUM.sub("", key.lower())


@dataclass(frozen=True, slots=True)
class ResourceResolution:
    """The outcome of ``resolve_resource``.

    ``resource`` is ``None`` when no Cognitive Services account could be found (the finding
    then has no resource and no containment runs). ``source`` names where the id came from
    (``resource_ids[0]``, ``entities[2]``, ``compromised_entity``); ``deployment_source`` where
    the deployment name came from when the id named only the account.
    """

    resource: AccountId | DeploymentId | None
    source: str | None = None
    deployment_source: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def account(self) -> AccountId | None:
        """The account, for an account or a deployment."""
        return self.resource.account if self.resource is not None else None


def _candidates(alert: DefenderAlert) -> list[tuple[str, str]]:
    out = [(f"resource_ids[{i}]", rid) for i, rid in enumerate(alert.resource_ids)]
    for i, entity in enumerate(alert.entities):
        etype = entity.get("type", entity.get("Type"))
        if isinstance(etype, str) and etype.lower() == "azure-resource":
            rid = entity.get("ResourceId", entity.get("resourceId"))
            if isinstance(rid, str):
                out.append((f"entities[{i}]", rid))
    if alert.compromised_entity and alert.compromised_entity.startswith("/"):
        out.append(("compromised_entity", alert.compromised_entity))
    return out


def _parse_cognitive(raw: str, where: str, notes: list[str]) -> AccountId | DeploymentId | None:
    """The account or deployment an ARM id names, or ``None`` (with a note when it looked like one)."""
    text = raw.strip()
    lower = text.lower()
    at = lower.find(_PROVIDER)
    if at < 0:
        if lower.startswith("/subscriptions/"):
            notes.append(f"{where} is not a Cognitive Services account: {text[:200]!r}")
        return None
    head_len = at + len(_PROVIDER)
    tail = text[head_len:].strip("/").split("/")
    account_part = text[:head_len] + tail[0]
    rest = tail[1:]
    candidate = account_part
    if len(rest) == 2 and rest[0].lower() == "deployments":
        candidate = f"{account_part}/deployments/{rest[1]}"
    elif rest:
        notes.append(f"{where}: sub-resource {'/'.join(rest)[:100]!r} ignored; using its account")
    try:
        parsed = parse_resource_id(candidate)
    except InvalidResourceIdError as exc:
        notes.append(f"{where}: {exc.reason}")
        return None
    if isinstance(parsed, AccountId | DeploymentId):
        return parsed
    return None  # pragma: no cover - the provider check above admits only accounts


def _deployment_hints(alert: DefenderAlert) -> list[tuple[str, str]]:
    hints = [
        (f"extended_properties[{key!r}]", value)
        for key, value in alert.extended_properties.items()
        if _norm_key(key) in DEPLOYMENT_NAME_KEYS and value.strip()
    ]
    for i, entity in enumerate(alert.entities):
        for key, value in entity.items():
            if _norm_key(key) in DEPLOYMENT_NAME_KEYS and isinstance(value, str) and value.strip():
                hints.append((f"entities[{i}].{key}", value))
    return hints


def _with_deployment(
    account: AccountId, alert: DefenderAlert, notes: list[str]
) -> tuple[AccountId | DeploymentId, str | None]:
    for where, value in _deployment_hints(alert):
        name = value.strip()
        if name.startswith("/"):
            parsed = _parse_cognitive(name, where, notes)
            if isinstance(parsed, DeploymentId) and parsed.account == account:
                return parsed, where
            notes.append(f"{where} does not name a deployment of {account.name!r}")
            continue
        try:
            return account.deployment(name), where
        except InvalidResourceIdError as exc:
            notes.append(f"{where}: {exc.reason}")
    return account, None


def resolve_resource(alert: DefenderAlert) -> ResourceResolution:
    """The AI account or deployment ``alert`` is about, from its ids, entities and properties.

    Needs nothing but the alert; never raises. ``resource`` is ``None`` when nothing resolves.
    """
    notes: list[str] = []
    found: AccountId | DeploymentId | None = None
    source: str | None = None
    for where, raw in _candidates(alert):
        parsed = _parse_cognitive(raw, where, notes)
        if parsed is None:
            continue
        refines = isinstance(found, AccountId) and isinstance(parsed, DeploymentId) and parsed.account == found
        if found is None or refines:
            found, source = parsed, where
        elif parsed.account != found.account:
            notes.append(f"{where} names another account ({parsed.account.name!r}); using {source}")
    if found is None:
        if alert.compromised_entity and not alert.compromised_entity.startswith("/"):
            notes.append("compromised_entity is a name, not a resource id; no AI resource resolved")
        return ResourceResolution(None, notes=tuple(notes[:_MAX_NOTES]))
    deployment_source = None
    if isinstance(found, AccountId):
        found, deployment_source = _with_deployment(found, alert, notes)
    return ResourceResolution(found, source, deployment_source, tuple(notes[:_MAX_NOTES]))
