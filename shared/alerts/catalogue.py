"""The catalogue of Microsoft Defender for AI alert types, and how a received type maps onto it.

The data lives in ``defender_ai_alerts.json`` beside this module (its ``source`` field says where
it was copied from). Each entry has the documented display name, default severity and MITRE
tactics, plus Warden's own ``category``: the coarse class policies match on (``jailbreak``,
``malicious_url``, ``wallet_abuse``...).

Canonical ids
-------------
The canonical form of every id **has the ``AI.`` prefix**, because every documented id but one
has it and the documented ``SecurityAlert | where AlertType startswith "AI."`` filter relies on
it. A received type resolves to its canonical entry when it matches, ignoring case:

- the canonical id itself (``ai.azure_jailbreak...`` -> ``AI.Azure_Jailbreak...``);
- the id without the ``AI.`` prefix (the doc writes ``Azure_Agentic_BlockedJailbreak`` without
  it, probably a typo; any catalogue id is accepted that way);
- the misspelling ``LLMReconaissance`` for ``LLMReconnaissance`` (the doc used it for months).

An ``AI.``-prefixed type that is not in the catalogue is still a Defender for AI alert: it
classifies as ``AlertCategory.AI_OTHER`` with no entry (severity then comes from the alert).
Any other type is not an AI alert, with one exception: the doc's "Exposed Kubernetes service
detected (AI applications on Kubernetes)" alert has no published id, so it is matched by its
exact display name (NOT CONFIRMED: the alert type Defender really sends for it).

Historical ids (``AI.Azure_DataLeakInModelResponse.Sensitive``, ``AI.Azure_SensitiveDataAnomaly``
and the three ``AI.Azure_Phishing*`` ids renamed to ``AI.Azure_MaliciousUrl.*``) are entries of
their own (family ``historical``), so an old alert keeps the id Defender sent; the renamed ones
name their successor in ``superseded_by`` and share its category.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from shared.finding import Severity

__all__ = [
    "AI_ALERT_PREFIX",
    "AlertCatalogue",
    "AlertCategory",
    "AlertFamily",
    "CatalogueEntry",
    "CatalogueError",
    "Classification",
    "default_catalogue",
    "load_catalogue",
]

AI_ALERT_PREFIX = "AI."
"""Every Defender for AI alert type starts with this (case-insensitive match)."""

_DATA_FILE = "defender_ai_alerts.json"


class CatalogueError(ValueError):
    """The catalogue data file is malformed (a packaging or editing mistake, not bad input)."""


class AlertCategory(StrEnum):
    """Warden's coarse class of an AI alert; response policies match on it."""

    JAILBREAK = "jailbreak"
    PROMPT_INJECTION = "prompt_injection"
    CREDENTIAL_THEFT = "credential_theft"
    MALICIOUS_URL = "malicious_url"
    SUSPICIOUS_ACCESS = "suspicious_access"
    WALLET_ABUSE = "wallet_abuse"
    RECONNAISSANCE = "reconnaissance"
    ANOMALOUS_TOOL = "anomalous_tool"
    ANOMALOUS_OPERATION = "anomalous_operation"
    DATA_LEAK = "data_leak"
    MODEL_MALWARE = "model_malware"
    EXPOSED_SERVICE = "exposed_service"
    AI_OTHER = "ai_other"
    """An ``AI.`` alert type the catalogue does not know (new or undocumented)."""


class AlertFamily(StrEnum):
    """Which section of the doc an entry comes from."""

    APPLICATION = "application"
    AGENT = "agent"
    MODEL = "model"
    HISTORICAL = "historical"


_MITRE_TACTICS = {
    t.lower(): t
    for t in (
        "Reconnaissance",
        "Resource Development",
        "Initial Access",
        "Execution",
        "Persistence",
        "Privilege Escalation",
        "Defense Evasion",
        "Credential Access",
        "Discovery",
        "Lateral Movement",
        "Collection",
        "Command and Control",
        "Exfiltration",
        "Impact",
    )
}
_PARENTHETICAL = re.compile(r"\s*\(.*?\)\s*")


