"""The qualification settings document: defaults, every check naming the key at fault, the queue's
P(sale), and TOML written back reading the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwell.errors import InvalidInput
from leadwell.scoring.settings import (
    DEFAULT_PROBABILITY,
    DEFAULT_TOML,
    default_settings,
    from_document,
    parse_toml,
    settings_from_stored,
)
from leadwell.scoring.toml_text import to_toml

RULE: dict[str, Any] = {"key": "read", "event": "read_progress", "points": 10}


def test_the_defaults() -> None:
    defaults = default_settings()
    assert defaults.half_life_days == 30 and math_close(defaults.decay_rate, 0.023104906018664842)
    assert [rule.key for rule in defaults.rules_for("read_progress")] == ["read-half", "read-most"]
    read_most = defaults.rules_for("read_progress")[1]
    assert (read_most.points, read_most.cap and read_most.cap.per) == (25, "asset")
    assert defaults.stage_rules[0].grades == frozenset({"A", "B"}) and defaults.stage_rules[0].to == "mql"
    assert defaults.queue.deal_value == Decimal("5000") and defaults.queue.retry_days["voicemail"] == 2
    assert dict(defaults.queue.grade_probability) == DEFAULT_PROBABILITY
    assert defaults.pipeline_stages == ("discovery", "proposal", "negotiation")
    assert default_settings() is defaults
    assert parse_toml(DEFAULT_TOML).canonical() == defaults.canonical()


def math_close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-15


def test_a_minimal_document_gets_every_default() -> None:
    minimal = from_document({})
    assert minimal.rules == () and minimal.stage_rules == () and minimal.half_life_days == 30
    assert minimal.document["queue"]["grade_probability"] == DEFAULT_PROBABILITY
    assert minimal.document["queue"]["deal_value"] == "5000"


def rules(*rule: dict[str, Any]) -> dict[str, Any]:
    return {"rules": list(rule)}


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        (rules({**RULE, "event": "read"}), "rules[0].event", "unknown event type 'read'"),
        (rules({**RULE, "points": 0}), "rules[0].points", "must give or take points"),
        (rules({**RULE, "key": "Read Me"}), "rules[0].key", "should match pattern"),
        (
            rules({**RULE, "when": [{"property": "pages", "op": "eq", "value": 1}]}),
            "rules[0].when[0].property",
            "read_progress has no property 'pages' (it has active_seconds, asset, pages_total,"
            " pages_viewed, percent)",
        ),
        (
            rules({**RULE, "when": [{"property": "asset", "op": "gt", "value": "a"}]}),
            "rules[0].when[0].op",
            "gt needs a number property; asset is text",
        ),
        (
            rules({**RULE, "when": [{"property": "percent", "op": "contains", "value": 5}]}),
            "rules[0].when[0].op",
            "contains needs a text property",
        ),
        (
            rules({**RULE, "when": [{"property": "percent", "op": "exists", "value": 5}]}),
            "rules[0].when[0].value",
            "exists takes no value",
        ),
        (
            rules({**RULE, "when": [{"property": "percent", "op": "in", "value": 5}]}),
            "rules[0].when[0].value",
            "in needs a non-empty list",
        ),
        (
            rules({**RULE, "when": [{"property": "percent", "op": "eq", "value": [5]}]}),
            "rules[0].when[0].value",
            "eq takes one value, not a list",
        ),
        (
            rules({**RULE, "when": [{"property": "percent", "op": "eq", "value": "five"}]}),
            "rules[0].when[0].value",
            "'five' is not a number",
        ),
        (
            rules(
                {
                    "key": "b",
                    "event": "email_bounced",
                    "points": -5,
                    "when": [{"property": "kind", "op": "eq", "value": "bad"}],
                }
            ),
            "rules[0].when[0].value",
            "'bad' is not one of hard, soft",
        ),
        (
            rules(
                {
                    "key": "f",
                    "event": "form_submitted",
                    "points": 5,
                    "when": [{"property": "fields", "op": "eq", "value": "x"}],
                }
            ),
            "rules[0].when[0].op",
            "fields can only be tested with exists",
        ),
        (
            rules(
                {
                    "key": "f",
                    "event": "form_submitted",
                    "points": 5,
                    "cap": {"points": 5, "days": 7, "per": "fields"},
                }
            ),
            "rules[0].cap.per",
            "fields is not a text or number",
        ),
        (rules({**RULE, "cap": {"points": 5, "days": 0}}), "rules[0].cap.days", "greater than or equal to 1"),
        (rules({**RULE, "cap": {"points": 0, "days": 7}}), "rules[0].cap.points", "greater than 0"),
        (rules(RULE, RULE), "rules[1]", "'read' appears twice"),
        (rules({**RULE, "colour": "red"}), "rules[0].colour", "unknown key 'colour'"),
        ({"half_life_days": 0.5}, "half_life_days", "greater than or equal to 1"),
        (
            {"stage_rules": [{"key": "s", "to": "hot", "from": ["lead"], "grades": ["A"]}]},
            "stage_rules[0].to",
            "'hot' is not a lifecycle stage",
        ),
        (
            {"stage_rules": [{"key": "s", "to": "mql", "from": ["lead"], "grades": ["G"]}]},
            "stage_rules[0].grades",
            "'G' is not a grade A–F",
        ),
        (
            {
                "stage_rules": [
                    {"key": "s", "to": "mql", "from": ["lead"], "min_engagement": 9, "max_engagement": 1}
                ]
            },
            "stage_rules[0].max_engagement",
            "below min_engagement",
        ),
        ({"stage_rules": [{"key": "s", "to": "mql", "from": ["lead"]}]}, "stage_rules[0]", "needs grades or"),
        (
            {"queue": {"grade_probability": {"Z": 0.5}}},
            "queue.grade_probability",
            "not a grade A–F or unknown",
        ),
        ({"queue": {"grade_probability": {"A": 1.5}}}, "queue.grade_probability.A", "is not between 0 and 1"),
        ({"queue": {"retry_days": {"busy": 1}}}, "queue.retry_days", "not one of no_answer"),
        ({"queue": {"retry_days": {"voicemail": 400}}}, "queue.retry_days.voicemail", "not 0–365 days"),
        ({"queue": {"currency": "usd"}}, "queue.currency", "should match pattern"),
        ({"pipeline": {"stages": ["won", "won"]}}, "pipeline.stages[1]", "'won' appears twice"),
    ],
)
def test_every_check_names_the_key_at_fault(document: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        from_document(document)
    assert refused.value.field == field
    assert message in refused.value.detail


def test_toml_syntax_errors_name_the_document() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_toml("half_life_days = ")
    assert refused.value.field == "settings" and "not valid TOML" in refused.value.detail


def test_p_sale_grows_with_engagement_from_the_floor() -> None:
    queue = default_settings().queue
    assert queue.probability("A", 0) == pytest.approx(0.3 * 0.25)
    assert queue.probability("A", 40) == pytest.approx(0.3 * (0.25 + 0.75 / 2))
    assert queue.probability(None, 0) == pytest.approx(0.05 * 0.25)
    assert queue.probability("A", -50) == queue.probability("A", 0)
    chances = [queue.probability("B", points) for points in (0, 5, 40, 400, 4000)]
    assert chances == sorted(chances) and chances[-1] < 0.18


def test_stored_documents_are_compiled_once() -> None:
    document = dict(default_settings().document)
    assert settings_from_stored(document) is settings_from_stored(dict(document))


names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
points = st.one_of(st.integers(-500, 500).filter(bool), st.sampled_from([0.5, -2.25, 12.75]))
conditions = st.sampled_from(
    [
        {"property": "percent", "op": "gte", "value": 80},
        {"property": "percent", "op": "lt", "value": 12.5},
        {"property": "asset", "op": "in", "value": ["Guide", 'Tom "the" paper, 2']},
        {"property": "asset", "op": "contains", "value": "é"},
        {"property": "asset", "op": "exists"},
    ]
)
caps = st.one_of(
    st.none(),
    st.fixed_dictionaries({"points": st.sampled_from([1, 2.5, 100]), "days": st.integers(1, 3650)}),
    st.fixed_dictionaries(
        {"points": st.just(10), "days": st.just(7), "per": st.sampled_from(["asset", "percent"])}
    ),
)
documents = st.fixed_dictionaries(
    {
        "half_life_days": st.sampled_from([1, 2.5, 30, 3650]),
        "rules": st.lists(
            st.fixed_dictionaries(
                {
                    "key": names,
                    "label": st.sampled_from(["Read", "“Quoted” \\ label", "Tab\tand newline\n"]),
                    "event": st.just("read_progress"),
                    "points": points,
                    "when": st.lists(conditions, max_size=2),
                    "cap": caps,
                }
            ),
            max_size=4,
            unique_by=lambda rule: str(rule["key"]),
        ),
        "queue": st.fixed_dictionaries(
            {"deal_value": st.sampled_from([0, 5000, "1234.56"]), "currency": st.just("EUR")}
        ),
    }
)


@settings(max_examples=80, deadline=None)
@given(documents)
def test_toml_written_back_reads_as_the_same_settings(document: dict[str, Any]) -> None:
    checked = from_document(
        {**document, "rules": [{k: v for k, v in r.items() if v is not None} for r in document["rules"]]}
    )
    assert parse_toml(to_toml(checked.document)).document == checked.document
