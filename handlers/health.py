"""Health endpoint: ``GET /api/health`` (anonymous). Says the app loaded; reveals no configuration."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()

VERSION = "0.1.0"


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness: 200 with the app version once function_app.py has loaded and settings validated."""
    body = {"status": "ok", "service": "warden", "version": VERSION}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
