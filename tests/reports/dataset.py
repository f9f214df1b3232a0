"""A small, fully known data set for the outcome reports: ``build(session) -> Dataset``.

The report range is March 2026 (``dataset.query``: 1–31 March, linear, by channel), outcomes read
up to ``NOW`` = 15 April 2026 12:00 UTC. The workspace adds up USD.

Channels (source keys → channel; campaigns by key):
  Facebook "fb", "facebook"          campaigns spring (Spring promo), retarget (Retargeting)
  LinkedIn "linkedin"                campaign webinar (Webinar series)
  Email "email"                      campaign nurture (Nurture sequence)
  Events (no key: manual touches)    campaign leeds (Leeds seminar)
  Referral "referral"                —
  Google "google"                    — (spend only, no lead)
Unmapped keys in use: "form:contact-us", "newsletter-swap".

Magnets and pages: form guide-form (asset roi-guide) on page roi-lp; form webinar-form (asset
spring-webinar) on page webinar-lp; form contact-us (no asset, no page).

Leads captured in March (9), touches up to the sale, in order, as (channel/campaign):
  ann  A  FB/spring (form 2 Mar 09:00) · EM/nurture (click 5 Mar) · LI/webinar (form 8 Mar);
          MQL 6, SQL 9, opp 10, won 12 Mar; 1 meeting; won USD 9,000; a click on 20 Mar is after
          the sale (no credit); magnet roi-guide, page roi-lp
  ben  B  RF (created 3 Mar 10:00, source " Referral ") · unmapped form:contact-us (form at the same
          moment: creation first); MQL 10 Mar; lost deal USD 1,000
  cal  C  no touch (no source, nothing else); stays a lead
  dee  A  LI (created 5 Mar, source "LinkedIn"); MQL 7, SQL 8, opp 9, won 15 Mar; 1 meeting;
          won USD 4,000
  eve  B  LI/webinar (form 6 Mar 12:00) · EV/leeds (manual, same moment: form first); MQL 7, SQL 10,
          won 20 Mar; 2 meetings; won EUR 5,000 (not counted); magnet spring-webinar, page webinar-lp
  fay  A  FB (created 10 Mar, source "fb") · FB/retarget (form 11 Mar) · EM (reply 12 Mar, broadcast
          "March-News": no such campaign); MQL 12 Mar; 1 meeting; open deal USD 2,000
  gus  —  unmapped newsletter-swap (created 12 Mar); a click on 20 Apr is after now
  hal  —  FB/spring (form 14 Mar, no page) · FB/spring (form 16 Mar on roi-lp) · EM/nurture (click
          18 Mar) · EV (manual 19 Mar); MQL 20, SQL 22, opp 25 Mar, won 2 Apr; 1 meeting; won USD
          6,000; a click on 3 Apr is after the sale; magnet roi-guide, page roi-lp
  jay  D  LI (created 25 Feb as a subscriber, source "linkedin") · LI/webinar (form 26 Feb); became
          a lead on 20 Mar (captured then); magnet spring-webinar, page webinar-lp
Not leads of March: ivy (captured in February, won USD 7,000 in March), kim (created 2 April),
lou (merged into ann), and a customer in another workspace.

Spend (USD unless said):
  FB/spring 1–31 Mar 3,100 · FB/spring 1–28 Feb 2,800 (outside) · FB/retarget 17 Mar–15 Apr 600
  (15 of 30 days inside: 300) · LI channel-level retainer 1–31 Mar 1,000 · LI/webinar 1–31 Mar 800
  · EV/leeds 6 Mar EUR 500 (not counted) · EV channel-level 19 Mar 250 · Google 1–31 Mar 700
  (brings no lead). March total in USD: 3,100 + 300 + 1,000 + 800 + 250 + 700 = 6,150.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    Campaign,
    Channel,
    ChannelSource,
    Contact,
    Engagement,
    Form,
    FormSubmission,
    LandingPage,
    ManualTouch,
    Spend,
    Workspace,
)
from leadwell.reports.query import ReportQuery
from tests.factories import make_contact, make_deal, make_event, make_workspace, move_through

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
START, END = date(2026, 3, 1), date(2026, 3, 31)
_nonce = itertools.count(1)


def at(month: int, day: int, hour: int = 9) -> datetime:
    """A moment of 2026 in UTC."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Dataset:
    """The built rows, by short name, and the March query."""

    workspace: Workspace
    query: ReportQuery
    contacts: dict[str, Contact] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    pages: dict[str, LandingPage] = field(default_factory=dict)

    def ask(self, **changes: Any) -> ReportQuery:
        """The March query with some fields changed (``attribution``, ``dimension``, ``start``…)."""
        return replace(self.query, **changes)


