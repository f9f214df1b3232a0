"""What the demo's people did: each contact's history, simulated event by event, then the lifecycle
stages replayed from it the way the product's own rules would move them.

Every contact has a hidden fit (who they are, see :mod:`leadwell.demo.cast`) and engagement (how much
they care); emails, downloads, webinars, calls and deals follow from both. Every draw comes from the
``random.Random`` passed in, in a fixed order.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from leadwell.demo import data
from leadwell.demo.cast import Calendar, Deal, Person, ascii_slug, later, office_hours, pick, sizing
from leadwell.demo.data import DAY

DEAL_SHARE = 0.07
# Engagement points per event and the threshold at which a lead becomes marketing-qualified.
POINTS = {"email_opened": 1, "email_clicked": 3, "page_viewed": 1, "asset_downloaded": 6, "read_progress": 2,
          "video_progress": 2, "webinar_registered": 3, "webinar_attended": 10, "email_replied": 10,
          "form_submitted": 5}  # fmt: skip
MQL_POINTS = 40
SOURCE_WIN_BONUS = {"referral": 0.15, "imported-list": -0.1}
CALL_SECONDS = {"no_answer": (0, 0), "voicemail": (20, 60), "wrong_number": (10, 40)}  # else a talk
CALL_OUTCOMES = ("no_answer", "voicemail", "connected", "not_interested", "wrong_number", "meeting_booked")


# --- the sales plan: who gets a deal, who gets an owner ------------------------------------------


def plan_sales(rng: random.Random, people: list[Person]) -> None:
    """Give ~7% of contacts a deal, favouring fitting and engaged ones; about half get an owner."""
    eligible = [p for p in people if p.created_at <= p.now - timedelta(days=30)]  # time to reach a deal
    # Weighted sampling without replacement (Efraimidis–Spirakis): one key per person, keep the top k.
    keys = [(rng.random() ** (1 / ((p.fit * p.engagement) ** 1.5 + 1e-9)), i) for i, p in enumerate(eligible)]
    for _, index in sorted(keys, reverse=True)[: round(DEAL_SHARE * len(people))]:
        eligible[index].deal = _deal(rng, eligible[index])
    for p in people:
        if p.deal is not None or rng.random() < 0.05 + 0.6 * p.fit:
            p.owner = rng.randrange(2)


def _deal(rng: random.Random, p: Person) -> Deal:
    offer, base = rng.choice(data.OFFERS)
    employees = p.org.employees if p.org else 8
    value = base * (employees / 60) ** 0.3 * rng.lognormvariate(0, 0.25)  # bigger clients buy bigger
    value = min(120_000, max(5_000, round(value / 500) * 500))
    who = p.org.name if p.org else f"{p.first} {p.last}"
    return Deal(f"{who}: {offer}", Decimal(value), p.country.currency)


# --- what they did: one contact's history --------------------------------------------------------


def tell(rng: random.Random, p: Person, cal: Calendar) -> None:
    """Write one contact's history, then derive its lifecycle stage from it."""
    _origin(rng, p, cal)
    _emails(rng, p, cal)
    _downloads(rng, p)
    _browsing(rng, p)
    _webinars(rng, p, cal)
    if p.deal is not None:
        _deal_story(rng, p, p.deal)
    elif p.owner is not None:
        _prospecting(rng, p)
    _stages(p)
    p.events.sort(key=lambda event: event.at)


def _origin(rng: random.Random, p: Person, cal: Calendar) -> None:
    """The event that brought the contact in (an imported list brings no event)."""
    company = {"company": p.org.name} if p.org else {}
    asset = next((a for a in data.ASSETS if a.name == p.origin), None)
    if p.source == "website-form":
        fields = {"email": p.email, **company, **(p.custom if p.origin == "ROI calculator" else {})}
        campaign = asset.campaign if asset else next(c for f, c, _ in data.FORMS if f == p.origin)
        submitted: dict[str, Any] = {"form": data.FORM_SLUGS.get(p.origin, ""), "fields": fields}
        if asset:  # a magnet's landing page and its form
            submitted.update(form=f"download-{asset.slug}", asset=asset.slug, page=asset.slug)
        p.emit(p.created_at, "form_submitted", submitted, "website", campaign)
        p.stage = "subscriber" if p.origin == "Newsletter signup" else "lead"
    elif p.source == "webinar":
        campaign = next(c for title, _, c in cal.webinars if title == p.origin)
        p.emit(p.created_at, "webinar_registered", {"webinar": webinar_slug(p.origin)}, "webinar", campaign)
        p.stage = "subscriber" if p.org is None else "lead"
    elif p.source in ("linkedin", "conference") and p.origin != "LinkedIn connection":
        form = f"LinkedIn lead gen: {p.origin}" if asset else f"Booth sign-up: {p.origin}"
        campaign = asset.campaign if asset else ascii_slug(p.origin.replace(" ", "-"))
        fields = {"email": p.email, **company}
        p.emit(p.created_at, "form_submitted", {"form": form, "fields": fields}, p.source, campaign)
    elif p.source == "referral":
        p.emit(p.created_at, "note_added", {"text": f"Referred by {p.origin}"}, "referral", None)
    if asset is not None:
        _consume(rng, p, asset, later(p.created_at, rng, 5, 40), p.source, asset.campaign)


