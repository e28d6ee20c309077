"""``to_finding``: a ``DefenderAlert`` as the ``Finding`` one incident orchestration consumes.

- ``source`` = ``FindingSource.DEFENDER_ALERT``;
- ``kind`` = ``"defender:" + canonical alert type`` (e.g. ``defender:AI.Azure_ASCIISmuggling``; an
  unknown ``AI.`` type keeps the received type). Policies that match by class use
  ``evidence["category"]`` (an ``AlertCategory`` value, ``ai_other`` for unknown types);
- ``dedupe_key`` = ``"defender:" + SystemAlertId.lower()``: the same alert from the alerts API,
  workflow automation and the SecurityAlert table is one incident;
- ``first_seen`` / ``last_seen`` = the alert's start / end time;
- ``resource`` = ``resolve_resource(alert).resource`` (``None`` means no containment).

Evidence is a bounded summary of attacker-controllable text, kept as data (see
``shared.alerts.sanitize``): strings are cleaned and truncated, lists capped, and the whole is
shrunk step by step until it fits ``EVIDENCE_BUDGET_BYTES`` (below ``MAX_EVIDENCE_BYTES``);
``evidence["truncated"]`` says when a step dropped or cut something.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.alerts.alert import DefenderAlert
from shared.alerts.catalogue import AlertCategory
from shared.alerts.resources import ResourceResolution, resolve_resource
from shared.alerts.sanitize import clean, json_size
from shared.finding import MAX_EVIDENCE_BYTES, Finding, FindingSource

__all__ = [
    "EVIDENCE_BUDGET_BYTES",
    "EVIDENCE_SCHEMA",
    "entity_summary",
    "finding_category",
    "finding_kind",
    "to_finding",
]

EVIDENCE_SCHEMA = "defender_alert/1"
EVIDENCE_BUDGET_BYTES = MAX_EVIDENCE_BYTES * 3 // 4
"""Evidence stays well under the Finding limit, leaving room for later enrichment."""

_NON_ALNUM = re.compile(r"[^a-z0-9]")

# Entity summary: which entity types / fields and which extended-property keys feed each list.
# The entity types and field names are Defender's documented entity schema (ip.Address,
# account.AadUserId, url.Url, azure-resource.ResourceId, cloud-application.Name); the
# extended-property keys are guesses that cover the UserSecurityContext fields (EndUserId,
# SourceIP, applicationName) - NOT CONFIRMED for AI alerts.
_ENTITY_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ips": {"ip": ("address",)},
    "accounts": {"account": ("name", "upnsuffix")},
    "end_user_ids": {"account": ("aaduserid", "objectguid")},
    "urls": {"url": ("url",)},
    "azure_resources": {"azureresource": ("resourceid",)},
    "application_names": {"cloudapplication": ("name",)},
    "hosts": {"host": ("hostname",)},
}
_PROPERTY_KEYS: dict[str, frozenset[str]] = {
    "ips": frozenset({"ip", "ipaddress", "clientip", "clientipaddress", "sourceip", "sourceipaddress", "callerip"}),
    "user_agents": frozenset({"useragent", "clientuseragent", "suspicioususeragent"}),
    "end_user_ids": frozenset({"enduserid", "enduser", "userobjectid", "aaduserid"}),
    "application_names": frozenset({"applicationname", "appname", "application"}),
    "urls": frozenset({"url", "maliciousurl", "phishingurl", "suspiciousurl"}),
}
_SUMMARY_ITEMS = 10
_SUMMARY_CHARS = 256


def finding_kind(alert: DefenderAlert) -> str:
    """``"defender:" + alert.alert_type`` (the canonical type)."""
    return "defender:" + alert.alert_type


def finding_category(finding: Finding) -> AlertCategory | None:
    """The ``AlertCategory`` of a finding made by ``to_finding``; ``None`` for any other finding.

    Policies use it to match Defender findings by class (``jailbreak``, ``wallet_abuse``...).
    """
    if finding.source is not FindingSource.DEFENDER_ALERT:
        return None
    value = finding.evidence.get("category")
    try:
        return AlertCategory(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _norm(key: str) -> str:
    return _NON_ALNUM.sub("", key.lower())


def entity_summary(alert: DefenderAlert) -> dict[str, list[str]]:
    """IPs, user agents, end-user ids, accounts, URLs, apps, hosts and Azure resources named by
    the alert's entities and extended properties; each list deduplicated and bounded."""
    found: dict[str, list[str]] = {}

    def add(bucket: str, value: object) -> None:
        if not isinstance(value, str | int) or isinstance(value, bool):
            return
        text = clean(str(value), _SUMMARY_CHARS)
        items = found.setdefault(bucket, [])
        if text and text not in items and len(items) < _SUMMARY_ITEMS:
            items.append(text)

    for entity in alert.entities:
        etype = entity.get("type", entity.get("Type"))
        if not isinstance(etype, str):
            continue
        etype_key = _norm(etype)
        fields = {_norm(k): v for k, v in entity.items()}
        for bucket, by_type in _ENTITY_FIELDS.items():
            for wanted in by_type.get(etype_key, ()):
                add(bucket, fields.get(wanted))
        if "useragent" in fields:
            add("user_agents", fields["useragent"])
    for key, value in alert.extended_properties.items():
        norm = _norm(key)
        for bucket, keys in _PROPERTY_KEYS.items():
            if norm in keys:
                add(bucket, value)
    return {k: v for k, v in found.items() if v}


