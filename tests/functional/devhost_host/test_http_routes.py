"""HTTP triggers: route templates, methods and what the function receives."""

from __future__ import annotations

import requests

from devhost.server import DevHostThread


def _get(host: DevHostThread, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{host.url}{path}", params={"code": host.function_key}, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_int_constrained_parameter_reaches_function_as_route_param(host: DevHostThread) -> None:
    body = _get(host, "/api/items/42").json()
    assert body["route_params"] == {"id": "42"}


def test_int_constraint_rejects_non_numeric_segment_with_404(host: DevHostThread) -> None:
    assert _get(host, "/api/items/forty-two").status_code == 404


def test_literal_route_wins_over_parameter_route(host: DevHostThread) -> None:
    body = _get(host, "/api/items/latest").json()
    assert body["route_params"] == {}
    assert body["url"].endswith("/api/items/latest?code=" + host.function_key)


def test_literal_segments_match_case_insensitively(host: DevHostThread) -> None:
    assert _get(host, "/API/Items/7").json()["route_params"] == {"id": "7"}


def test_catch_all_parameter_takes_the_rest_of_the_path_decoded(host: DevHostThread) -> None:
    body = requests.get(f"{host.url}/api/files/reports/2026/q1%20final.pdf", timeout=10).json()
    assert body["route_params"] == {"path": "reports/2026/q1 final.pdf"}


def test_optional_parameter_may_be_absent(host: DevHostThread) -> None:
    absent = requests.get(f"{host.url}/api/greet", timeout=10).json()
    present = requests.get(f"{host.url}/api/greet/ada", timeout=10).json()
    assert absent["route_params"] == {}
    assert present["route_params"] == {"name": "ada"}


def test_request_carries_method_query_headers_and_body(host: DevHostThread) -> None:
    response = requests.post(
        f"{host.url}/api/items/3",
        params={"code": host.function_key, "verbose": "1"},
        headers={"X-Trace": "t-1", "Content-Type": "application/json"},
        data=b'{"k": "v"}',
        timeout=10,
    )
    body = response.json()
    assert body["method"] == "POST"
    assert body["params"] == {"code": host.function_key, "verbose": "1"}
    assert body["headers"]["x-trace"] == "t-1"
    assert body["body"] == '{"k": "v"}'


def test_method_not_declared_by_the_function_is_404(host: DevHostThread) -> None:
    response = requests.delete(f"{host.url}/api/items/3", params={"code": host.function_key}, timeout=10)
    assert response.status_code == 404


def test_unknown_route_is_404(host: DevHostThread) -> None:
    assert _get(host, "/api/no-such-function").status_code == 404


def test_route_outside_the_api_prefix_is_404(host: DevHostThread) -> None:
    assert requests.get(f"{host.url}/anon", timeout=10).status_code == 404
