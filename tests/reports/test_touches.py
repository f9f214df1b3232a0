"""Touches: the four kinds read from where they are recorded, keyed, mapped to channels and
campaigns, and cut at ``now``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact
from leadwell.db.session import Database
from leadwell.reports.touches import kind_rank, touches
from tests.reports.dataset import NOW, Dataset, at, build


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


def _of(session: Session, data: Dataset, name: str, now: datetime = NOW) -> list[tuple[Any, ...]]:
    """(time, kind, source key, campaign key, channel, campaign) of one contact, in time order."""
    found = touches(data.workspace.id, now)
    channels = {c.id: short for short, c in data.channels.items()}
    campaigns = {c.id: key for key, c in data.campaigns.items()}
    rows = session.execute(
        select(found)
        .where(found.c.contact_id == data.contacts[name].id)
        .order_by(found.c.occurred_at, kind_rank(found.c.kind), found.c.touch_id)
    )
    return [
        (
            r.occurred_at,
            r.kind,
            r.source_key,
            r.campaign_key,
            channels.get(r.channel_id),
            campaigns.get(r.campaign_id),
        )
        for r in rows
    ]


def test_each_kind_is_keyed_and_mapped(built: tuple[Session, Dataset]) -> None:
    session, data = built
    # utm_source " FB " is trimmed and lower-cased to "fb" (Facebook), campaign "Spring" → spring;
    # the click's sequence "Nurture" → Email's nurture campaign; the click of 20 March is still a
    # touch here (the cut at the sale is attribution's business).
    assert _of(session, data, "ann") == [
        (at(3, 2), "form", "fb", "spring", "fb", "spring"),
        (at(3, 5), "email", "email", "nurture", "em", "nurture"),
        (at(3, 8), "form", "linkedin", "webinar", "li", "webinar"),
        (at(3, 20), "email", "email", "nurture", "em", "nurture"),
    ]
    # The contact's source " Referral " → referral; a form without utm → form:<slug>, unmapped
    assert _of(session, data, "ben") == [
        (at(3, 3, 10), "created", "referral", None, "rf", None),
        (at(3, 3, 10), "form", "form:contact-us", None, None, None),
    ]
    # A manual touch names its channel and campaign; it has no key
    assert _of(session, data, "eve") == [
        (at(3, 6, 12), "form", "linkedin", "webinar", "li", "webinar"),
        (at(3, 6, 12), "manual", None, None, "ev", "leeds"),
    ]


def test_unknown_campaigns_opens_and_sourceless_creation_are_no_touch_or_no_campaign(
    built: tuple[Session, Dataset],
) -> None:
    session, data = built
    # The reply's broadcast "March-News" is no Email campaign: channel Email, campaign none.
    # The email_opened event is not a touch.
    assert _of(session, data, "fay") == [
        (at(3, 10), "created", "fb", None, "fb", None),
        (at(3, 11), "form", "fb", "retarget", "fb", "retarget"),
        (at(3, 12), "email", "email", "march-news", "em", None),
    ]
    # Created with no source and nothing else: no touch at all
    assert _of(session, data, "cal") == []


def test_touches_stop_at_now_and_stay_in_their_workspace(built: tuple[Session, Dataset]) -> None:
    session, data = built
    # gus's click of 20 April is after NOW (15 April)
    assert _of(session, data, "gus") == [(at(3, 12), "created", "newsletter-swap", None, None, None)]
    # Reading up to 5 March 09:00 (exclusive) leaves ann's first form only
    assert [t[1] for t in _of(session, data, "ann", now=at(3, 5))] == ["form"]
    found = touches(data.workspace.id, NOW)
    ids = set(session.scalars(select(found.c.contact_id).distinct()))
    # Every contact of the workspace but cal (no touch); the other workspace's customer is absent
    names = {c.id: name for name, c in data.contacts.items()}
    assert sorted(names[i] for i in ids) == sorted(set(names.values()) - {"cal"})


def test_touches_can_be_read_for_some_contacts_only(built: tuple[Session, Dataset]) -> None:
    session, data = built
    wanted = select(Contact.id).where(Contact.id == data.contacts["hal"].id)  # any select of ids
    found = touches(data.workspace.id, NOW, contact_ids=wanted)
    rows = session.execute(select(found.c.contact_id, found.c.kind).order_by(found.c.occurred_at)).all()
    # hal: form, form, click, manual, click after the sale (3 April, before now)
    assert [kind for _id, kind in rows] == ["form", "form", "email", "manual", "email"]
    assert {contact_id for contact_id, _kind in rows} == {data.contacts["hal"].id}
