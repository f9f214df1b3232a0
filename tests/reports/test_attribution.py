"""Attribution weights: each model for leads with 0, 1, 2, 3 and 4 touches, ties in time, the cut
at the sale, and weights summing to 1 per lead."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.session import Database
from leadwell.reports.attribution import credits
from leadwell.reports.facts import lead_facts
from leadwell.reports.query import ATTRIBUTION_MODELS
from tests.reports.dataset import Dataset, build


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


Credit = dict[str, dict[tuple[str | None, str | None, str | None], float]]


def _credits(session: Session, data: Dataset, model: str) -> Credit:
    """Per lead name: {(channel short name, campaign key, unmapped key): weight}, weights summed."""
    credited = credits(data.query, model)
    contacts = {c.id: name for name, c in data.contacts.items()}
    channels = {c.id: short for short, c in data.channels.items()}
    campaigns = {c.id: key for key, c in data.campaigns.items()}
    found: Credit = defaultdict(lambda: defaultdict(float))
    for row in session.execute(select(credited)):
        unmapped = row.source_key if row.channel_id is None else None
        key = (channels.get(row.channel_id), campaigns.get(row.campaign_id), unmapped)
        found[contacts[row.contact_id]][key] += row.weight
    return {name: dict(weights) for name, weights in found.items()}


def test_first_touch_credits_the_first_touch_only(built: tuple[Session, Dataset]) -> None:
    session, data = built
    found = _credits(session, data, "first_touch")
    assert found == {
        "ann": {("fb", "spring", None): 1.0},
        # created and form at the same moment: creation comes first
        "ben": {("rf", None, None): 1.0},
        "cal": {(None, None, None): 1.0},  # no touch: one row, no channel, no key
        "dee": {("li", None, None): 1.0},
        # form and manual touch at the same moment: the form comes first
        "eve": {("li", "webinar", None): 1.0},
        "fay": {("fb", None, None): 1.0},
        "gus": {(None, None, "newsletter-swap"): 1.0},
        "hal": {("fb", "spring", None): 1.0},
        # jay's touches before he became a lead (25–26 Feb) still count
        "jay": {("li", None, None): 1.0},
    }


def test_last_touch_stops_at_the_sale(built: tuple[Session, Dataset]) -> None:
    session, data = built
    found = _credits(session, data, "last_touch")
    # ann was won on 12 March: her click of 20 March earns nothing, LinkedIn (8 March) is last;
    # hal was won on 2 April: his click of 3 April earns nothing, the manual Events touch is last.
    assert found["ann"] == {("li", "webinar", None): 1.0}
    assert found["hal"] == {("ev", None, None): 1.0}
    assert found["ben"] == {(None, None, "form:contact-us"): 1.0}
    assert found["eve"] == {("ev", "leeds", None): 1.0}
    assert found["fay"] == {("em", None, None): 1.0}
    assert found["jay"] == {("li", "webinar", None): 1.0}
    assert found["cal"] == {(None, None, None): 1.0}
    assert found["dee"] == {("li", None, None): 1.0}  # n = 1: the only touch is the last


def test_linear_shares_equally(built: tuple[Session, Dataset]) -> None:
    session, data = built
    found = _credits(session, data, "linear")
    third = pytest.approx(1 / 3)
    assert found["ann"] == {
        ("fb", "spring", None): third,
        ("em", "nurture", None): third,
        ("li", "webinar", None): third,
    }
    assert found["ben"] == {("rf", None, None): 0.5, (None, None, "form:contact-us"): 0.5}
    assert found["dee"] == {("li", None, None): 1.0}
    # hal: n = 4, ¼ each; his two Facebook spring forms add up to ½
    assert found["hal"] == {
        ("fb", "spring", None): 0.5,
        ("em", "nurture", None): 0.25,
        ("ev", None, None): 0.25,
    }


def test_position_based_gives_40_20_40(built: tuple[Session, Dataset]) -> None:
    session, data = built
    found = _credits(session, data, "position_based")
    # n = 3: 0.4 first, 0.2 middle, 0.4 last
    assert found["ann"] == {
        ("fb", "spring", None): pytest.approx(0.4),
        ("em", "nurture", None): pytest.approx(0.2),
        ("li", "webinar", None): pytest.approx(0.4),
    }
    assert found["fay"] == {
        ("fb", None, None): pytest.approx(0.4),
        ("fb", "retarget", None): pytest.approx(0.2),
        ("em", None, None): pytest.approx(0.4),
    }
    # n = 4: 0.4 first, 0.2 / 2 = 0.1 to each middle touch, 0.4 last → Facebook spring 0.4 + 0.1
    assert found["hal"] == {
        ("fb", "spring", None): pytest.approx(0.5),
        ("em", "nurture", None): pytest.approx(0.1),
        ("ev", None, None): pytest.approx(0.4),
    }
    # n = 2: 0.5 each; n = 1: 1; n = 0: 1 to no channel
    assert found["eve"] == {("li", "webinar", None): 0.5, ("ev", "leeds", None): 0.5}
    assert found["dee"] == {("li", None, None): 1.0}
    assert found["cal"] == {(None, None, None): 1.0}


@pytest.mark.parametrize("model", list(ATTRIBUTION_MODELS))
def test_every_lead_of_the_range_shares_exactly_one(built: tuple[Session, Dataset], model: str) -> None:
    session, data = built
    found = _credits(session, data, model)
    # The nine March leads; ivy (captured in February), kim (April), lou (merged) and the other
    # workspace's contact earn no credit here
    assert sorted(found) == ["ann", "ben", "cal", "dee", "eve", "fay", "gus", "hal", "jay"]
    for weights in found.values():
        assert sum(weights.values()) == pytest.approx(1.0)
    # The default model is the query's (linear)
    if model == "linear":
        default = credits(data.query)
        assert session.scalar(select(default.c.weight).limit(1)) is not None


def test_credits_can_share_the_facts_cohort(built: tuple[Session, Dataset]) -> None:
    session, data = built
    facts = lead_facts(data.query, "USD")
    credited = credits(data.query, "linear", leads=facts)
    rows = session.execute(select(credited.c.contact_id, credited.c.weight)).all()
    # 3 + 2 + 1 + 1 + 2 + 3 + 1 + 4 + 2 = 19 touch rows (ann's and hal's late clicks cut off)
    assert len(rows) == 19
    assert sum(weight for _id, weight in rows) == pytest.approx(9.0)
