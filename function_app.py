"""Warden's Azure Functions entry point (Python v2 programming model).

Validates settings at start-up (a bad setting fails the host with the setting named), then
registers every blueprint from ``handlers/``. Nothing else lives here.
"""

import azure.durable_functions as df
import azure.functions as func

from handlers import BLUEPRINTS
from shared.bootstrap import startup

startup()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