def _build_evidence(alert: DefenderAlert, resolution: ResourceResolution) -> dict[str, Any]:
    entry = alert.catalogue_entry
    evidence: dict[str, Any] = {
        "schema": EVIDENCE_SCHEMA,
        "alert_type": alert.alert_type,
        "category": alert.category.value,
        "catalogued": entry is not None,
        "family": entry.family.value if entry is not None else None,
        "display_name": alert.display_name,
        "description": clean(alert.description, 2000),
        "severity": alert.severity.value,
        "status": alert.status.value,
        "tactics": list(alert.tactics),
        "techniques": list(alert.techniques),
        "compromised_entity": alert.compromised_entity,
        "system_alert_id": alert.system_alert_id,
        "alert_uri": alert.alert_uri,
        "product_name": alert.product_name,
        "source_format": alert.source_format.value,
        "received_via": alert.received_via,
        "resource_source": resolution.source,
        "deployment_source": resolution.deployment_source,
        "resource_notes": list(resolution.notes),
        "extended_properties": {k: clean(v, 512) for k, v in list(alert.extended_properties.items())[:25]},
        "entities": entity_summary(alert),
        "truncated": False,
    }
    if alert.alert_type_received != alert.alert_type:
        evidence["alert_type_received"] = alert.alert_type_received
    if entry is not None and entry.superseded_by:
        evidence["superseded_by"] = entry.superseded_by
    return evidence


def _shrink_properties(ev: dict[str, Any]) -> None:
    ev["extended_properties"] = {k: clean(v, 128) for k, v in list(ev["extended_properties"].items())[:10]}


def _shrink_entities(ev: dict[str, Any]) -> None:
    ev["entities"] = {k: [clean(x, 128) for x in v[:3]] for k, v in ev["entities"].items()}
    ev["resource_notes"] = [clean(n, 200) for n in ev["resource_notes"][:3]]


def _shrink_description(ev: dict[str, Any]) -> None:
    ev["description"] = clean(ev["description"], 500)
    ev["compromised_entity"] = clean(ev["compromised_entity"] or "", 200) or None


def _drop_properties(ev: dict[str, Any]) -> None:
    ev["extended_properties"] = {}


def _drop_entities(ev: dict[str, Any]) -> None:
    ev["entities"] = {}
    ev["resource_notes"] = []
    ev["techniques"] = ev["techniques"][:5]
    ev["tactics"] = ev["tactics"][:5]
    ev["alert_uri"] = None


_SHRINK_STEPS: tuple[Callable[[dict[str, Any]], None], ...] = (
    _shrink_properties,
    _shrink_entities,
    _shrink_description,
    _drop_properties,
    _drop_entities,
)


def _fit(evidence: dict[str, Any]) -> dict[str, Any]:
    for step in _SHRINK_STEPS:
        if json_size(evidence) <= EVIDENCE_BUDGET_BYTES:
            break
        step(evidence)
        evidence["truncated"] = True
    return evidence


def to_finding(alert: DefenderAlert, resolution: ResourceResolution | None = None) -> Finding:
    """The ``Finding`` for ``alert`` (resolving its resource unless ``resolution`` is given).

    Needs an alert built by ``to_defender_alert`` (bounded fields). Raises
    ``pydantic.ValidationError`` only if that contract is broken.
    """
    res = resolution if resolution is not None else resolve_resource(alert)
    return Finding(
        source=FindingSource.DEFENDER_ALERT,
        kind=finding_kind(alert),
        severity=alert.severity,
        title=clean(alert.display_name, 500) or alert.alert_type,
        resource=res.resource,
        evidence=_fit(_build_evidence(alert, res)),
        dedupe_key=alert.dedupe_key,
        first_seen=alert.start_time,
        last_seen=alert.end_time,
    )