def _channels(session: Session, data: Dataset) -> None:
    ws = data.workspace.id
    layout: dict[str, tuple[str, str, tuple[str, ...], dict[str, str]]] = {
        "fb": ("Facebook", "paid_social", ("fb", "facebook"),
               {"spring": "Spring promo", "retarget": "Retargeting"}),
        "li": ("LinkedIn", "paid_social", ("linkedin",), {"webinar": "Webinar series"}),
        "em": ("Email", "email", ("email",), {"nurture": "Nurture sequence"}),
        "ev": ("Events", "events", (), {"leeds": "Leeds seminar"}),
        "rf": ("Referral", "referral", ("referral",), {}),
        "go": ("Google", "paid_search", ("google",), {}),
    }  # fmt: skip
    for short, (name, kind, keys, campaigns) in layout.items():
        channel = Channel(workspace_id=ws, name=name, kind=kind)
        session.add(channel)
        session.flush()
        data.channels[short] = channel
        session.add_all(ChannelSource(workspace_id=ws, channel_id=channel.id, key=key) for key in keys)
        for key, title in campaigns.items():
            campaign = Campaign(workspace_id=ws, channel_id=channel.id, name=title, key=key)
            session.add(campaign)
            session.flush()
            data.campaigns[key] = campaign
    session.flush()


def _capture(session: Session, data: Dataset) -> None:
    ws = data.workspace.id
    guide = Asset(workspace_id=ws, slug="roi-guide", kind="pdf", title="ROI guide")
    webinar = Asset(workspace_id=ws, slug="spring-webinar", kind="webinar", title="Spring webinar")
    session.add_all([guide, webinar])
    session.flush()
    for slug, asset in (("guide-form", guide), ("webinar-form", webinar), ("contact-us", None)):
        form = Form(workspace_id=ws, slug=slug, name=slug, asset_id=asset.id if asset else None)
        session.add(form)
        session.flush()
        data.forms[slug] = form
    for slug, form_slug in (("roi-lp", "guide-form"), ("webinar-lp", "webinar-form")):
        page = LandingPage(workspace_id=ws, slug=slug, title=slug, form_id=data.forms[form_slug].id)
        session.add(page)
        session.flush()
        data.pages[slug] = page


def _submit(
    session: Session, data: Dataset, who: str, form: str, when: datetime, page: str | None = None, **utm: str
) -> None:
    contact = data.contacts[who]
    session.add(
        FormSubmission(
            workspace_id=contact.workspace_id,
            form_id=data.forms[form].id,
            contact_id=contact.id,
            landing_page_id=data.pages[page].id if page else None,
            nonce=f"nonce-{next(_nonce)}",
            fields={},
            utm=utm,
            submitted_at=when,
        )
    )
    session.flush()


def _manual(
    session: Session, data: Dataset, who: str, channel: str, when: datetime, campaign: str | None
) -> None:
    contact = data.contacts[who]
    session.add(
        ManualTouch(
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            channel_id=data.channels[channel].id,
            campaign_id=data.campaigns[campaign].id if campaign else None,
            occurred_at=when,
        )
    )
    session.flush()


