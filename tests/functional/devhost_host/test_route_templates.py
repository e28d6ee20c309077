"""Route templates: the ASP.NET forms devhost honours and the ones it refuses."""

from __future__ import annotations

import pytest

from devhost.routing import RouteTemplateError, parse_route


def _match(template: str, path: str) -> dict[str, str] | None:
    return parse_route(template).match(path.split("/") if path else [])


def test_default_value_fills_a_missing_segment() -> None:
    assert _match("reports/{year=2026}", "reports") == {"year": "2026"}


def test_chained_constraints_must_all_hold() -> None:
    assert _match("pages/{n:int:range(1,10)}", "pages/5") == {"n": "5"}
    assert _match("pages/{n:int:range(1,10)}", "pages/11") is None


def test_regex_constraint_with_escaped_braces() -> None:
    template = r"codes/{code:regex(^\d{{3}}$)}"
    assert _match(template, "codes/123") == {"code": "123"}
    assert _match(template, "codes/1234") is None


def test_guid_alpha_bool_and_length_constraints() -> None:
    assert _match("x/{id:guid}", "x/6f1c9b8e-8f2a-4c55-9c1d-2b1e7f0a9d11") is not None
    assert _match("x/{id:guid}", "x/not-a-guid") is None
    assert _match("x/{s:alpha:length(2,4)}", "x/abc") == {"s": "abc"}
    assert _match("x/{s:alpha:length(2,4)}", "x/abcde") is None
    assert _match("x/{flag:bool}", "x/TRUE") == {"flag": "TRUE"}


def test_int_constraint_respects_the_int32_range() -> None:
    assert _match("x/{n:int}", "x/2147483647") is not None
    assert _match("x/{n:int}", "x/2147483648") is None
    assert _match("x/{n:long}", "x/2147483648") is not None


def test_percent_encoded_segments_are_decoded() -> None:
    assert _match("users/{name}", "users/J%C3%BCrgen") == {"name": "Jürgen"}


def test_extra_segments_do_not_match() -> None:
    assert _match("a/{b}", "a/1/2") is None


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("files/{name}.{ext}", "mixes literals and parameters"),
        ("a/{id:unknown}", "unknown route constraint"),
        ("a/{x?}/b", "follows an optional one"),
        ("a/{*rest}/b", "catch-all parameter must be the last"),
        ("a/{x}/{X}", "appears twice"),
        ("a/{x:min(one)}", "integer argument"),
        ("a//b", "empty segment"),
    ],
)
def test_unsupported_templates_are_refused_with_the_reason(template: str, reason: str) -> None:
    with pytest.raises(RouteTemplateError, match=reason):
        parse_route(template)
