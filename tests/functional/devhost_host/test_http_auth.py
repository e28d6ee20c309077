"""HTTP auth levels: function, admin and anonymous keys, in the query or the header."""

from __future__ import annotations

import requests

from devhost.server import DevHostThread


def _status(host: DevHostThread, path: str, *, code: str | None = None, header: str | None = None) -> int:
    params = {"code": code} if code is not None else None
    headers = {"x-functions-key": header} if header is not None else None
    return requests.get(f"{host.url}{path}", params=params, headers=headers, timeout=10).status_code


def test_function_level_without_key_is_401(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1") == 401


def test_function_level_with_wrong_key_is_401(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1", code="not-the-key") == 401


def test_function_level_accepts_function_key_in_query(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1", code=host.function_key) == 200


def test_function_level_accepts_function_key_in_header(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1", header=host.function_key) == 200


def test_function_level_accepts_master_key(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1", header=host.master_key) == 200


def test_header_key_takes_precedence_over_query_key(host: DevHostThread) -> None:
    assert _status(host, "/api/items/1", code=host.function_key, header="wrong") == 401


def test_admin_level_rejects_function_key(host: DevHostThread) -> None:
    assert _status(host, "/api/admin-only", code=host.function_key) == 401


def test_admin_level_accepts_master_key(host: DevHostThread) -> None:
    assert _status(host, "/api/admin-only", code=host.master_key) == 200


def test_admin_level_without_key_is_401(host: DevHostThread) -> None:
    assert _status(host, "/api/admin-only") == 401


def test_anonymous_needs_no_key(host: DevHostThread) -> None:
    assert _status(host, "/api/anon") == 200


def test_anonymous_ignores_a_wrong_key(host: DevHostThread) -> None:
    assert _status(host, "/api/anon", code="whatever") == 200
