"""Warden's settings, read from the environment (Function App application settings).

Every setting Warden reads is declared here, once, with its type and what it means.
``load_settings()`` validates them all at start-up; a missing or malformed setting raises
``SettingsError`` naming the setting, the value it had and what was expected. Secret
values are never echoed back in those messages.

Names are the environment variable names, case-sensitive as Azure app settings are.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["SettingsError", "WardenSettings", "get_settings", "load_settings", "vault_url"]

_TASK_HUB_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_VAULT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_CRON_FIELD_RE = re.compile(r"^[0-9*/,\-A-Za-z]+$")
_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{1,63}$")


def vault_url(value: str) -> str:
    """A vault name (``kv-ai``) or URL -> ``https://kv-ai.vault.azure.net`` (lower case, no slash).

    Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if _VAULT_NAME_RE.match(text):
        return f"https://{text.lower()}.vault.azure.net"
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{text!r}: expected a vault name or an https://{{name}}.vault.azure.net URL")
    host = parts.hostname.lower()
    return f"https://{host}" + (f":{parts.port}" if parts.port else "")


class SettingsError(ValueError):
    """One or more settings are missing or malformed.

    ``problems`` lists one human-readable line per bad setting.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Warden cannot start: invalid application settings:\n  - " + "\n  - ".join(problems))


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class WardenSettings(BaseSettings):
    """All of Warden's application settings.

    Each field's alias is the environment variable that sets it.
    """

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # --- scope -----------------------------------------------------------------------------
    subscription_ids: Annotated[list[str], NoDecode] = Field(
        validation_alias="WARDEN_SUBSCRIPTION_IDS",
        description="Comma-separated subscription GUIDs that Warden monitors and may act on.",
    )
    log_analytics_workspace_id: str | None = Field(
        default=None,
        validation_alias="WARDEN_LOG_ANALYTICS_WORKSPACE_ID",
        description="Workspace (customer) GUID of the Log Analytics workspace holding "
        "SecurityAlert, AzureActivity, AzureDiagnostics and AzureMetrics.",
    )
    identity_principal_id: str | None = Field(
        default=None,
        validation_alias="WARDEN_IDENTITY_PRINCIPAL_ID",
        description="Object id of Warden's own managed identity; key operations by any other "
        "caller are reported as out of band.",
    )

    # --- policy and behaviour ---------------------------------------------------------------
    policy_path: Path = Field(
        default=Path("policy.yaml"),
        validation_alias="WARDEN_POLICY_PATH",
        description="Path of the response policy file (relative to the app root).",
    )
    dry_run: bool = Field(
        default=False,
        validation_alias="WARDEN_DRY_RUN",
        description="Plan and record every response step but change nothing.",
    )
    max_event_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=16 * 1_048_576,
        validation_alias="WARDEN_MAX_EVENT_BYTES",
        description="Inbound payloads larger than this are quarantined unread.",
    )

    # --- alert intake and incidents ------------------------------------------------------------
    alerts_eventhub_name: str | None = Field(
        default=None,
        validation_alias="WARDEN_EVENTHUB_NAME",
        description="Event Hub receiving Defender continuous export; unset disables the Event Hub trigger. "
        "The connection is WARDEN_EVENTHUB__fullyQualifiedNamespace (managed identity); the consumer "
        "group is WARDEN_EVENTHUB_CONSUMER_GROUP.",
    )
    alert_poll_overlap_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        validation_alias="WARDEN_ALERT_POLL_OVERLAP_MINUTES",
        description="How far back each SecurityAlert poll re-reads, to catch rows ingested late.",
    )
    incident_quiet_minutes: int = Field(
        default=30,
        ge=1,
        le=7 * 24 * 60,
        validation_alias="WARDEN_INCIDENT_QUIET_MINUTES",
        description="An incident closes after this long without a new finding on its resource.",
    )

    # --- keys ----------------------------------------------------------------------------------
    key_vaults: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="WARDEN_KEY_VAULTS",
        description="Comma-separated Key Vault names or https URLs holding account keys under the "
        "dual-credential tags (CredentialId, ProviderAddress, ValidityPeriodDays).",
    )
    key_scan_schedule: str = Field(
        default="0 0 3 * * *",
        validation_alias="WARDEN_KEY_SCAN_SCHEDULE",
        description="Six-field NCRONTAB schedule of the estate key-age scan (default daily at 03:00 UTC).",
    )
    key_activity_window_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        validation_alias="WARDEN_KEY_ACTIVITY_WINDOW_DAYS",
        description="How many days of AzureActivity the workspace keeps (the key-age scan relies on it).",
    )
    key_probe_attempts: int = Field(
        default=6,
        ge=1,
        le=100,
        validation_alias="WARDEN_KEY_PROBE_ATTEMPTS",
        description="Data-plane probes of a regenerated key before the rotation gives up.",
    )
    key_probe_delay_seconds: int = Field(
        default=5,
        ge=0,
        le=600,
        validation_alias="WARDEN_KEY_PROBE_DELAY_SECONDS",
        description="Pause between probes of a regenerated key (new keys can take seconds to propagate).",
    )
    key_account_kinds: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["OpenAI", "AIServices"],
        validation_alias="WARDEN_KEY_KINDS",
        description="Comma-separated Cognitive Services account kinds whose keys Warden scans.",
    )

    # --- durable functions ------------------------------------------------------------------
    task_hub: str = Field(
        default="WardenHub",
        validation_alias="WARDEN_TASK_HUB",
        description="Durable Functions task hub name (host.json reads it as %WARDEN_TASK_HUB%).",
    )

    # --- storage (audit trail, quarantine, watermarks, idempotency records) -------------------
    tables_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WARDEN_TABLES_ENDPOINT", "AzureWebJobsStorage__tableServiceUri"),
        description="Table service URL used with the managed identity, e.g. https://<account>.table.core.windows.net.",
    )
    tables_connection_string: SecretStr | None = Field(
        default=None,
        validation_alias="WARDEN_TABLES_CONNECTION_STRING",
        description="Table service connection string; only for Azurite in local development.",
    )

    # --- notifications and approvals --------------------------------------------------------
    notify_topic_endpoint: str | None = Field(
        default=None,
        validation_alias="WARDEN_NOTIFY_TOPIC_ENDPOINT",
        description="Event Grid custom topic endpoint that receives Warden's CloudEvents.",
    )
    notify_topic_key: SecretStr | None = Field(
        default=None,
        validation_alias="WARDEN_NOTIFY_TOPIC_KEY",
        description="Topic access key; leave unset to publish with the managed identity.",
    )
    teams_webhook_url: SecretStr | None = Field(
        default=None,
        validation_alias="WARDEN_TEAMS_WEBHOOK_URL",
        description="Teams incoming-webhook URL for Adaptive Card notifications.",
    )
    public_base_url: str | None = Field(
        default=None,
        validation_alias="WARDEN_PUBLIC_BASE_URL",
        description="Public https base URL of the Function App, used in approval links.",
    )
    approver_role: str = Field(
        default="Warden.Approver",
        min_length=1,
        validation_alias="WARDEN_APPROVER_ROLE",
        description="App role (or group object id) whose members may approve response steps.",
    )
    link_signing_key: SecretStr | None = Field(
        default=None,
        validation_alias="WARDEN_LINK_SIGNING_KEY",
        description="HMAC key for one-click approval links (a Key Vault reference in Azure).",
    )

    # --- approvals --------------------------------------------------------------------------
    notify_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        validation_alias="WARDEN_NOTIFY_ATTEMPTS",
        description="Attempts per notification channel before the failure is recorded (never blocks a response).",
    )

    # --- anomalies (usage detectors, model allowlist, posture sweep) ---------------------------
    anomaly_schedule: str = Field(
        default="0 */15 * * * *",
        validation_alias="WARDEN_ANOMALY_SCHEDULE",
        description="Six-field NCRONTAB schedule of the usage anomaly detectors (KQL over Log Analytics; "
        "default every 15 minutes). Each run re-examines the last few buckets, so a missed run loses nothing.",
    )
    posture_schedule: str = Field(
        default="0 30 2 * * *",
        validation_alias="WARDEN_POSTURE_SCHEDULE",
        description="Six-field NCRONTAB schedule of the estate sweep: model allowlist and posture "
        "(default daily at 02:30 UTC; ARM reads: one deployments list per account).",
    )
    posture_ingest: Literal["matched", "all", "none"] = Field(
        default="matched",
        validation_alias="WARDEN_POSTURE_INGEST",
        description="Which posture findings open or join incidents: matched (only those a policy rule with "
        "conditions matches; the catch-all default playbook alone is not enough), all, or none.",
    )

    @field_validator("anomaly_schedule", "posture_schedule")
    @classmethod
    def _check_anomaly_schedules(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 6 or not all(_CRON_FIELD_RE.match(f) for f in fields):
            raise ValueError(
                "expected a six-field NCRONTAB expression like '0 */15 * * * *' (second minute hour day month weekday)"
            )
        return value

    # --- Azure endpoints (sovereign clouds) and local development ----------------------------
    arm_endpoint: str = Field(
        default="https://management.azure.com",
        validation_alias="WARDEN_ARM_ENDPOINT",
        description="Azure Resource Manager endpoint.",
    )
    logs_endpoint: str = Field(
        default="https://api.loganalytics.io",
        validation_alias="WARDEN_LOGS_ENDPOINT",
        description="Log Analytics query endpoint.",
    )
    managed_identity_client_id: str | None = Field(
        default=None,
        validation_alias="AZURE_CLIENT_ID",
        description="Client id of a user-assigned managed identity; unset for system-assigned.",
    )
    emulator_url: str | None = Field(
        default=None,
        validation_alias="WARDEN_EMULATOR_URL",
        description="LOCAL DEVELOPMENT ONLY: loopback URL of Warden's Azure emulator. When set, "
        "every Azure call goes to the emulator with a static development token.",
    )
    applicationinsights_connection_string: SecretStr | None = Field(
        default=None,
        validation_alias="APPLICATIONINSIGHTS_CONNECTION_STRING",
        description="When set, logs and traces go to Application Insights via OpenTelemetry.",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias="WARDEN_LOG_LEVEL",
        description="Python log level for Warden's loggers.",
    )

    # --- validators -------------------------------------------------------------------------
    @field_validator("subscription_ids", "key_vaults", "key_account_kinds", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("key_vaults")
    @classmethod
    def _check_vaults(cls, value: list[str]) -> list[str]:
        urls: list[str] = []
        for item in value:
            url = vault_url(item)
            if url not in urls:
                urls.append(url)
        return urls

    @field_validator("key_scan_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 6 or not all(_CRON_FIELD_RE.match(f) for f in fields):
            raise ValueError(
                "expected a six-field NCRONTAB expression like '0 0 3 * * *' (second minute hour day month weekday)"
            )
        return value

    @field_validator("key_account_kinds")
    @classmethod
    def _check_kinds(cls, value: list[str]) -> list[str]:
        if not value or not all(_KIND_RE.match(k) for k in value):
            raise ValueError("expected comma-separated account kinds such as OpenAI,AIServices")
        return value

    @field_validator("subscription_ids")
    @classmethod
    def _check_subscriptions(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one subscription GUID")
        for item in value:
            _require_guid(item, "a subscription GUID")
        return [item.lower() for item in value]

    @field_validator("log_analytics_workspace_id", "identity_principal_id", "managed_identity_client_id")
    @classmethod
    def _check_guid(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        _require_guid(value, "a GUID")
        return value.lower()

    @field_validator("task_hub")
    @classmethod
    def _check_task_hub(cls, value: str) -> str:
        if not _TASK_HUB_RE.match(value):
            raise ValueError("expected 3-45 letters and digits starting with a letter (Durable task hub name rules)")
        return value

    @field_validator("arm_endpoint", "logs_endpoint", "tables_endpoint", "notify_topic_endpoint", "public_base_url")
    @classmethod
    def _check_https(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
            raise ValueError("expected an https:// URL (plain http is allowed only for loopback hosts)")
        if not parts.hostname:
            raise ValueError("expected an absolute URL with a host name")
        return value.rstrip("/")

    @field_validator("emulator_url")
    @classmethod
    def _check_emulator(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not _is_loopback(parts.hostname):
            raise ValueError("expected an http(s) URL on a loopback address (127.0.0.1, ::1 or localhost)")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @property
    def uses_emulator(self) -> bool:
        """True when Azure calls are routed to the local emulator."""
        return self.emulator_url is not None


def _require_guid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"expected {what} like 00000000-0000-0000-0000-000000000000") from None
    if len(value) != 36:
        raise ValueError(f"expected {what} in the 8-4-4-4-12 form")


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_SECRET_FIELDS = {
    name for name, field in WardenSettings.model_fields.items() if field.annotation in (SecretStr, SecretStr | None)
}


def _aliases(field_name: str) -> list[str]:
    alias = WardenSettings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)] if alias else [field_name]


# Pydantic reports errors by field name or by environment variable name; map both to the field.
_FIELD_BY_NAME = {name: name for name in WardenSettings.model_fields} | {
    alias: name for name in WardenSettings.model_fields for alias in _aliases(name)
}


def _describe(error: Any) -> str:
    loc = error.get("loc") or ()
    field_name = _FIELD_BY_NAME.get(str(loc[0]) if loc else "")
    if field_name is None:
        return f"{'.'.join(map(str, loc)) or '?'}: {error.get('msg', 'invalid value')}"
    env = _aliases(field_name)[0]
    if error.get("type") == "missing":
        return f"{env} is missing: {WardenSettings.model_fields[field_name].description}"
    raw = error.get("input")
    shown = "<redacted>" if field_name in _SECRET_FIELDS else repr(raw)
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{env}={shown}: {message}"


def load_settings(**overrides: Any) -> WardenSettings:
    """Read and validate every setting from the environment.

    Keyword overrides (by field name) take precedence over the environment; tests and the CLI
    use them. Raises ``SettingsError`` listing every problem at once.
    """
    try:
        return WardenSettings(**overrides)
    except ValidationError as exc:
        raise SettingsError([_describe(err) for err in exc.errors()]) from None


@lru_cache(maxsize=1)
def get_settings() -> WardenSettings:
    """The process-wide settings, loaded once on first use (at start-up in function_app.py)."""
    return load_settings()