def _people(session: Session, data: Dataset) -> None:
    ws = data.workspace

    def person(name: str, created: datetime, source: str | None, stage: str = "lead", **more: Any) -> Contact:
        contact = make_contact(
            session, ws, first_name=name, created_at=created, source=source, stage=stage, **more
        )
        data.contacts[name] = contact
        return contact

    person("ann", at(3, 2), None)
    person("ben", at(3, 3, 10), " Referral ")
    person("cal", at(3, 4), None)
    person("dee", at(3, 5), "LinkedIn")
    person("eve", at(3, 6, 12), None)
    person("fay", at(3, 10), "fb")
    person("gus", at(3, 12), "newsletter-swap")
    person("hal", at(3, 14), None)
    person("jay", at(2, 25), "linkedin", stage="subscriber")
    person("ivy", at(2, 20), "fb")
    person("kim", at(4, 2), "fb")
    person("lou", at(3, 25), "fb", merged_into_id=data.contacts["ann"].id)
    for name, grade in (
        ("ann", "A"),
        ("ben", "B"),
        ("cal", "C"),
        ("dee", "A"),
        ("eve", "B"),
        ("fay", "A"),
        ("jay", "D"),
    ):
        session.add(Engagement(contact_id=data.contacts[name].id, workspace_id=ws.id, grade=grade))
    session.flush()


def _histories(session: Session, data: Dataset) -> None:
    c = data.contacts
    move_through(
        session,
        c["ann"],
        ("mql", at(3, 6)),
        ("sql", at(3, 9)),
        ("opportunity", at(3, 10)),
        ("customer", at(3, 12)),
    )
    move_through(session, c["ben"], ("mql", at(3, 10)))
    move_through(
        session,
        c["dee"],
        ("mql", at(3, 7)),
        ("sql", at(3, 8)),
        ("opportunity", at(3, 9)),
        ("customer", at(3, 15)),
    )
    move_through(session, c["eve"], ("mql", at(3, 7)), ("sql", at(3, 10)), ("customer", at(3, 20)))
    move_through(session, c["fay"], ("mql", at(3, 12)))
    move_through(
        session,
        c["hal"],
        ("mql", at(3, 20)),
        ("sql", at(3, 22)),
        ("opportunity", at(3, 25)),
        ("customer", at(4, 2)),
    )
    move_through(session, c["jay"], ("lead", at(3, 20, 10)))
    move_through(session, c["ivy"], ("mql", at(3, 3)), ("customer", at(3, 9)))
    for name, days in (("ann", [9]), ("dee", [8]), ("eve", [10, 11]), ("fay", [13]), ("hal", [22])):
        for day in days:
            make_event(session, c[name], "meeting_booked", at(3, day, 15), {})
    make_event(session, c["gus"], "meeting_booked", at(4, 20), {})  # after now: not counted
    make_deal(session, c["ann"], value=Decimal("9000"), status="won", closed_at=at(3, 12))
    make_deal(session, c["dee"], value=Decimal("4000"), status="won", closed_at=at(3, 15))
    make_deal(session, c["eve"], value=Decimal("5000"), currency="EUR", status="won", closed_at=at(3, 20))
    make_deal(session, c["hal"], value=Decimal("6000"), status="won", closed_at=at(4, 2))
    make_deal(session, c["fay"], value=Decimal("2000"), status="open")
    make_deal(session, c["ben"], value=Decimal("1000"), status="lost")
    make_deal(session, c["ivy"], value=Decimal("7000"), status="won", closed_at=at(3, 9))