def _consume(
    rng: random.Random, p: Person, asset: data.Asset, at: datetime, source: str, campaign: str
) -> None:
    """Download a lead magnet, then read or watch as far as interest carries them (25/50/80/100%)."""
    page = {"url": data.SITE + asset.path, "title": asset.name, "page": asset.slug}
    p.emit(at - timedelta(seconds=60), "page_viewed", page, source, campaign)
    p.emit(at, "asset_downloaded", {"asset": asset.slug}, source, campaign)
    depth = 1.3 * p.engagement + rng.gauss(0, 0.2)
    kind = "read_progress" if asset.kind == "read" else "video_progress"
    for percent in (25, 50, 80, 100):
        if depth * 100 < percent:
            return
        at = later(at, rng, 300, 2 * DAY if kind == "read_progress" else 900)
        p.emit(at, kind, _progress(asset, percent, p.engagement), source, campaign)


def _progress(asset: data.Asset, percent: int, engagement: float) -> dict[str, Any]:
    """A milestone's properties as the hosted reader or player reports them."""
    if asset.kind == "video":
        return {"asset": asset.slug, "percent": percent, "active_seconds": asset.pages * 60 * percent // 100}
    seen = max(1, -(-asset.pages * percent // 100))
    active = round(seen * 70 * (0.6 + engagement))  # keen readers linger on a page
    return {"asset": asset.slug, "percent": percent, "pages_viewed": seen, "pages_total": asset.pages,
            "active_seconds": active}  # fmt: skip


def _mailings(p: Person, cal: Calendar) -> list[tuple[datetime, str, str, str, str]]:
    """Every email the consultancy sends this person: (at, campaign, message, subject, link path)."""
    series, campaign = data.WELCOME_SERIES, "welcome-series"
    if p.consent != "opted_in":  # no consent: one short, polite outreach sequence and nothing more
        series = data.OUTREACH_SERIES
        campaign = "list-outreach" if p.source == "imported-list" else f"{p.source}-follow-up"
    company = p.org.name if p.org else "your team"
    sends = [
        (
            p.created_at + timedelta(days=gap, minutes=7),
            campaign,
            f"{campaign}-{step}",
            subject.format(company=company),
            path,
        )
        for step, (gap, subject, path) in enumerate(series, start=1)
    ]
    if p.consent == "opted_in":
        topics, pages = data.NEWSLETTER_TOPICS, data.PAGES
        sends += [
            (
                at,
                "newsletter",
                f"newsletter-{n}",
                f"Operations Notes #{n}: {topics[n % len(topics)]}",
                pages[n % len(pages)][0],
            )
            for n, at in cal.newsletters
            if at > p.created_at
        ]
        invites = [(at - timedelta(days=14), title, c) for title, at, c in cal.webinars]
        sends += [
            (at, c, f"{c}-invite", f"You're invited: {title}", f"/webinars/{c}")
            for at, title, c in invites
            if at > p.created_at
        ]
    return sorted(send for send in sends if send[0] <= p.now)


def _emails(rng: random.Random, p: Person, cal: Calendar) -> None:
    """Sent → some opened → fewer clicked → few replied; a few bounce or unsubscribe, and mail stops."""
    e = p.engagement
    for index, (at, campaign, message, subject, path) in enumerate(_mailings(p, cal)):
        props = {"message": message, "subject": subject}
        p.emit(at, "email_sent", props, "email", campaign)
        if index == 0 and p.source == "imported-list" and p.deal is None and rng.random() < 0.06:
            bounce = {**props, "kind": "hard", "diagnostic": "550 5.1.1 mailbox unavailable"}
            p.emit(later(at, rng, 2, 30), "email_bounced", bounce, "email", campaign)
            return
        if rng.random() >= 0.12 + 0.55 * e:
            continue
        opened = later(at, rng, 120, 2 * DAY)
        p.emit(opened, "email_opened", props, "email", campaign)
        if rng.random() < 0.08 + 0.45 * e:
            url = f"{data.SITE}{path}?utm_source=email&utm_medium=email&utm_campaign={campaign}"
            clicked = later(opened, rng, 5, 300)
            p.emit(clicked, "email_clicked", {**props, "url": url}, "email", campaign)
            p.emit(
                clicked, "page_viewed", {"url": url, "title": data.PAGE_TITLES.get(path)}, "email", campaign
            )
        if rng.random() < 0.01 + 0.07 * e:
            p.emit(later(opened, rng, 600, DAY), "email_replied", props, "email", campaign)
        elif p.deal is None and rng.random() < 0.03 * (1 - e):
            gone = later(opened, rng, 10, 120)
            if p.emit(gone, "email_unsubscribed", props, "email", campaign):
                p.consent, p.consent_at = "opted_out", gone
            return


def _downloads(rng: random.Random, p: Person) -> None:
    """Lead magnets launched while they were around, taken more by the engaged."""
    for asset in data.ASSETS:
        start = max(p.created_at, p.now - timedelta(days=asset.days_ago))
        if asset.name == p.origin or start >= p.now or rng.random() >= 0.03 + 0.5 * p.engagement**1.5:
            continue
        at = start + timedelta(seconds=round((p.now - start).total_seconds() * rng.random() ** 2))
        _consume(rng, p, asset, at, "website", asset.campaign)


def _browsing(rng: random.Random, p: Person) -> None:
    """Visits to the consultancy's site: most people few, the keen ones many (heavy-tailed)."""
    span = (p.now - p.created_at).total_seconds()
    for _ in range(min(40, int(p.engagement * 3 * rng.paretovariate(1.5)))):
        at = p.created_at + timedelta(seconds=round(span * rng.random()))
        referrer = rng.choice(data.REFERRERS)
        for _ in range(min(6, int(rng.paretovariate(1.8)))):
            path, title = rng.choice(data.PAGES)
            page = {"url": data.SITE + path, "title": title, "referrer": referrer}
            p.emit(at, "page_viewed", page, "website", None)
            at, referrer = later(at, rng, 15, 240), data.SITE + path
    if p.engagement > 0.5 and rng.random() < 0.3:
        at = p.created_at + timedelta(seconds=round(span * rng.random()))
        fields = {"email": p.email, "message": "We'd like to talk about our operations."}
        p.emit(at, "form_submitted", {"form": "contact-us", "fields": fields}, "website", None)


def _webinars(rng: random.Random, p: Person, cal: Calendar) -> None:
    """Opted-in contacts register for some webinars (invited two weeks ahead); many attend."""
    for title, starts, campaign in cal.webinars:
        if not (p.source == "webinar" and p.origin == title):
            invited = max(p.created_at, starts - timedelta(days=14))
            if p.consent != "opted_in" or invited >= starts or rng.random() >= 0.02 + 0.3 * p.engagement:
                continue
            registered = invited + timedelta(seconds=round((starts - invited).total_seconds() * rng.random()))
            p.emit(registered, "webinar_registered", {"webinar": webinar_slug(title)}, "email", campaign)
        if rng.random() < 0.35 + 0.45 * p.engagement:
            minutes = round(60 * rng.uniform(0.15, 1.0) * min(1.0, 0.4 + p.engagement))
            attended = {"webinar": webinar_slug(title), "minutes": minutes}
            p.emit(starts + timedelta(minutes=minutes), "webinar_attended", attended, "webinar", campaign)


def webinar_slug(title: str) -> str:
    """How events and the Capture section name a webinar."""
    return ascii_slug(title.lower().replace(" ", "-"))[:60].strip("-")


def _call(rng: random.Random, p: Person, at: datetime, outcome: str, note: str | None = None) -> bool:
    """Log a call (and the meeting it booked); False when ``at`` is still in the future."""
    low, high = CALL_SECONDS.get(outcome, (120, 1800))
    call = {"outcome": outcome, "duration_seconds": rng.randint(low, high), "note": note}
    if not p.emit(at, "call_logged", call, "sales", None):
        return False
    if outcome == "meeting_booked":
        starts = office_hours(rng, later(at, rng, 2 * DAY, 6 * DAY), p.city.timezone)
        meeting = {"starts_at": starts.replace(minute=0, second=0), "note": "Discovery call"}
        p.emit(at + timedelta(seconds=30), "meeting_booked", meeting, "sales", None)
    return True


def _prospecting(rng: random.Random, p: Person) -> None:
    """An owner calls a contact with no deal: most calls ring out, a few book a meeting or get a no."""
    at, e = later(p.created_at, rng, DAY, 12 * DAY), p.engagement
    for _ in range(rng.randint(1, 4)):
        at = office_hours(rng, at, p.city.timezone)
        outcome = pick(rng, CALL_OUTCOMES, (40, 30, 10 + 20 * e, 8, 3, 1 + 12 * e * p.fit))
        if not _call(rng, p, at, outcome) or outcome not in ("no_answer", "voicemail"):
            return
        at = later(at, rng, 2 * DAY, 9 * DAY)


def _deal_story(rng: random.Random, p: Person, deal: Deal) -> None:
    """Calls until a meeting, a deal a few days later, follow-ups, and the close once it is due."""
    span = (p.now - p.created_at).total_seconds()
    meeting = later(p.created_at, rng, max(DAY, 0.15 * span), max(DAY, 0.55 * span))
    meeting = office_hours(rng, meeting, p.city.timezone)
    for attempt in range(rng.randint(0, 2)):  # a couple of unanswered tries first, when there was time
        tried = meeting - timedelta(days=2 * attempt + 2)
        if tried > p.created_at:
            _call(rng, p, tried, rng.choice(("no_answer", "voicemail")))
    _call(rng, p, meeting, "meeting_booked")
    p.custom = p.custom or sizing(rng, p)  # sized up on the discovery call
    deal.opened_at = opened = later(meeting, rng, 3 * DAY, 8 * DAY)
    deal.expected = expected = later(opened, rng, 14 * DAY, 100 * DAY)
    follow_ups = rng.randint(1, 3)
    for k in range(1, follow_ups + 1):
        at = opened + (min(expected, p.now) - opened) * k / (follow_ups + 1)
        _call(rng, p, office_hours(rng, at, p.city.timezone), "connected", rng.choice(data.CALL_NOTES))
    if expected > p.now:
        progress = (p.now - opened) / (expected - opened)
        deal.stage = ("new", "qualified", "proposal", "negotiation")[min(3, int(progress * 4))]
        return
    _close(rng, p, deal, expected)


def _close(rng: random.Random, p: Person, deal: Deal, at: datetime) -> None:
    """Fitting, engaged and referred contacts win more often: the signal predictive models should find."""
    org_fit = p.org.fit if p.org else 0.15
    chance = -0.15 + 0.35 * org_fit + 0.45 * p.engagement + SOURCE_WIN_BONUS.get(p.source, 0.0)
    won = rng.random() < min(0.9, chance)
    deal.stage, deal.status, deal.closed_at = "closed", "won" if won else "lost", at
    deal.reason = None if won else rng.choice(data.LOST_REASONS)
    closed = {"deal": deal.name, "value": float(deal.value), "currency": deal.currency, "reason": deal.reason}
    p.emit(at, f"deal_{deal.status}", closed, "leadwell", None)


# --- lifecycle stages, derived from the history ---------------------------------------------------


def _stages(p: Person) -> None:
    """Walk the history in time order and move the stage the way the product's rules would."""
    opened = [(p.deal.opened_at, "deal_opened", {"deal": p.deal.name})] if p.deal and p.deal.opened_at else []
    timeline = [(event.at, event.type, event.properties) for event in p.events] + opened
    stage, points, changes = p.stage, 0, []
    for at, kind, props in sorted(timeline, key=lambda item: item[0]):
        points += POINTS.get(kind, 0)
        move = _next_stage(stage, kind, props, points)
        if move is not None and move[0] != stage:
            changes.append((at, {"from": stage, "to": move[0], "why": move[1]}))
            stage = move[0]
    for at, change in changes:
        p.emit(at, "stage_changed", change, "leadwell", None)
    p.stage = stage


def _next_stage(stage: str, kind: str, props: dict[str, Any], points: int) -> tuple[str, str] | None:
    early = stage in ("subscriber", "lead", "mql")
    if kind == "deal_opened":
        return "opportunity", f"deal opened: {props['deal']}"
    if kind == "deal_won":
        return "customer", f"won {props['deal']}"
    if kind == "deal_lost":  # a "not now" goes back to nurture; a "no" is final
        recycle = props["reason"] in ("timing", "no decision")
        return ("lead" if recycle else "disqualified"), f"lost {props['deal']} ({props['reason']})"
    if kind == "meeting_booked" and early:
        return "sql", "meeting booked"
    if kind == "call_logged" and props["outcome"] == "not_interested" and early:
        return "disqualified", "said on a call they are not interested"
    if kind == "email_bounced" and stage in ("subscriber", "lead"):
        return "disqualified", "email address bounced"
    if stage == "subscriber" and _gives_details(kind, props):
        return "lead", "shared company details"
    if stage in ("subscriber", "lead") and points >= MQL_POINTS:
        return "mql", f"engagement score {points} reached {MQL_POINTS}"
    return None


def _gives_details(kind: str, props: dict[str, Any]) -> bool:
    """A download, registration or form (other than the newsletter's) asks for company details."""
    if kind == "form_submitted":
        return bool(props["form"] != "Newsletter signup")
    return kind in ("asset_downloaded", "webinar_registered")
