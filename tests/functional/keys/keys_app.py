"""A Function app with only the keys blueprint, for devhost's Durable engine in these tests."""

import azure.durable_functions as df
import azure.functions as func

from handlers.keys import bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)