def _touches(session: Session, data: Dataset) -> None:
    c = data.contacts
    _submit(session, data, "ann", "guide-form", at(3, 2), "roi-lp", utm_source=" FB ", utm_campaign="Spring")
    make_event(session, c["ann"], "email_clicked", at(3, 5), {"sequence": "Nurture"})
    _submit(
        session,
        data,
        "ann",
        "webinar-form",
        at(3, 8),
        "webinar-lp",
        utm_source="linkedin",
        utm_campaign="webinar",
    )
    make_event(session, c["ann"], "email_clicked", at(3, 20), {"sequence": "nurture"})  # after the sale
    _submit(session, data, "ben", "contact-us", at(3, 3, 10))
    _submit(
        session,
        data,
        "eve",
        "webinar-form",
        at(3, 6, 12),
        "webinar-lp",
        utm_source="LinkedIn",
        utm_campaign="Webinar",
    )
    _manual(session, data, "eve", "ev", at(3, 6, 12), "leeds")
    _submit(session, data, "fay", "guide-form", at(3, 11), "roi-lp", utm_source="fb", utm_campaign="retarget")
    make_event(session, c["fay"], "email_replied", at(3, 12), {"broadcast": "March-News"})
    make_event(session, c["fay"], "email_opened", at(3, 12, 10), {"broadcast": "March-News"})  # not a touch
    make_event(session, c["gus"], "email_clicked", at(4, 20), {})  # after now
    _submit(session, data, "hal", "guide-form", at(3, 14), None, utm_source="fb", utm_campaign="spring")
    _submit(
        session, data, "hal", "guide-form", at(3, 16), "roi-lp", utm_source="facebook", utm_campaign="spring"
    )
    make_event(session, c["hal"], "email_clicked", at(3, 18), {"sequence": "nurture"})
    _manual(session, data, "hal", "ev", at(3, 19), None)
    make_event(session, c["hal"], "email_clicked", at(4, 3), {"sequence": "nurture"})  # after the sale
    _submit(
        session,
        data,
        "jay",
        "webinar-form",
        at(2, 26),
        "webinar-lp",
        utm_source="linkedin",
        utm_campaign="webinar",
    )
    _submit(session, data, "ivy", "guide-form", at(3, 2), "roi-lp", utm_source="fb", utm_campaign="spring")


def _spend(session: Session, data: Dataset) -> None:
    ch, cp = data.channels, data.campaigns
    rows = [
        ("fb", "spring", date(2026, 3, 1), date(2026, 3, 31), "3100", "USD"),
        ("fb", "spring", date(2026, 2, 1), date(2026, 2, 28), "2800", "USD"),
        ("fb", "retarget", date(2026, 3, 17), date(2026, 4, 15), "600", "USD"),
        ("li", None, date(2026, 3, 1), date(2026, 3, 31), "1000", "USD"),
        ("li", "webinar", date(2026, 3, 1), date(2026, 3, 31), "800", "USD"),
        ("ev", "leeds", date(2026, 3, 6), date(2026, 3, 6), "500", "EUR"),
        ("ev", None, date(2026, 3, 19), date(2026, 3, 19), "250", "USD"),
        ("go", None, date(2026, 3, 1), date(2026, 3, 31), "700", "USD"),
    ]
    for channel, campaign, first, last, amount, currency in rows:
        session.add(
            Spend(
                workspace_id=data.workspace.id,
                channel_id=ch[channel].id,
                campaign_id=cp[campaign].id if campaign else None,
                spent_from=first,
                spent_to=last,
                amount=Decimal(amount),
                currency=currency,
            )
        )
    session.flush()


def build(session: Session) -> Dataset:
    """Build the data set described in this module's docstring and return its rows by name."""
    workspace = make_workspace(session, "Outcomes Ltd")
    data = Dataset(workspace, ReportQuery(workspace.id, START, END, "linear", "channel", NOW))
    _channels(session, data)
    _capture(session, data)
    _people(session, data)
    _histories(session, data)
    _touches(session, data)
    _spend(session, data)
    other = make_workspace(session, "Elsewhere")
    outsider = make_contact(
        session, other, first_name="zed", created_at=at(3, 3), source="fb", stage="customer"
    )
    make_deal(session, outsider, value=Decimal("50000"), status="won", closed_at=at(3, 4))
    session.flush()
    return data
