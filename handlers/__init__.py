"""Azure Functions glue: triggers, orchestrators, activities and HTTP routes.

Each module exposes a ``bp`` blueprint; ``BLUEPRINTS`` lists them for ``function_app.py``.
Handlers translate bindings to core types and call one core function; they hold no rules.
"""

from __future__ import annotations

import os

import azure.durable_functions as df

from handlers import alerts, anomalies, approvals, health, incidents, keys

BLUEPRINTS: tuple[df.Blueprint, ...] = (health.bp, incidents.bp, alerts.bp, keys.bp, approvals.bp, anomalies.bp)

# The Event Hub trigger exists only where continuous export is configured: a trigger whose
# connection is missing would fail its listener at start-up in Azure.
if os.environ.get("WARDEN_EVENTHUB_NAME"):
    BLUEPRINTS = (*BLUEPRINTS, alerts.eventhub_bp)
