"""Re-qualification after scoring: resurfacing parked contacts and the stage rules, one contact at
a time (after_scores, driven by the real scoring engine) and for a whole workspace in SQL
(after_recompute), which must make exactly the same moves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, Event, StageChange, Workspace
from leadwell.db.session import Database
from leadwell.scoring import engine
from leadwell.scoring.decay import rank_key
from leadwell.scoring.requalify import after_recompute, after_scores, baseline, engagement_words
from leadwell.scoring.settings import Settings, default_settings, from_document
from leadwell.scoring.stage_rules import apply_stage_rules
from leadwell.scoring.stages import move_stage
from tests import factories
from tests.conftest import Tenant

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RATE = default_settings().decay_rate  # half-life 30 days


def engaged(
    session: Session, workspace: Workspace, stage: str, score: float, at: datetime, grade: str | None = None
) -> Contact:
    contact = factories.make_contact(session, workspace, stage=stage)
    session.add(
        Engagement(
            contact_id=contact.id,
            workspace_id=workspace.id,
            score=score,
            scored_at=at,
            rank_key=rank_key(score, at, RATE),
            grade=grade,
            queue_state={"nurture": "parked", "opportunity": "closed"}.get(stage, "open"),
        )
    )
    session.flush()
    return contact


def parked(session: Session, workspace: Workspace, score: float, grade: str | None = None) -> Contact:
    """A lead with ``score`` at NOW − 30 days, moved to nurture at that moment."""
    then = NOW - timedelta(days=30)
    contact = engaged(session, workspace, "lead", score, then, grade)
    move_stage(session, contact, "nurture", "not now: budget next quarter", at=then)
    return contact


def score(
    session: Session, contact: Contact, kind: str, properties: dict[str, Any]
) -> list[engine.ScoreChange]:
    event = factories.make_event(session, contact, kind, occurred_at=NOW, properties=properties)
    return engine.apply_events(session, contact.workspace_id, engine.event_rows([event]), NOW)


def row(session: Session, contact: Contact) -> Engagement:
    found = session.get(Engagement, contact.id, populate_existing=True)
    assert found is not None
    return found


def test_parking_keeps_the_score_as_it_stood_then(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = engaged(session, tenant.workspace, "lead", 60, NOW - timedelta(days=60))
        move_stage(session, contact, "nurture", "not now", at=NOW - timedelta(days=30))
        assert abs(row(session, contact).parked_score - 30) < 1e-9  # type: ignore[operator]
        assert row(session, contact).queue_state == "parked"


def test_a_parked_contact_that_engages_again_comes_back_as_a_lead(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = parked(session, tenant.workspace, 60)  # 30 now, as is its baseline
        changes = score(session, contact, "email_replied", {"subject": "Re: your proposal"})
        assert len(changes) == 1 and abs(changes[0].after - 70) < 1e-9
        session.refresh(contact)
        assert contact.stage == "lead"
        again = row(session, contact)
        assert again.queue_state == "open" and again.due_at is None and again.parked_score is None
        assert again.resurfaced_why == "new engagement: Replied to an email (+40)"
        assert again.resurfaced_at == NOW
        last = session.scalars(select(StageChange).order_by(StageChange.id.desc())).first()
        assert last is not None
        assert (last.from_stage, last.to_stage, last.rule) == ("nurture", "lead", None)
        assert last.why == "resurfaced: new engagement: Replied to an email (+40)"


def test_a_small_rise_leaves_it_parked(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = parked(session, tenant.workspace, 60)
        score(session, contact, "email_clicked", {"url": "https://example.com/a"})  # +5
        score(session, contact, "page_viewed", {"url": "https://example.com/pricing"})  # +10 +1
        session.refresh(contact)
        assert contact.stage == "nurture" and row(session, contact).queue_state == "parked"
        # Another 10 makes it 26 above the decayed baseline: back it comes, naming the last step.
        score(session, contact, "asset_downloaded", {"asset": "Pricing guide"})
        session.refresh(contact)
        assert contact.stage == "lead"
        assert row(session, contact).resurfaced_why == "new engagement: Downloaded a lead magnet (+10)"


def test_a_resurfaced_good_fit_goes_on_to_mql_and_keeps_its_reason(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = parked(session, tenant.workspace, 0, grade="A")
        read = factories.make_event(session, contact, "read_progress", NOW, {"asset": "Guide", "percent": 90})
        replied = factories.make_event(session, contact, "email_replied", NOW, {})
        # One batch: 10 + 25 + 40 = 75 ≥ 40 with grade A.
        engine.apply_events(session, tenant.workspace.id, engine.event_rows([read, replied]), NOW)
        session.refresh(contact)
        assert contact.stage == "mql"
        moves = session.scalars(
            select(StageChange).where(StageChange.contact_id == contact.id).order_by(StageChange.id)
        )
        assert [(m.from_stage, m.to_stage, m.rule) for m in moves] == [
            ("lead", "nurture", None),
            ("nurture", "lead", None),
            ("lead", "mql", "engaged-fit"),
        ]
        assert row(session, contact).resurfaced_why == (
            "new engagement: Read half of a paper (+10), Read 80% of a paper (+25), Replied to an email (+40)"
        )


def test_scores_move_open_contacts_by_the_rules(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        fit = engaged(session, tenant.workspace, "lead", 35, NOW, grade="B")
        poor = engaged(session, tenant.workspace, "lead", 35, NOW, grade="D")
        for contact in (fit, poor):
            score(session, contact, "form_submitted", {"form": "Contact us"})  # +15: 50
        session.refresh(fit)
        session.refresh(poor)
        assert (fit.stage, poor.stage) == ("mql", "lead")
        change = session.scalars(select(StageChange).where(StageChange.contact_id == fit.id)).one()
        assert change.why == "Good fit and engaged: grade B, engagement 50 ≥ 40"


def test_no_changes_no_queries_no_moves(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        after_scores(session, tenant.workspace.id, default_settings(), [], NOW)
        assert session.scalar(select(StageChange.id)) is None


def test_engagement_words_add_up_each_rule_and_leave_out_losses() -> None:
    awarded = (("page", 1.0, 1), ("replied", 40.0, 2), ("page", 1.0, 3), ("unsubscribed", -50.0, 4))
    assert engagement_words(default_settings(), awarded) == "Viewed a page (+2), Replied to an email (+40)"
    assert engagement_words(default_settings(), (("gone-rule", 2.5, 1),)) == "gone-rule (+2.5)"


def test_baseline_decays_from_the_moment_of_parking() -> None:
    assert baseline(None, None, NOW, RATE) == 0
    assert baseline(40, NOW, NOW, RATE) == 40
    assert abs(baseline(40, NOW - timedelta(days=30), NOW, RATE) - 20) < 1e-9


# --- the whole workspace in SQL, against the per-contact path ----------------------------------------

RULES: list[dict[str, Any]] = [
    {"key": "engaged-fit", "label": "Good fit and engaged", "to": "mql", "from": ["subscriber", "lead"],
     "grades": ["A", "B"], "min_engagement": 40},
    {"key": "hot", "label": "Very engaged", "to": "sql", "from": ["mql"], "grades": ["A"],
     "min_engagement": 80},
    {"key": "woke", "label": "Woke up", "to": "lead", "from": ["nurture"], "min_engagement": 30.5},
    {"key": "any", "label": "Engaged at all", "to": "lead", "from": ["subscriber"], "min_engagement": 5,
     "max_engagement": 200},
    {"key": "back", "label": "Never fires", "to": "lead", "from": ["mql", "opportunity"],
     "min_engagement": 0},
]  # fmt: skip
STAGES = ("subscriber", "lead", "mql", "sql", "nurture", "opportunity", "disqualified")


def population(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    people = []
    for _ in range(120):
        age = rng.choice([None, 0.0, 3.0, 29.5, 90.0, -1.0])  # days before NOW (−1: scored "after" now)
        people.append(
            {
                "stage": rng.choice(STAGES),
                "grade": rng.choice(["A", "B", "C", "F", None]),
                "score": 0.0
                if age is None
                else rng.choice([0.0, -20.0, 4.9, 39.99, 40.0, 55.5, 90.0, 150.0, 400.0]),
                "at": None if age is None else NOW - timedelta(days=age),
            }
        )
    return people


def build(session: Session, workspace: Workspace, people: list[dict[str, Any]]) -> list[int]:
    ids = []
    for person in people:
        contact = factories.make_contact(session, workspace, stage=person["stage"])
        session.add(
            Engagement(
                contact_id=contact.id,
                workspace_id=workspace.id,
                score=person["score"],
                scored_at=person["at"],
                rank_key=rank_key(person["score"], person["at"], RATE),
                grade=person["grade"],
                queue_state={"nurture": "parked", "opportunity": "closed", "disqualified": "closed"}.get(
                    person["stage"], "open"
                ),
            )
        )
        ids.append(contact.id)
    session.flush()
    return ids


def outcome(session: Session, ids: list[int]) -> list[Any]:
    """Per contact, in creation order: stage, queue state, its moves and stage_changed events."""
    result = []
    for contact_id in ids:
        contact = session.get(Contact, contact_id, populate_existing=True)
        assert contact is not None
        state = session.get(Engagement, contact_id, populate_existing=True)
        assert state is not None
        moves = session.execute(
            select(
                StageChange.from_stage,
                StageChange.to_stage,
                StageChange.why,
                StageChange.rule,
                StageChange.changed_at,
            )
            .where(StageChange.contact_id == contact_id)
            .order_by(StageChange.id)
        ).all()
        events = session.scalars(
            select(Event.properties)
            .where(Event.contact_id == contact_id, Event.type == "stage_changed")
            .order_by(Event.id)
        ).all()
        result.append((contact.stage, state.queue_state, [tuple(m) for m in moves], list(events)))
    return result


def test_after_recompute_makes_the_same_moves_as_the_per_contact_path(db: Database, tenant: Tenant) -> None:
    settings: Settings = from_document({"stage_rules": RULES})
    people = population(11)
    with db.session() as session:
        one = factories.make_workspace(session, "One at a time")
        every = factories.make_workspace(session, "All at once")
        first, second = build(session, one, people), build(session, every, people)
        apply_stage_rules(session, one.id, settings, first, NOW)
        after_recompute(session, every.id, settings, NOW)
        expected, got = outcome(session, first), outcome(session, second)
        assert got == expected
        moved = [entry for entry in expected if entry[2]]
        assert len(moved) >= 15  # the population exercises the rules
        assert any(len(entry[2]) == 2 for entry in expected)  # lead → MQL → SQL in one run
        assert any(entry[2] and entry[2][0][0] == "nurture" for entry in expected)


def test_after_recompute_leaves_other_workspaces_and_merged_contacts_alone(
    db: Database, tenant: Tenant
) -> None:
    settings = from_document({"stage_rules": RULES})
    with db.session() as session:
        mine = engaged(session, tenant.workspace, "lead", 90, NOW, grade="A")
        gone = engaged(session, tenant.workspace, "lead", 90, NOW, grade="A")
        gone.merged_into_id = mine.id
        other = factories.make_workspace(session)
        theirs = engaged(session, other, "lead", 90, NOW, grade="A")
        after_recompute(session, tenant.workspace.id, settings, NOW)
        assert session.get(Contact, mine.id).stage == "sql"  # type: ignore[union-attr]
        assert session.get(Contact, gone.id).stage == "lead"  # type: ignore[union-attr]
        assert session.get(Contact, theirs.id).stage == "lead"  # type: ignore[union-attr]
