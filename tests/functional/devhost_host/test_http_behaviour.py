"""HTTP responses, Easy Auth headers, failures and limits."""

from __future__ import annotations

import base64
import json

import requests

from devhost.server import DevHostThread

from .conftest import BODY_LIMIT


def test_easy_auth_headers_reach_the_function_unchanged(host: DevHostThread) -> None:
    principal = {
        "auth_typ": "aad",
        "claims": [{"typ": "roles", "val": "Warden.Approver"}],
        "name_typ": "name",
        "role_typ": "roles",
    }
    headers = {
        "X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(principal).encode()).decode(),
        "X-MS-CLIENT-PRINCIPAL-ID": "11111111-2222-3333-4444-555555555555",
        "X-MS-CLIENT-PRINCIPAL-NAME": "oncall@contoso.example",
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    }
    body = requests.get(f"{host.url}/api/whoami", headers=headers, timeout=10).json()
    assert body == {
        "id": "11111111-2222-3333-4444-555555555555",
        "name": "oncall@contoso.example",
        "idp": "aad",
        "principal": principal,
    }


def test_http_response_status_headers_cookies_and_context_are_returned(host: DevHostThread) -> None:
    response = requests.post(f"{host.url}/api/created", json={"n": 1}, timeout=10)
    assert response.status_code == 201
    assert response.headers["X-Custom"] == "yes"
    assert response.headers["Content-Type"] == "application/json"
    assert response.cookies.get("session") == "abc"
    body = response.json()
    assert body["received"] == {"n": 1}
    assert body["invocation_id"]


def test_returned_string_becomes_200_text_plain(host: DevHostThread) -> None:
    response = requests.get(f"{host.url}/api/anon", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == "anonymous ok"


def test_throwing_function_returns_500_and_host_stays_up(host: DevHostThread) -> None:
    assert requests.get(f"{host.url}/api/boom", timeout=10).status_code == 500
    assert requests.get(f"{host.url}/api/anon", timeout=10).status_code == 200


def test_returning_none_from_http_function_is_500_as_in_the_worker(host: DevHostThread) -> None:
    assert requests.get(f"{host.url}/api/returns-none", timeout=10).status_code == 500


def test_body_at_the_limit_is_accepted(host: DevHostThread) -> None:
    response = requests.post(f"{host.url}/api/upload", data=b"x" * BODY_LIMIT, timeout=10)
    assert response.status_code == 200
    assert response.text == str(BODY_LIMIT)


def test_body_over_the_limit_is_413(host: DevHostThread) -> None:
    response = requests.post(f"{host.url}/api/upload", data=b"x" * (BODY_LIMIT + 1), timeout=10)
    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_413(host: DevHostThread) -> None:
    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(3):
            yield b"y" * (BODY_LIMIT // 2)

    response = requests.post(f"{host.url}/api/upload", data=chunks(), timeout=10)
    assert response.status_code == 413
