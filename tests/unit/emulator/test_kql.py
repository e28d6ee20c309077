"""``shared.kql``: rendering named queries with typed parameters, and parsing them back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import kql

SINCE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
UNTIL = datetime(2026, 1, 3, tzinfo=UTC)


def test_every_shipped_query_loads_with_its_header() -> None:
    assert {"ai_accounts", "key_operations", "security_alerts"} <= set(kql.list_queries())
    for name in kql.list_queries():
        query = kql.load(name)
        assert query.text.startswith(f"// warden-query: {name}\n")


def test_render_replaces_the_declare_statement_with_typed_lets() -> None:
    text = kql.render("security_alerts", since=SINCE, until=UNTIL)
    assert text.splitlines()[0] == "// warden-query: security_alerts"
    assert "declare query_parameters" not in text
    assert "let since = datetime(2026-01-02T03:04:05Z);" in text.splitlines()
    assert "let until = datetime(2026-01-03T00:00:00Z);" in text.splitlines()
    assert text.index("let since") < text.index("let until") < text.index("SecurityAlert\n")


def test_render_converts_aware_datetimes_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    text = kql.render("key_operations", since=datetime(2026, 1, 2, 5, 0, 0, 250000, tzinfo=plus_two))
    assert "let since = datetime(2026-01-02T03:00:00.250000Z);" in text


def test_declared_default_is_used_when_the_parameter_is_omitted() -> None:
    assert 'let kinds = dynamic(["OpenAI","AIServices"]);' in kql.render("ai_accounts")
    assert 'let kinds = dynamic(["OpenAI"]);' in kql.render("ai_accounts", kinds=["OpenAI"])


def test_missing_parameter_is_named() -> None:
    with pytest.raises(kql.KqlParameterError, match="'until'"):
        kql.render("security_alerts", since=SINCE)


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(kql.KqlParameterError, match="sinse"):
        kql.render("key_operations", since=SINCE, sinse=SINCE)


def test_mistyped_parameter_names_the_parameter_and_the_expected_type() -> None:
    with pytest.raises(kql.KqlParameterError, match=r"'since'.*expected a datetime"):
        kql.render("key_operations", since="2026-01-01")


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(kql.KqlParameterError, match="timezone-aware"):
        kql.render("key_operations", since=datetime(2026, 1, 1))


def test_unknown_query_names_the_known_ones() -> None:
    with pytest.raises(kql.QueryNotFoundError, match="security_alerts"):
        kql.render("no_such_query")


@pytest.mark.parametrize(
    ("kql_type", "value", "literal"),
    [
        ("datetime", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "datetime(2026-01-02T03:04:05Z)"),
        ("timespan", timedelta(days=1, hours=2, minutes=3, seconds=4), "time(1.02:03:04)"),
        ("timespan", timedelta(hours=1), "time(0.01:00:00)"),
        ("timespan", timedelta(seconds=1, microseconds=500), "time(0.00:00:01.000500)"),
        ("real", 1.5, "real(1.5)"),
        ("real", 3, "real(3.0)"),
        ("real", float("inf"), "real(+inf)"),
        ("long", 42, "long(42)"),
        ("int", -7, "int(-7)"),
        ("bool", True, "true"),
        ("bool", False, "false"),
        ("string", 'say "hi"\\now', '"say \\"hi\\"\\\\now"'),
        ("string", "line1\nline2\ttab", '"line1\\nline2\\ttab"'),
        ("guid", "0F8FAD5B-D9CB-469F-A165-70867728950E", "guid(0f8fad5b-d9cb-469f-a165-70867728950e)"),
        ("dynamic", {"a": [1, "x"]}, 'dynamic({"a":[1,"x"]})'),
        ("dynamic", None, "dynamic(null)"),
    ],
)
def test_literals(kql_type: str, value: object, literal: str) -> None:
    assert kql.format_literal(kql_type, value) == literal


@pytest.mark.parametrize(
    ("kql_type", "value", "message"),
    [
        ("long", True, "expected an integer"),
        ("long", 2**63, "does not fit"),
        ("int", 2**31, "does not fit"),
        ("real", "1.0", "expected a real"),
        ("bool", 1, "expected a bool"),
        ("timespan", timedelta(seconds=-1), "non-negative"),
        ("timespan", 60, "expected a timedelta"),
        ("string", "bell\x07", "control character"),
        ("guid", "not-a-guid", "expected a GUID"),
        ("dynamic", {1, 2}, "JSON-serialisable"),
        ("dynamic", float("nan"), "JSON-serialisable"),
    ],
)
def test_values_that_do_not_fit_are_refused(kql_type: str, value: object, message: str) -> None:
    with pytest.raises(kql.KqlParameterError, match=message):
        kql.format_literal(kql_type, value)


def test_parse_rendered_recovers_name_and_values() -> None:
    parsed = kql.parse_rendered(kql.render("security_alerts", since=SINCE, until=UNTIL))
    assert parsed == kql.RenderedQuery("security_alerts", {"since": SINCE, "until": UNTIL})
    parsed = kql.parse_rendered(kql.render("ai_accounts", kinds=["OpenAI", 'we"ird']))
    assert parsed.params == {"kinds": ["OpenAI", 'we"ird']}


def test_parse_rejects_text_without_a_header() -> None:
    with pytest.raises(kql.UnnamedQueryError, match="warden-query"):
        kql.parse_rendered("SecurityAlert | take 1")


def test_parse_rejects_an_unknown_name() -> None:
    with pytest.raises(kql.QueryNotFoundError, match="made_up"):
        kql.parse_rendered("// warden-query: made_up\nSecurityAlert")


def test_parse_requires_every_declared_parameter() -> None:
    text = "// warden-query: security_alerts\nlet since = datetime(2026-01-01T00:00:00Z);\nSecurityAlert"
    with pytest.raises(kql.KqlParameterError, match="until"):
        kql.parse_rendered(text)


def test_parse_rejects_a_literal_of_the_wrong_type() -> None:
    text = "// warden-query: key_operations\nlet since = long(5);\nAzureActivity"
    with pytest.raises(kql.KqlParameterError, match="since"):
        kql.parse_rendered(text)


def test_parse_literal_accepts_short_timespans() -> None:
    assert kql.parse_literal("timespan", "1h") == timedelta(hours=1)
    assert kql.parse_literal("timespan", "time(2.00:00:00)") == timedelta(days=2)
    assert kql.parse_literal("guid", f"guid({uuid.UUID(int=1)})") == uuid.UUID(int=1)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\r\t")))
def test_string_literals_round_trip(value: str) -> None:
    assert kql.parse_literal("string", kql.format_literal("string", value)) == value


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_timespan_literals_round_trip(value: timedelta) -> None:
    assert kql.parse_literal("timespan", kql.format_literal("timespan", value)) == value


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetime_literals_round_trip(value: datetime) -> None:
    assert kql.parse_literal("datetime", kql.format_literal("datetime", value)) == value


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
def test_dynamic_literals_round_trip(value: object) -> None:
    assert kql.parse_literal("dynamic", kql.format_literal("dynamic", value)) == value


def test_resource_graph_queries_inline_parameters_instead_of_let() -> None:
    # Resource Graph has no `let` (MicrosoftDocs/azure-docs#104044): bindings become comments.
    assert kql.load("ai_accounts").target == "resourcegraph"
    assert kql.load("security_alerts").target == "loganalytics"
    text = kql.render("ai_accounts", kinds=["OpenAI"])
    assert not any(line.startswith("let ") for line in text.splitlines())
    assert '// let kinds = dynamic(["OpenAI"]);' in text.splitlines()
    assert '| where kind in~ (dynamic(["OpenAI"]))' in text.splitlines()
    assert kql.parse_rendered(text).params == {"kinds": ["OpenAI"]}


def test_inlining_skips_strings_comments_and_property_access() -> None:
    body = 'where a == "kinds" // kinds here\n| where kinds has x.kinds and kinds_2 == 1'
    assert kql._substitute(body, {"kinds": "L"}) == (
        'where a == "kinds" // kinds here\n| where L has x.kinds and kinds_2 == 1'
    )
