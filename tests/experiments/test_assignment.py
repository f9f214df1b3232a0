"""Assignment and exposure: a deterministic draw that follows the weights, one variant per unit for
the experiment's life, the winner for new units once scaled, one row when two requests race, and
visitors' and merged contacts' assignments following the person."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
from scipy.stats import chisquare
from sqlalchemy import select, update

from leadwell.contacts.merge import merge_contacts, undo_merge
from leadwell.db.models import Engagement, Event, Experiment, ExperimentVariant, Visitor, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput
from leadwell.experiments.assignment import (
    adopt_visitor,
    assign,
    assignment_of,
    expose,
    pick,
    running_experiment,
    unit_point,
)
from leadwell.experiments.definitions import set_allocation, stop
from leadwell.scoring.settings import parse_toml
from leadwell.scoring.store import apply_settings
from tests import factories
from tests.capture.public_support import make_form
from tests.experiments.integration_support import (
    STARTED,
    assigned_keys,
    assignments,
    exposure_events,
    make_experiment,
    variant,
)

NOW = STARTED + timedelta(hours=1)
UNITS = 10_000


def _offer(db: Database, *weights: float, running: bool = True) -> tuple[Workspace, int]:
    """A workspace and a channel offer experiment with variants A, B… of ``weights``."""
    with db.session() as session:
        workspace = factories.make_workspace(session)
        specs = [variant(chr(ord("A") + i), weight) for i, weight in enumerate(weights)]
        experiment = make_experiment(session, workspace, "channel_offer", None, specs, running=running)
        return workspace, experiment.id


def _contacts(db: Database, workspace: Workspace, count: int) -> list[int]:
    with db.session() as session:
        return [factories.make_contact(session, workspace).id for _ in range(count)]


def _assign_all(db: Database, experiment_id: int, contact_ids: list[int]) -> dict[int, str]:
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        return {n: assign(session, experiment, contact_id=n, now=NOW).key for n in contact_ids}


def test_the_draw_is_the_same_every_time_and_in_every_process() -> None:
    units = [f"c{n}" for n in range(50)] + [f"v{n}" for n in range(50)]
    here = [unit_point(42, unit) for unit in units]
    assert here == [unit_point(42, unit) for unit in units]
    assert all(0 <= point < 1 for point in here)
    assert here != [unit_point(43, unit) for unit in units]  # each experiment draws apart
    program = (
        "from leadwell.experiments.assignment import unit_point; "
        f"print([unit_point(42, u) for u in {units!r}])"
    )
    for seed in ("1", "2"):  # another process, with another string hash seed
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        output = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=environment
        ).stdout
        assert [float(value) for value in output.strip()[1:-1].split(", ")] == here


def test_over_ten_thousand_units_the_split_follows_the_weights_and_weight_zero_gets_nobody() -> None:
    weights = [1.0, 2.0, 0.0, 1.0]
    counts = Counter(pick(unit_point(7, f"c{n}"), weights) for n in range(UNITS))
    assert counts[2] == 0
    observed = [counts[index] for index in (0, 1, 3)]
    expected = [UNITS * share for share in (0.25, 0.5, 0.25)]
    assert sum(observed) == UNITS
    assert chisquare(observed, expected).pvalue > 0.001
    lopsided = Counter(pick(unit_point(8, f"v{n}"), [9.0, 1.0]) for n in range(UNITS))
    assert chisquare([lopsided[0], lopsided[1]], [UNITS * 0.9, UNITS * 0.1]).pvalue > 0.001
    with pytest.raises(InvalidInput, match="no variant gets any traffic"):
        pick(0.5, [0.0, 0.0])


def test_assign_draws_with_the_stored_weights_and_is_sticky(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 0.0, 1.0)
    people = _contacts(db, workspace, 60)
    first = _assign_all(db, experiment_id, people)
    assert set(first.values()) == {"A", "C"}  # B has weight 0
    for contact_id, key in first.items():
        expected = "AC"[pick(unit_point(experiment_id, f"c{contact_id}"), [1.0, 1.0])]
        assert key == expected
    assert _assign_all(db, experiment_id, people) == first
    assert len(assignments(db, experiment_id)) == 60
    assert all(row.assigned_at == NOW and row.exposures == 0 for row in assignments(db, experiment_id))


def test_changing_the_weights_moves_nobody_already_assigned(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    people = _contacts(db, workspace, 40)
    before = _assign_all(db, experiment_id, people)
    assert set(before.values()) == {"A", "B"}
    with db.session() as session:
        session.execute(
            update(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment_id, ExperimentVariant.key == "B")
            .values(weight=0.0)
        )
    assert _assign_all(db, experiment_id, people) == before
    newcomers = _contacts(db, workspace, 30)
    assert set(_assign_all(db, experiment_id, newcomers).values()) == {"A"}


def test_the_bandits_shares_split_new_units(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        set_allocation(session, experiment, "bandit")
        for row in session.scalars(
            select(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment_id)
        ):
            row.share = 1.0 if row.key == "B" else 0.0
    people = _contacts(db, workspace, 30)
    assert set(_assign_all(db, experiment_id, people).values()) == {"B"}


def test_a_scaled_experiment_gives_new_units_the_winner_and_keeps_old_assignments(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0, 1.0)
    early = _contacts(db, workspace, 45)
    before = _assign_all(db, experiment_id, early)
    assert set(before.values()) == {"A", "B", "C"}
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        experiment.state, experiment.winner_key, experiment.scaled_at = "scaled", "C", NOW
    late = _contacts(db, workspace, 30)
    assert set(_assign_all(db, experiment_id, late).values()) == {"C"}
    assert _assign_all(db, experiment_id, early) == before


def test_running_experiment_finds_only_a_running_or_scaled_one_on_the_subject(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form, other = make_form(session, workspace), make_form(session, workspace)
        specs = [variant("A"), variant("B", overrides={"submit_label": "Go"})]
        draft = make_experiment(session, workspace, "form", form.id, specs, running=False)
        assert running_experiment(session, workspace.id, "form", form.id) is None
        live = make_experiment(session, workspace, "form", form.id, specs)
        assert running_experiment(session, workspace.id, "form", form.id) is live
        assert running_experiment(session, workspace.id, "form", other.id) is None
        assert running_experiment(session, workspace.id, "magnet", form.id) is None
        assert running_experiment(session, workspace.id + 1, "form", form.id) is None
        stop(session, live, NOW)
        assert running_experiment(session, workspace.id, "form", form.id) is None
        assert draft.state == "draft"
        with pytest.raises(InvalidInput, match="kind"):
            running_experiment(session, workspace.id, "channel_offer", 1)


def _race(db: Database, experiment_id: int, contact_id: int, requests: int) -> list[str]:
    """``requests`` threads, each in its own session, assign the same contact at the same moment;
    the keys they got (an error in any thread fails the test)."""
    barrier = threading.Barrier(requests)
    keys: list[str] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            with db.session() as session:
                experiment = session.get(Experiment, experiment_id)
                assert experiment is not None
                barrier.wait()
                keys.append(assign(session, experiment, contact_id=contact_id, now=NOW).key)
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=request) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return keys


def test_requests_assigning_one_new_unit_at_once_store_one_assignment(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    people = _contacts(db, workspace, 8)
    for contact_id in people:
        keys = _race(db, experiment_id, contact_id, requests=3)
        assert len(keys) == 3 and len(set(keys)) == 1
    assert len(assignments(db, experiment_id)) == len(people)
    assert set(assigned_keys(db, experiment_id)) == set(people)


def test_the_first_exposure_writes_one_event_and_later_ones_count(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    (person,) = _contacts(db, workspace, 1)
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        chosen = assign(session, experiment, contact_id=person, now=NOW)
        for hours in (2, 5, 3):
            expose(session, experiment, chosen, contact_id=person, now=NOW + timedelta(hours=hours))
        other = session.scalar(
            select(ExperimentVariant).where(
                ExperimentVariant.experiment_id == experiment_id, ExperimentVariant.key != chosen.key
            )
        )
        assert other is not None
        with pytest.raises(Conflict, match=f"assigned {chosen.key}"):
            expose(session, experiment, other, contact_id=person, now=NOW)
        slug = experiment.slug
    (row,) = assignments(db, experiment_id)
    assert (row.exposures, row.first_exposed_at, row.last_exposed_at) == (
        3,
        NOW + timedelta(hours=2),
        NOW + timedelta(hours=5),
    )
    (event,) = exposure_events(db)
    assert (event.contact_id, event.occurred_at, event.source) == (
        person,
        NOW + timedelta(hours=2),
        "experiments",
    )
    assert event.properties == {"experiment": slug, "variant": chosen.key}


def test_an_exposure_is_worth_no_points_unless_a_rule_says_so(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    first, second = _contacts(db, workspace, 2)
    rule = '[[rules]]\nkey = "seen"\nlabel = "Saw an offer"\nevent = "experiment_exposed"\npoints = 4\n'
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        for contact_id in (first, second):
            if contact_id == second:
                apply_settings(session, workspace.id, parse_toml(rule))
            chosen = assign(session, experiment, contact_id=contact_id, now=NOW)
            expose(session, experiment, chosen, contact_id=contact_id, now=NOW)
        scores = [session.get(Engagement, n, populate_existing=True) for n in (first, second)]
        assert [row.score if row else 0.0 for row in scores] == [0.0, 4.0]


def test_a_visitors_assignments_become_the_contacts_once_identified(db: Database) -> None:
    workspace, experiment_id = _offer(db, 1.0, 1.0)
    _workspace, other_experiment_id = _offer(db, 1.0, 1.0)
    with db.session() as session:
        first = session.get(Experiment, experiment_id)
        assert first is not None
        visitor = Visitor(workspace_id=workspace.id, key="k" * 22)
        session.add(visitor)
        session.flush()
        seen = assign(session, first, visitor_id=visitor.id, now=NOW)
        expose(session, first, seen, visitor_id=visitor.id, now=NOW)
        person = factories.make_contact(session, workspace)
        adopt_visitor(session, workspace.id, visitor.id, person.id)
        row = assignment_of(session, first, contact_id=person.id)
        assert row is not None and row.visitor_id == visitor.id
        assert assign(session, first, contact_id=person.id, now=NOW).key == seen.key
        visitor_id, person_id = visitor.id, person.id
    (event,) = exposure_events(db)
    assert (event.visitor_id, event.contact_id) == (visitor_id, None)  # visitors.identify moves events
    assert assigned_keys(db, other_experiment_id) == {}
    # A contact already assigned keeps its own; the visitor's is dropped.
    with db.session() as session:
        first = session.get(Experiment, experiment_id)
        assert first is not None
        twin = Visitor(workspace_id=workspace.id, key="t" * 22)
        session.add(twin)
        session.flush()
        assign(session, first, visitor_id=twin.id, now=NOW)
        adopt_visitor(session, workspace.id, twin.id, person_id)
        assert assignment_of(session, first, visitor_id=twin.id) is None
    assert len(assignments(db, experiment_id)) == 1


def test_a_merge_moves_assignments_and_undo_puts_them_back(db: Database) -> None:
    workspace, first_id = _offer(db, 1.0, 1.0)
    with db.session() as session:
        specs = [variant("A"), variant("B")]
        second_id = make_experiment(session, workspace, "channel_offer", None, specs).id
    survivor, merged = _contacts(db, workspace, 2)
    _assign_all(db, first_id, [survivor, merged])
    second = _assign_all(db, second_id, [merged])
    with db.session() as session:
        record = merge_contacts(session, workspace.id, survivor, merged)
        merge_id = record.id
    assert set(assigned_keys(db, first_id)) == {survivor}  # the survivor's stays; one person, one unit
    assert assigned_keys(db, second_id) == {survivor: second[merged]}
    with db.session() as session:
        undo_merge(session, workspace.id, merge_id)
    assert assigned_keys(db, second_id) == {merged: second[merged]}
    assert set(assigned_keys(db, first_id)) == {survivor}
    with db.session() as session:
        assert session.scalar(select(Event.id).where(Event.type == "experiment_exposed")) is None
