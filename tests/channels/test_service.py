"""Channels, source keys, campaigns, unmapped sources, manual touches and typed-in spend, on both
databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from leadwell.channels import ledger, service
from leadwell.channels.catalog import DEFAULT_CHANNELS, ensure_channels
from leadwell.channels.values import parse_amount, parse_date
from leadwell.db.models import Channel, ChannelSource, Form, FormSubmission, ManualTouch
from leadwell.db.session import Database
from leadwell.errors import InvalidInput, NotFound
from tests.factories import make_contact, make_workspace


def _count(session: object, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))  # type: ignore[attr-defined]


def test_catalog_is_idempotent_and_keeps_user_changes(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        assert ensure_channels(session, ws.id) == 10
        # 5 Facebook + 2 Instagram + 3 LinkedIn + 4 Google + 3 Email + 0 Events + 1 + 1 + 2 + 1 = 22 keys
        assert _count(session, ChannelSource) == 22
        assert ensure_channels(session, ws.id) == 0
        facebook = service.channel_named(session, ws.id, "facebook")
        service.rename_channel(session, ws.id, facebook.id, "Meta ads")
        events = service.channel_named(session, ws.id, "Events & speaking")
        service.rename_channel(session, ws.id, events.id, "Conferences")
        assert ensure_channels(session, ws.id) == 0  # renamed defaults are still there: no second one
        names = set(session.scalars(select(Channel.name).where(Channel.workspace_id == ws.id)))
        assert "Meta ads" in names and "Facebook" not in names and "Conferences" in names
        assert len(names) == len(DEFAULT_CHANNELS)
        other = make_workspace(session)
        assert ensure_channels(session, other.id) == 10  # per workspace


def test_a_key_maps_to_one_channel_only(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        ensure_channels(session, ws.id)
        podcast = service.create_channel(session, ws.id, "Podcast ads", "paid_social", (" Pod ",))
        assert (
            session.scalar(select(ChannelSource.key).where(ChannelSource.channel_id == podcast.id)) == "pod"
        )
        with pytest.raises(InvalidInput) as refused:
            service.add_source(session, ws.id, podcast.id, "FB")
        assert refused.value.detail == "key: source key 'fb' already maps to channel 'Facebook'"
        again = service.add_source(session, ws.id, podcast.id, "POD")  # same channel: nothing changes
        assert again.channel_id == podcast.id
        with pytest.raises(InvalidInput, match="exists already"):
            service.create_channel(session, ws.id, "podcast ADS")
        with pytest.raises(InvalidInput, match="kind: 'tv'"):
            service.create_channel(session, ws.id, "TV", "tv")
        service.remove_source(session, ws.id, "fb")
        assert service.add_source(session, ws.id, podcast.id, "fb").channel_id == podcast.id
        with pytest.raises(NotFound):
            service.remove_source(session, ws.id, "never-mapped")


def test_unmapped_sources_count_contacts(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        ensure_channels(session, ws.id)
        a = make_contact(session, ws, source="Realtors 2026")
        b = make_contact(session, ws, source="realtors 2026 ")
        c = make_contact(session, ws, source="fb")  # mapped: not listed
        merged = make_contact(session, ws, source="Old list", merged_into_id=a.id)
        del merged
        form = Form(workspace_id=ws.id, slug="webinar-signup", name="Webinar signup", fields=[])
        session.add(form)
        session.flush()
        for n, (contact, utm) in enumerate(
            [
                (a, {"utm_source": "TikTok"}),
                (b, {"utm_source": "tiktok"}),
                (c, {"utm_source": "tiktok"}),
                (c, {}),
                (a, {"utm_source": "Google"}),
            ]
        ):
            session.add(
                FormSubmission(
                    workspace_id=ws.id,
                    form_id=form.id,
                    contact_id=contact.id,
                    nonce=f"n{n}",
                    fields={},
                    utm=utm,
                )
            )
        session.flush()
        found = service.unmapped_sources(session, ws.id, 10)
        # tiktok: a, b, c = 3; realtors 2026: a, b = 2; form:webinar-signup (no utm_source): c = 1.
        # "google" and "fb" are mapped; the merged contact's "old list" is left out.
        assert [(u.key, u.contacts) for u in found] == [
            ("tiktok", 3),
            ("realtors 2026", 2),
            ("form:webinar-signup", 1),
        ]
        assert len(service.unmapped_sources(session, ws.id, 1)) == 1
        other = make_workspace(session)
        assert service.unmapped_sources(session, other.id) == []


def test_campaigns_touches_and_typed_in_spend(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        ensure_channels(session, ws.id)
        events = service.channel_named(session, ws.id, "events & speaking")
        leeds = service.create_campaign(session, ws.id, events.id, "Leeds Seminar 2026")
        assert leeds.key == "leeds seminar 2026"
        assert service.campaign_for(session, ws.id, events.id, "LEEDS seminar 2026").id == leeds.id
        person = make_contact(session, ws)
        touch = service.tag_contact(session, ws.id, person.id, events.id, leeds.id, " met at the booth ")
        assert (touch.channel_id, touch.campaign_id, touch.note) == (events.id, leeds.id, "met at the booth")
        google = service.channel_named(session, ws.id, "Google")
        with pytest.raises(InvalidInput, match="campaign: not a campaign of that channel"):
            service.tag_contact(session, ws.id, person.id, google.id, leeds.id)
        stranger = make_contact(session, make_workspace(session))
        with pytest.raises(NotFound):
            service.tag_contact(session, ws.id, stranger.id, events.id)
        assert _count(session, ManualTouch) == 1
        fee = service.SpendInput(
            events.id, Decimal("1500"), "usd", date(2026, 3, 5), None, leeds.id, "speaking fee"
        )
        spend = service.add_spend(session, ws.id, fee)
        assert (spend.currency, spend.spent_to, spend.amount) == ("USD", date(2026, 3, 5), Decimal("1500.00"))
        for bad, message in [
            (
                service.SpendInput(events.id, Decimal("0"), "USD", date(2026, 3, 5)),
                "amount: must be more than 0",
            ),
            (service.SpendInput(events.id, Decimal("5"), "US", date(2026, 3, 5)), "currency: 'US' is not"),
            (
                service.SpendInput(events.id, Decimal("5"), "EUR", date(2026, 3, 5), date(2026, 3, 1)),
                "to: must not",
            ),
        ]:
            with pytest.raises(InvalidInput, match=message):
                service.add_spend(session, ws.id, bad)
        retainer = service.SpendInput(google.id, Decimal("2000"), "EUR", date(2026, 3, 1), date(2026, 3, 31))
        service.add_spend(session, ws.id, retainer)
        lines = ledger.list_spend(session, ws.id, date(2026, 3, 6), date(2026, 3, 10))
        assert [(line.channel, line.amount) for line in lines] == [("Google", Decimal("2000.00"))]
        everything = ledger.list_spend(session, ws.id)
        assert [(t.channel, t.currency, t.amount) for t in ledger.totals(everything)] == [
            ("Events & speaking", "USD", Decimal("1500.00")),
            ("Google", "EUR", Decimal("2000.00")),
        ]
        ledger.delete_spend(session, ws.id, spend.id)
        assert len(ledger.list_spend(session, ws.id)) == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.56", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("USD 12", "12.00"),
        ("1,234,567", "1234567.00"),
        ("1,500", "1500.00"),
        ("1,5", "1.50"),
        ("", None),
        ("--", None),
        ("0", "0.00"),
    ],
)
def test_amounts(text: str, value: str | None) -> None:
    assert parse_amount(text) == (Decimal(value) if value is not None else None)


def test_bad_amounts_and_dates() -> None:
    for bad in ("abc", "1.2.3", "12a"):
        with pytest.raises(ValueError):
            parse_amount(bad)
    assert parse_date("11/3/2026", month_first=True) == date(2026, 11, 3)
    assert parse_date("11/3/2026") == date(2026, 3, 11)
    assert parse_date("2026-3-1") == date(2026, 3, 1)
    assert parse_date("Mar 11, 2026") == date(2026, 3, 11)
    with pytest.raises(ValueError):
        parse_date("2026-13-01")
