"""Calling activities with the contract's models, and reading what Durable hands back."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

__all__ = ["call", "loads"]


def loads(value: Any) -> Any:
    """A Durable payload as data: inputs, activity results and event payloads sometimes arrive as
    JSON text, even twice encoded (azure-functions-durable #295); decode them."""
    for _ in range(3):
        if not isinstance(value, str | bytes):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def call(context: Any, name: str, request: BaseModel, retry: Any = None) -> Any:
    """The task of activity ``name`` with ``request`` as its JSON input (with ``retry`` when given:
    Durable's ``RetryOptions``, built by the handlers from the contract's ``RetrySpec``)."""
    payload = request.model_dump(mode="json")
    if retry is not None:
        return context.call_activity_with_retry(name, retry, payload)
    return context.call_activity(name, payload)
