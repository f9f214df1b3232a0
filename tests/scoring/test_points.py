"""Which rules an event earns and what caps grant, as plain functions; and the SQL that says the same
for the recompute, checked against them on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from leadwell.db.session import Database
from leadwell.scoring.points import (
    clamp,
    compile_rule,
    epoch_days,
    event_property,
    fold,
    grant,
    match,
    per_text,
    rules_by_type,
    scope_of,
    window_of,
)
from leadwell.scoring.settings import Cap, default_settings, from_document
from leadwell.scoring.sql import EVENTS, EventSql
from tests import factories

AT = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


def rule(event: str, *when: dict[str, Any], **extra: Any) -> Any:
    settings = from_document(
        {"rules": [{"key": "r", "event": event, "points": 5, "when": list(when), **extra}]}
    )
    return compile_rule(settings.rules[0])


def holds(event: str, condition: dict[str, Any], properties: dict[str, Any]) -> bool:
    return bool(rule(event, condition).holds(properties))


def test_fold_lowers_ascii_letters_only() -> None:
    assert fold("CTO Ünïcode É") == "cto Ünïcode É"


@pytest.mark.parametrize(
    ("condition", "properties", "expected"),
    [
        ({"property": "percent", "op": "gte", "value": 80}, {"percent": 80.0}, True),
        ({"property": "percent", "op": "gte", "value": 80}, {"percent": 79.99}, False),
        ({"property": "percent", "op": "gt", "value": 80}, {"percent": 80}, False),
        ({"property": "percent", "op": "lt", "value": 20}, {"percent": 19.5}, True),
        ({"property": "percent", "op": "lte", "value": 20}, {"percent": 20}, True),
        ({"property": "percent", "op": "eq", "value": 50}, {"percent": 50.0}, True),
        ({"property": "percent", "op": "ne", "value": 50}, {"percent": 40}, True),
        ({"property": "percent", "op": "ne", "value": 50}, {}, False),  # missing: false, even for "ne"
        ({"property": "percent", "op": "in", "value": [10, 20]}, {"percent": 20.0}, True),
        ({"property": "percent", "op": "not_in", "value": [10, 20]}, {"percent": 30}, True),
        ({"property": "percent", "op": "not_in", "value": [10, 20]}, {}, False),
        ({"property": "asset", "op": "eq", "value": "GUIDE"}, {"asset": "guide"}, True),
        ({"property": "asset", "op": "eq", "value": "ÉTOILE"}, {"asset": "étoile"}, False),  # ASCII only
        ({"property": "asset", "op": "in", "value": ["Guide", "Paper"]}, {"asset": "PAPER"}, True),
        ({"property": "asset", "op": "contains", "value": "uid"}, {"asset": "The GUIDE"}, True),
        ({"property": "asset", "op": "contains", "value": "x"}, {"asset": "guide"}, False),
        ({"property": "asset", "op": "exists"}, {"asset": "guide"}, True),
        ({"property": "asset", "op": "exists"}, {}, False),
        ({"property": "asset", "op": "exists"}, {"asset": None}, False),
    ],
)
def test_conditions(condition: dict[str, Any], properties: dict[str, Any], expected: bool) -> None:
    assert holds("read_progress", condition, properties) is expected


def test_a_value_of_the_wrong_kind_is_missing() -> None:
    assert not holds("read_progress", {"property": "percent", "op": "gte", "value": 1}, {"percent": "99"})
    assert not holds("read_progress", {"property": "percent", "op": "gte", "value": 1}, {"percent": True})
    assert not holds("read_progress", {"property": "asset", "op": "eq", "value": "1"}, {"asset": 1})


def test_aliases_read_the_stored_key() -> None:
    assert event_property("stage_changed", "to_stage").key == "to"
    assert holds("stage_changed", {"property": "to", "op": "eq", "value": "MQL"}, {"to": "mql"})


def test_match_gives_every_rule_of_the_type_whose_conditions_hold() -> None:
    settings = default_settings()
    found = match(settings, "read_progress", {"asset": "Guide", "percent": 90.0})
    assert [(rule.key, points) for rule, points in found] == [("read-half", 10), ("read-most", 25)]
    assert [rule.key for rule, _ in match(settings, "page_viewed", {"url": "https://x.io/Pricing"})] == [
        "pricing",
        "page",
    ]
    assert match(settings, "email_sent", {}) == []
    assert rules_by_type(settings) is rules_by_type(settings)  # compiled once per settings object


def test_windows_count_whole_days_from_the_epoch() -> None:
    assert epoch_days(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert epoch_days(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1
    assert window_of(datetime(1970, 1, 7, 23, 59, tzinfo=UTC), 7) == 0
    assert window_of(datetime(1970, 1, 8, tzinfo=UTC), 7) == 1
    assert window_of(datetime(1969, 12, 31, tzinfo=UTC), 7) == -1
    assert window_of(AT, 365) == epoch_days(AT) // 365 == 55


def test_scopes() -> None:
    by_asset = rule("read_progress", cap={"points": 5, "days": 30, "per": "asset"})
    assert scope_of(by_asset, AT, {"asset": "Guide", "percent": 5}) == f"{epoch_days(AT) // 30}|Guide"
    assert scope_of(by_asset, AT, {"percent": 5}) == f"{epoch_days(AT) // 30}|"
    assert len(scope_of(by_asset, AT, {"asset": "x" * 300})) == 240
    weekly = rule("email_opened", cap={"points": 3, "days": 7})
    assert scope_of(weekly, AT, {}) == str(epoch_days(AT) // 7)
    by_length = rule("call_logged", cap={"points": 5, "days": 1, "per": "duration_seconds"})
    assert scope_of(by_length, AT, {"outcome": "conversation", "duration_seconds": 60}).endswith("|60")


def test_per_values_as_text() -> None:
    assert [per_text(v) for v in ("Guide", 60, 60.0, 12.5, 1e-05, 1e16, None)] == [
        "Guide",
        "60",
        "60",
        "12.5",
        "1e-05",
        "1e+16",
        "",
    ]


def test_caps_grant_what_is_left() -> None:
    cap = Cap(points=25, days=30, per=None)
    assert grant(0.0, 10, cap) == (10, 10)
    assert grant(20.0, 10, cap) == (5, 25)
    assert grant(25.0, 10, cap) == (0, 25)
    taking = Cap(points=3, days=7, per=None)
    assert grant(0.0, -1.5, taking) == (-1.5, -1.5)
    assert grant(-2.0, -1.5, taking) == (-1, -3)
    assert grant(-3.0, -1.5, taking) == (0, -3)
    assert clamp(7, 5) == 5 and clamp(-7, 5) == -5 and clamp(1, 5) == 1


CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "read_progress",
        {"property": "percent", "op": "gte", "value": 80},
        [{"asset": "a", "percent": p} for p in (0, 79.9, 80, 100)],
    ),
    (
        "read_progress",
        {"property": "percent", "op": "ne", "value": 80},
        [{"asset": "a", "percent": 80}, {"asset": "a", "percent": 1}],
    ),
    (
        "read_progress",
        {"property": "percent", "op": "in", "value": [10, 20.5]},
        [{"asset": "a", "percent": p} for p in (10, 20.5, 30)],
    ),
    (
        "read_progress",
        {"property": "asset", "op": "eq", "value": "GUIDE"},
        [{"asset": a, "percent": 1} for a in ("guide", "Guidé", "x")],
    ),
    (
        "read_progress",
        {"property": "asset", "op": "not_in", "value": ["Guide"]},
        [{"asset": a, "percent": 1} for a in ("GUIDE", "paper")],
    ),
    (
        "page_viewed",
        {"property": "url", "op": "contains", "value": "/PRICING"},
        [{"url": "https://x.io/pricing/plans"}, {"url": "https://x.io/a"}],
    ),
    (
        "page_viewed",
        {"property": "title", "op": "exists"},
        [{"url": "https://x.io/"}, {"url": "https://x.io/", "title": "Home"}],
    ),
    (
        "page_viewed",
        {"property": "title", "op": "ne", "value": "home"},
        [
            {"url": "https://x.io/"},
            {"url": "https://x.io/", "title": "HOME"},
            {"url": "https://x.io/", "title": "Pricing"},
        ],
    ),
    (
        "call_logged",
        {"property": "duration_seconds", "op": "lt", "value": 60},
        [{"outcome": "voicemail", "duration_seconds": s} for s in (0, 59, 60)],
    ),
    (
        "stage_changed",
        {"property": "to", "op": "eq", "value": "mql"},
        [{"to": "mql"}, {"from": "lead", "to": "sql"}],
    ),
]


@pytest.mark.parametrize(("event", "condition", "samples"), CASES)
def test_the_sql_conditions_agree_with_python(
    db: Database, event: str, condition: dict[str, Any], samples: list[dict[str, Any]]
) -> None:
    compiled = rule(event, condition)
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        made = [factories.make_event(session, contact, event, AT, properties) for properties in samples]
        sql = EventSql(session.get_bind().dialect.name)
        query = select(EVENTS.c.id).where(EVENTS.c.workspace_id == workspace.id, sql.holds(compiled))
        found = set(session.scalars(query))
    assert found == {e.id for e, properties in zip(made, samples, strict=True) if compiled.holds(properties)}
    assert 0 < len(found) < len(samples) or len(samples) == 1


@pytest.mark.parametrize(
    ("per", "samples"),
    [
        ("asset", [{"asset": "Guide", "percent": 1}, {"asset": "ünï", "percent": 1}]),
        ("percent", [{"asset": "a", "percent": p} for p in (60, 60.5, 0.1, 100)]),
    ],
)
def test_the_sql_scope_agrees_with_python(db: Database, per: str, samples: list[dict[str, Any]]) -> None:
    compiled = rule("read_progress", cap={"points": 5, "days": 7, "per": per})
    moments = [AT, datetime(1969, 12, 30, 12, tzinfo=UTC)]
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        made = [
            (factories.make_event(session, contact, "read_progress", at, properties).id, at, properties)
            for properties in samples
            for at in moments
        ]
        sql = EventSql(session.get_bind().dialect.name)
        assert compiled.per is not None
        query = select(EVENTS.c.id, sql.window(7), sql.per(compiled.per), sql.micros()).where(
            EVENTS.c.workspace_id == workspace.id
        )
        found = {row[0]: (row[1], row[2], row[3]) for row in session.execute(query)}
    for event_id, at, properties in made:
        window, value = scope_of(compiled, at, properties).split("|")
        micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        assert found[event_id] == (int(window), value, micros)
