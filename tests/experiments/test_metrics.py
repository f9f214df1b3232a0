"""Metrics counted in SQL on hand-built workspaces, on both databases: what converts and what not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from leadwell.db.models import Event, Experiment, ExperimentAssignment, Workspace
from leadwell.db.session import Database
from leadwell.errors import InvalidInput
from leadwell.experiments.arms import Counts, Sums
from leadwell.experiments.metrics import METRICS, metric_arms, metric_fits
from leadwell.experiments.series import daily_series
from tests.experiments.factories import NOW, add_units, conversion, make_experiment, new_workspace, variant
from tests.factories import make_contact, make_workspace

T0 = NOW - timedelta(days=40)


@pytest.fixture
def workspace(db: Database) -> Workspace:
    return new_workspace(db)


def _event(
    session: Session,
    experiment: Experiment,
    who: dict[str, int | None],
    event_type: str,
    at: Any,
    properties: dict[str, Any],
) -> None:
    """One event, written as the capture and outreach code write them."""
    row = {"workspace_id": experiment.workspace_id, "type": event_type, "occurred_at": at, "received_at": at}
    session.execute(insert(Event), [{**row, "properties": properties, **who}])


def _arms(session: Session, experiment: Experiment, metric: str, until: Any = NOW) -> dict[str, Any]:
    arms = metric_arms(session, experiment, metric, until)
    return {key: arms[variant(session, experiment, key).id] for key in ("A", "B")}


def test_metric_keys_are_the_contract_s() -> None:
    assert list(METRICS) == [
        "open", "click", "reply", "form_submitted", "read_50", "mql", "sql", "meeting_booked",
        "deal_won", "revenue", "unsubscribe", "bounce",
    ]  # fmt: skip
    assert METRICS["open"].unreliable and not METRICS["click"].unreliable
    assert not METRICS["unsubscribe"].higher_is_better and not METRICS["bounce"].higher_is_better
    assert METRICS["revenue"].kind == "revenue"
    assert not metric_fits(METRICS["click"], "landing_page") and metric_fits(
        METRICS["click"], "sequence_step"
    )


def test_a_conversion_counts_only_after_exposure_within_the_window_and_for_the_template(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "email_template", primary_metric="click")
        click_type, click = conversion(session, experiment, "A", "click")
        a = add_units(session, experiment, "A", 5, exposed_at=T0)
        b = add_units(session, experiment, "B", 4, exposed_at=T0)
        add_units(session, experiment, "A", 2, exposed_at=T0, converting=2, exposed=False)  # never exposed
        window = timedelta(days=experiment.window_days)
        cases = [
            (a[0], T0 + timedelta(days=2), click),  # counts
            (a[1], T0 - timedelta(seconds=1), click),  # before exposure
            (a[2], T0 + window, click),  # the window's end is outside
            (a[3], T0 + window - timedelta(microseconds=1), click),  # its last microsecond is inside
            (b[0], T0, click),  # at the exposure itself: counts
            (b[1], T0 + timedelta(days=1), {**click, "template": "another-template"}),
            (b[2], T0 + timedelta(days=12), click),  # counts, unless the report looks earlier
        ]
        for contact_id, at, properties in cases:
            _event(session, experiment, {"contact_id": contact_id}, click_type, at, properties)
        _event(session, experiment, {"contact_id": b[3]}, "email_opened", T0 + timedelta(hours=1), click)
        # A second click by a converted unit counts it once.
        _event(session, experiment, {"contact_id": a[0]}, click_type, T0 + timedelta(days=3), click)
        arms = _arms(session, experiment, "click")
        assert arms == {"A": Counts(5, 2), "B": Counts(4, 2)}
        assert _arms(session, experiment, "open") == {"A": Counts(5, 0), "B": Counts(4, 1)}
        earlier = _arms(session, experiment, "click", until=T0 + timedelta(days=11))
        assert earlier == {"A": Counts(5, 1), "B": Counts(4, 1)}


def test_sequence_step_email_metrics_follow_each_variant_s_template(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "sequence_step", primary_metric="reply")
        a = add_units(session, experiment, "A", 2, exposed_at=T0)
        b = add_units(session, experiment, "B", 2, exposed_at=T0)
        reply_type, a_reply = conversion(session, experiment, "A", "reply")
        _, b_reply = conversion(session, experiment, "B", "reply")
        assert a_reply["template"] != b_reply["template"]
        at = T0 + timedelta(days=1)
        _event(session, experiment, {"contact_id": a[0]}, reply_type, at, a_reply)
        _event(session, experiment, {"contact_id": a[1]}, reply_type, at, b_reply)  # B's template: not A's
        _event(session, experiment, {"contact_id": b[0]}, reply_type, at, b_reply)
        assert _arms(session, experiment, "reply") == {"A": Counts(2, 1), "B": Counts(2, 1)}


def test_a_visitor_converts_before_and_after_identification_once(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "landing_page", primary_metric="form_submitted")
        anonymous = add_units(session, experiment, "A", 3, exposed_at=T0, visitors=True)
        identified = add_units(session, experiment, "B", 3, exposed_at=T0, visitors=True)
        ada, grace = make_contact(session, workspace), make_contact(session, workspace)
        kind, submitted = conversion(session, experiment, "A", "form_submitted")
        at = T0 + timedelta(hours=2)
        _event(session, experiment, {"visitor_id": anonymous[0]}, kind, at, submitted)
        _event(session, experiment, {"visitor_id": anonymous[1]}, kind, T0 - timedelta(hours=1), submitted)
        viewed = {"url": "https://example.com/p/offer"}
        _event(session, experiment, {"visitor_id": anonymous[2]}, "page_viewed", at, viewed)
        # B's first visitor was identified as Ada: the assignment names her too, and her events
        # (the submission carries both ids, later ones only hers) count once.
        session.query(ExperimentAssignment).filter(ExperimentAssignment.visitor_id == identified[0]).update(
            {"contact_id": ada.id}
        )
        _event(session, experiment, {"visitor_id": identified[0], "contact_id": ada.id}, kind, at, submitted)
        _event(session, experiment, {"contact_id": ada.id}, kind, at + timedelta(hours=1), submitted)
        # B's second visitor submitted as Grace before the assignment followed: still theirs.
        _event(
            session, experiment, {"visitor_id": identified[1], "contact_id": grace.id}, kind, at, submitted
        )
        arms = _arms(session, experiment, "form_submitted")
        assert arms == {"A": Counts(3, 1), "B": Counts(3, 2)}
        revenue = metric_arms(session, experiment, "form_submitted", NOW)
        assert sum(arm.n for arm in revenue.values()) == 6


def test_revenue_sums_won_value_per_unit_within_the_window(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", primary_metric="revenue")
        a = add_units(session, experiment, "A", 3, exposed_at=T0)
        b = add_units(session, experiment, "B", 2, exposed_at=T0)
        kind, won = conversion(session, experiment, "A", "revenue")
        for contact_id, days, value in [
            (a[0], 1, 100.0),
            (a[0], 5, 50.0),
            (a[1], 31, 999.0),
            (b[0], 2, 300.0),
        ]:
            _event(
                session,
                experiment,
                {"contact_id": contact_id},
                kind,
                T0 + timedelta(days=days),
                {**won, "value": value},
            )
        _event(session, experiment, {"contact_id": b[1]}, "deal_lost", T0 + timedelta(days=1), won)
        arms = _arms(session, experiment, "revenue")
        assert arms == {"A": Sums(3, 150.0, 150.0**2), "B": Sums(2, 300.0, 300.0**2)}
        assert _arms(session, experiment, "deal_won") == {"A": Counts(3, 1), "B": Counts(2, 1)}


@pytest.mark.parametrize(
    ("metric", "properties", "counts"),
    [
        ("mql", {"from": "lead", "to": "mql"}, True),
        ("mql", {"from": "lead", "to": "sql"}, True),  # jumping past MQL reaches it too
        ("mql", {"from": "lead", "to": "nurture"}, False),
        ("sql", {"from": "lead", "to": "mql"}, False),
        ("sql", {"from": "sql", "to": "customer"}, True),
        ("read_50", {"asset": "guide", "percent": 49.9}, False),
        ("read_50", {"asset": "guide", "percent": 50}, True),
    ],
)
def test_stage_and_reading_metrics(
    db: Database, workspace: Workspace, metric: str, properties: dict[str, Any], counts: bool
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", primary_metric=metric)
        (unit,) = add_units(session, experiment, "A", 1, exposed_at=T0)
        _event(
            session,
            experiment,
            {"contact_id": unit},
            METRICS[metric].events[0],
            T0 + timedelta(days=1),
            properties,
        )
        assert _arms(session, experiment, metric)["A"] == Counts(1, int(counts))


def test_a_magnet_s_reads_count_for_the_magnet_each_variant_gives(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "magnet", primary_metric="read_50")
        a = add_units(session, experiment, "A", 2, exposed_at=T0)
        kind, a_read = conversion(session, experiment, "A", "read_50")
        _, b_read = conversion(session, experiment, "B", "read_50")
        _event(session, experiment, {"contact_id": a[0]}, kind, T0 + timedelta(days=1), a_read)
        _event(session, experiment, {"contact_id": a[1]}, kind, T0 + timedelta(days=1), b_read)
        assert _arms(session, experiment, "read_50")["A"] == Counts(2, 1)


def test_email_metrics_are_refused_where_no_email_is_sent(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form")
        with pytest.raises(InvalidInput) as error:
            metric_arms(session, experiment, "click", NOW)
        assert error.value.field == "primary_metric"
        with pytest.raises(InvalidInput):
            metric_arms(session, experiment, "clicks", NOW)


def test_units_and_events_of_other_experiments_and_workspaces_do_not_count(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", primary_metric="meeting_booked")
        other = make_experiment(
            session, make_workspace(session), "channel_offer", primary_metric="meeting_booked"
        )
        add_units(session, experiment, "A", 10, exposed_at=T0, converting=4)
        add_units(session, other, "A", 7, exposed_at=T0, converting=7)
        assert _arms(session, experiment, "meeting_booked") == {"A": Counts(10, 4), "B": Counts(0, 0)}


def test_the_daily_series_is_cumulative_and_ends_at_the_arms(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(
            session, workspace, "channel_offer", primary_metric="meeting_booked", started_at=T0
        )
        add_units(
            session, experiment, "A", 10, exposed_at=T0, converting=3, converted_after=timedelta(days=2)
        )
        add_units(session, experiment, "B", 5, exposed_at=T0 + timedelta(days=1), converting=5)
        add_units(session, experiment, "B", 5, exposed_at=T0 - timedelta(days=1))  # before the start: day 0
        until = T0 + timedelta(days=3)
        series = daily_series(session, experiment, "meeting_booked", until)
        a, b = variant(session, experiment, "A").id, variant(session, experiment, "B").id
        assert [day.isoformat() for day in series.days] == [
            (T0 + timedelta(days=d)).date().isoformat() for d in range(4)
        ]
        assert series.arms[a] == (Counts(10, 0), Counts(10, 0), Counts(10, 3), Counts(10, 3))
        assert series.arms[b] == (Counts(5, 0), Counts(10, 0), Counts(10, 5), Counts(10, 5))
        arms = metric_arms(session, experiment, "meeting_booked", until)
        assert series.arms[a][-1] == arms[a] and series.arms[b][-1] == arms[b]
        assert series.looks(a, b)[1] == (Counts(10, 0), Counts(10, 0))


def test_the_revenue_series_accumulates_sums_of_squares_per_unit(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(
            session, workspace, "channel_offer", primary_metric="revenue", started_at=T0
        )
        (unit, _other) = add_units(session, experiment, "A", 2, exposed_at=T0)
        kind, won = conversion(session, experiment, "A", "revenue")
        for days, value in [(0, 10.0), (1, 20.0), (1, 5.0)]:
            _event(
                session,
                experiment,
                {"contact_id": unit},
                kind,
                T0 + timedelta(days=days, hours=1),
                {**won, "value": value},
            )
        series = daily_series(session, experiment, "revenue", T0 + timedelta(days=2))
        a = variant(session, experiment, "A").id
        assert series.arms[a] == (Sums(2, 10.0, 100.0), Sums(2, 35.0, 35.0**2), Sums(2, 35.0, 35.0**2))
        assert series.arms[a][-1] == metric_arms(session, experiment, "revenue", T0 + timedelta(days=2))[a]


def test_a_draft_without_units_has_an_empty_series(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form", state="draft")
        series = daily_series(session, experiment, "form_submitted", NOW)
        assert series.days == () and all(arms == () for arms in series.arms.values())
