"""Azure Functions glue: triggers, orchestrators, activities and HTTP routes.

Each module exposes a ``bp`` blueprint; ``BLUEPRINTS`` lists them for ``function_app.py``.
Handlers translate bindings to core types and call one core function; they hold no rules.
"""

from __future__ import annotations

import azure.durable_functions as df

from handlers import health

BLUEPRINTS: tuple[df.Blueprint, ...] = (health.bp,)