def normalize_tactic(value: str) -> str:
    """``"Impact (Defacement)"`` -> ``"Impact"``, ``"Initial access"`` -> ``"Initial Access"``.

    Unknown names are returned trimmed, unchanged otherwise.
    """
    bare = _PARENTHETICAL.sub(" ", value).strip()
    return _MITRE_TACTICS.get(bare.lower(), bare)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One documented Defender for AI alert type.

    ``alert_type`` is the canonical id (``None`` only for the doc's one alert without an id).
    ``tactics`` are MITRE tactic names; ``tactics_documented`` keeps the doc's wording
    (e.g. ``"Impact (Defacement)"``).
    """

    alert_type: str | None
    display_name: str
    severity: Severity
    tactics: tuple[str, ...]
    tactics_documented: tuple[str, ...]
    category: AlertCategory
    family: AlertFamily
    preview: bool
    description: str
    aliases: tuple[str, ...] = ()
    superseded_by: str | None = None
    notes: str | None = None
    in_docs: str | None = None
    """For historical ids: when the id was in the doc (e.g. ``"2024-07-17 to 2025-04-06"``)."""


@dataclass(frozen=True, slots=True)
class Classification:
    """What a received alert type is, for Warden.

    ``is_ai`` is False for alerts that are not ours (skip them). For AI alerts, ``entry`` is the
    catalogue entry (``None`` for an unknown ``AI.`` type) and ``canonical_type`` the id used in
    finding kinds: the entry's canonical id, or the received type (trimmed) when the entry has
    no id or the type is unknown.
    """

    received_type: str
    is_ai: bool
    entry: CatalogueEntry | None
    canonical_type: str | None

    @property
    def category(self) -> AlertCategory | None:
        """The entry's category; ``AI_OTHER`` for unknown AI types; ``None`` if not an AI alert."""
        if not self.is_ai:
            return None
        return self.entry.category if self.entry is not None else AlertCategory.AI_OTHER


def _lookup_key(alert_type: str) -> str:
    """Case-fold, trim, drop the ``AI.`` prefix and fix the documented misspelling."""
    key = alert_type.strip().casefold()
    if key.startswith(AI_ALERT_PREFIX.casefold()):
        key = key[len(AI_ALERT_PREFIX) :]
    return key.replace("reconaissance", "reconnaissance")


class AlertCatalogue:
    """An immutable set of entries with case- and spelling-tolerant lookup.

    Raises ``CatalogueError`` on construction if two entries claim the same id or alias.
    """

    def __init__(self, entries: tuple[CatalogueEntry, ...], *, source: str = "") -> None:
        self.entries = entries
        self.source = source
        self._by_key: dict[str, CatalogueEntry] = {}
        self._by_display_name: dict[str, CatalogueEntry] = {}
        for entry in entries:
            if entry.alert_type is None:
                self._by_display_name[entry.display_name.strip().casefold()] = entry
                continue
            if not entry.alert_type.startswith(AI_ALERT_PREFIX):
                raise CatalogueError(f"canonical id {entry.alert_type!r} lacks the {AI_ALERT_PREFIX!r} prefix")
            for name in (entry.alert_type, *entry.aliases):
                key = _lookup_key(name)
                other = self._by_key.get(key)
                if other is not None and other is not entry:
                    raise CatalogueError(f"{name!r} names both {other.alert_type!r} and {entry.alert_type!r}")
                self._by_key[key] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, alert_type: str) -> CatalogueEntry | None:
        """The entry for ``alert_type`` in any documented spelling, or ``None``."""
        return self._by_key.get(_lookup_key(alert_type))

    def get(self, canonical_type: str) -> CatalogueEntry:
        """The entry whose canonical id is exactly ``canonical_type``; raises ``KeyError``."""
        entry = self.lookup(canonical_type)
        if entry is None or entry.alert_type != canonical_type:
            raise KeyError(canonical_type)
        return entry

    def by_category(self, category: AlertCategory) -> tuple[CatalogueEntry, ...]:
        """All entries of one category, in catalogue order."""
        return tuple(e for e in self.entries if e.category is category)

    def classify(self, alert_type: str, display_name: str | None = None) -> Classification:
        """Classify a received alert type (and, for the id-less entry, its display name)."""
        received = alert_type.strip()
        entry = self.lookup(received)
        if entry is not None:
            return Classification(alert_type, True, entry, entry.alert_type)
        if received.casefold().startswith(AI_ALERT_PREFIX.casefold()):
            return Classification(alert_type, True, None, received)
        if display_name is not None:
            by_name = self._by_display_name.get(display_name.strip().casefold())
            if by_name is not None:
                return Classification(alert_type, True, by_name, received)
        return Classification(alert_type, False, None, None)


def _entry_from_json(raw: Any, index: int) -> CatalogueEntry:
    where = f"entries[{index}]"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected an object")
    try:
        tactics_doc = tuple(str(t).strip() for t in raw.get("tactics", []))
        return CatalogueEntry(
            alert_type=raw["alert_type"],
            display_name=str(raw["display_name"]),
            severity=Severity.parse(raw["severity"]),
            tactics=tuple(dict.fromkeys(normalize_tactic(t) for t in tactics_doc if t)),
            tactics_documented=tactics_doc,
            category=AlertCategory(raw["category"]),
            family=AlertFamily(raw["family"]),
            preview=bool(raw.get("preview", False)),
            description=str(raw.get("description", "")),
            aliases=tuple(raw.get("aliases", ())),
            superseded_by=raw.get("superseded_by"),
            notes=raw.get("notes"),
            in_docs=raw.get("in_docs"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CatalogueError(f"{where} ({raw.get('alert_type')!r}): {exc}") from exc


def load_catalogue(text: str | None = None) -> AlertCatalogue:
    """Build a catalogue from JSON text (default: the packaged ``defender_ai_alerts.json``).

    Raises ``CatalogueError`` if the data is malformed or ambiguous.
    """
    if text is None:
        text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CatalogueError(f"catalogue is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise CatalogueError("catalogue must be an object with an 'entries' list")
    entries = tuple(_entry_from_json(raw, i) for i, raw in enumerate(doc["entries"]))
    catalogue = AlertCatalogue(entries, source=str(doc.get("source", "")))
    for entry in entries:
        if entry.superseded_by is not None and catalogue.lookup(entry.superseded_by) is None:
            raise CatalogueError(f"{entry.alert_type!r} is superseded by unknown id {entry.superseded_by!r}")
    return catalogue


_DEFAULT: AlertCatalogue | None = None


def default_catalogue() -> AlertCatalogue:
    """The packaged catalogue, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_catalogue()
    return _DEFAULT
