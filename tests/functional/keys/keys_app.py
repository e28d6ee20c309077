"""A Function app with the keys blueprint and the approval gate an emergency rotation asks, for
devhost's Durable engine in these tests."""

import azure.durable_functions as df
import azure.functions as func

from handlers.approvals import bp as approvals_bp
from handlers.keys import bp as keys_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(keys_bp)
app.register_functions(approvals_bp)
