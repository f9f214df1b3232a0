"""Automatic stage rules: which rule is due (pure), and the moves they make through move_stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from leadwell.db.models import Engagement, Event, StageChange
from leadwell.db.session import Database
from leadwell.scoring.decay import decay_rate, rank_key
from leadwell.scoring.settings import Settings, from_document
from leadwell.scoring.stage_rules import (
    apply_stage_rules,
    due_moves,
    figure,
    forward,
    move_reason,
    shown_score,
)
from tests import factories
from tests.conftest import Tenant

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RULES: list[dict[str, Any]] = [
    {
        "key": "engaged-fit",
        "label": "Good fit and engaged",
        "to": "mql",
        "from": ["subscriber", "lead"],
        "grades": ["A", "B"],
        "min_engagement": 40,
    },
    {
        "key": "hot",
        "label": "Very engaged",
        "to": "sql",
        "from": ["mql"],
        "grades": ["A"],
        "min_engagement": 80,
    },
    {"key": "any-lead", "label": "Engaged at all", "to": "lead", "from": ["subscriber"], "min_engagement": 5},
]


def settings_with(rules: list[dict[str, Any]]) -> Settings:
    return from_document({"stage_rules": rules})


def test_forward_only_along_the_funnel() -> None:
    assert forward("subscriber", "lead") and forward("lead", "customer") and forward("nurture", "mql")
    assert not forward("mql", "lead")  # backwards
    assert not forward("lead", "lead")
    for closed in ("opportunity", "customer", "disqualified"):
        assert not forward(closed, "customer")
    assert not forward("lead", "nurture") and not forward("lead", "disqualified")  # off the funnel


def test_the_first_matching_rule_in_order_is_due() -> None:
    settings = settings_with(RULES)
    assert due_moves(settings, "lead", "A", 52).key == "engaged-fit"  # type: ignore[union-attr]
    assert due_moves(settings, "subscriber", "B", 40).key == "engaged-fit"  # type: ignore[union-attr]
    assert due_moves(settings, "subscriber", "C", 52).key == "any-lead"  # type: ignore[union-attr]
    assert due_moves(settings, "lead", "C", 52) is None
    assert due_moves(settings, "lead", "A", 39.99) is None
    assert due_moves(settings, "lead", None, 99) is None  # ungraded: no grade rule applies
    assert due_moves(settings, "mql", "A", 80).key == "hot"  # type: ignore[union-attr]


def test_rules_never_move_closed_stages_or_backwards() -> None:
    rules = [
        {"key": "back", "to": "lead", "from": ["mql", "sql"], "min_engagement": 0},
        {
            "key": "reopen",
            "to": "sql",
            "from": ["opportunity", "customer", "disqualified"],
            "min_engagement": 0,
        },
        {"key": "park", "to": "nurture", "from": ["lead"], "max_engagement": 5},
        {"key": "drop", "to": "disqualified", "from": ["lead"], "max_engagement": 5},
    ]
    settings = settings_with(rules)
    for stage in ("mql", "sql", "opportunity", "customer", "disqualified", "lead"):
        assert due_moves(settings, stage, "A", 0) is None, stage


def test_nurture_moves_only_by_rules_that_name_it() -> None:
    without = settings_with(RULES)
    assert due_moves(without, "nurture", "A", 500) is None
    named = settings_with(
        [{"key": "wake", "label": "Woke up", "to": "mql", "from": ["nurture"], "min_engagement": 60}]
    )
    assert due_moves(named, "nurture", None, 61).key == "wake"  # type: ignore[union-attr]
    assert due_moves(named, "nurture", None, 59) is None


def test_max_engagement_bounds_and_their_words() -> None:
    rule = settings_with([{"key": "cold", "to": "lead", "from": ["subscriber"], "max_engagement": 10}])
    assert due_moves(rule, "subscriber", None, 10) is not None
    assert due_moves(rule, "subscriber", None, 10.01) is None
    assert move_reason(rule.stage_rules[0], None, 3.7) == "cold: engagement 3 ≤ 10"


def test_move_reason_names_the_figures() -> None:
    settings = settings_with(RULES)
    assert (
        move_reason(settings.stage_rules[0], "A", 52.9) == "Good fit and engaged: grade A, engagement 52 ≥ 40"
    )
    both = settings_with(
        [
            {
                "key": "mid",
                "label": "Warm",
                "to": "lead",
                "from": ["subscriber"],
                "min_engagement": 37.5,
                "max_engagement": 90,
            }
        ]
    )
    assert move_reason(both.stage_rules[0], "C", 37.56) == "Warm: engagement 37.5 ≥ 37.5 and ≤ 90"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(40.0, "40"), (37.5, "37.5"), (0.25, "0.25"), (-3.0, "-3"), (1_000_000.0, "1000000")],
)
def test_figures_are_written_as_people_write_them(value: float, expected: str) -> None:
    assert figure(value) == expected


def test_shown_scores_round_down() -> None:
    assert shown_score(39.99, 0) == "39"
    assert shown_score(40.0, 0) == "40"
    assert shown_score(37.59, 1) == "37.5"
    assert shown_score(0.0, 2) == "0.00"


def _engaged(session: Any, tenant: Tenant, stage: str, grade: str | None, score: float, at: datetime) -> int:
    contact = factories.make_contact(session, tenant.workspace, stage=stage)
    rate = decay_rate(30)
    session.add(
        Engagement(
            contact_id=contact.id,
            workspace_id=tenant.workspace.id,
            score=score,
            scored_at=at,
            rank_key=rank_key(score, at, rate),
            grade=grade,
            queue_state="open",
        )
    )
    session.flush()
    return contact.id


def test_apply_stage_rules_moves_until_no_rule_is_due(db: Database, tenant: Tenant) -> None:
    settings = settings_with(RULES)
    with db.session() as session:
        hot = _engaged(session, tenant, "lead", "A", 90, NOW)
        warm = _engaged(session, tenant, "lead", "B", 60, NOW - timedelta(days=30))  # 30 now: decayed
        cold = _engaged(session, tenant, "subscriber", "C", 6, NOW)
        made = apply_stage_rules(session, tenant.workspace.id, settings, [hot, warm, cold], NOW)
        assert [(c.contact_id, c.from_stage, c.to_stage, c.rule) for c in made] == [
            (hot, "lead", "mql", "engaged-fit"),
            (hot, "mql", "sql", "hot"),
            (cold, "subscriber", "lead", "any-lead"),
        ]
        assert made[0].why == "Good fit and engaged: grade A, engagement 90 ≥ 40"
        assert made[1].why == "Very engaged: grade A, engagement 90 ≥ 80"
        assert all(c.changed_at == NOW and c.changed_by_id is None for c in made)
        events = session.scalars(
            select(Event.properties)
            .where(Event.type == "stage_changed", Event.contact_id == hot)
            .order_by(Event.id)
        ).all()
        assert events == [
            {"from": "lead", "to": "mql", "why": made[0].why},
            {"from": "mql", "to": "sql", "why": made[1].why},
        ]
        # Nothing more is due: applying again moves nobody.
        assert apply_stage_rules(session, tenant.workspace.id, settings, [hot, warm, cold], NOW) == []
        assert session.scalar(select(StageChange.id).where(StageChange.contact_id == warm)) is None


def test_apply_stage_rules_without_rules_does_nothing(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact_id = _engaged(session, tenant, "lead", "A", 90, NOW)
        assert apply_stage_rules(session, tenant.workspace.id, settings_with([]), [contact_id], NOW) == []
