"""Who is in the demo and when things happen: the marketing calendar, and the companies and people
drawn from :mod:`leadwell.demo.data`. :mod:`leadwell.demo.story` writes their history and
:mod:`leadwell.demo` stores it.

Every draw comes from the ``random.Random`` passed in, in a fixed order, so one seed gives one cast.
Weights are relative, not percentages.
"""

from __future__ import annotations

import itertools
import math
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from leadwell.demo.data import (
    ASCII_FOLD,
    ASSETS,
    CITIES_OF,
    COMPANY_WORDS,
    CONFERENCES,
    COUNTRIES,
    DAY,
    FIRST_NAMES,
    FORMS,
    FREEMAIL_DOMAINS,
    HISTORY_DAYS,
    IMPORT_LISTS,
    INDUSTRIES,
    LAST_NAMES,
    MONTHS,
    SIZE_BANDS,
    SOURCES,
    TITLES,
    WEBINARS,
    City,
    Country,
    Industry,
)
from leadwell.events.types import validate_properties

T = TypeVar("T")


@dataclass(slots=True)
class Org:
    name: str
    domain: str
    employees: int
    industry: Industry
    country: Country
    founded: int
    created_at: datetime | None = None  # set to when its first person arrived

    @property
    def fit(self) -> float:
        """Ideal client: 50–1000 people in an industry whose operations the consultancy knows."""
        size = 1.0 if 50 <= self.employees <= 1000 else 0.55 if 20 <= self.employees <= 5000 else 0.2
        return 0.5 * size + 0.5 * self.industry.fit


@dataclass(slots=True)
class Deal:
    name: str
    value: Decimal
    currency: str
    opened_at: datetime | None = None
    expected: datetime | None = None
    stage: str = "new"
    status: str = "open"
    reason: str | None = None
    closed_at: datetime | None = None


class Event(NamedTuple):
    at: datetime
    type: str
    properties: dict[str, Any]
    source: str | None
    campaign: str | None


@dataclass(slots=True)
class Person:
    first: str
    last: str
    email: str
    title: str | None
    decision_maker: bool
    org: Org | None
    country: Country
    city: City
    phone: str | None
    source: str
    origin: str  # what brought them in: a form, list, webinar, asset, conference or referrer
    created_at: datetime
    engagement: float  # hidden, 0..1: drives opens, clicks, reading and attending
    consent: str
    now: datetime
    custom: dict[str, Any] = field(default_factory=dict)
    consent_at: datetime | None = None
    stage: str = "lead"
    owner: int | None = None  # index into the salespeople
    deal: Deal | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def fit(self) -> float:
        """Hidden fit: the company's, plus whether this person can sign."""
        return 0.65 * (self.org.fit if self.org else 0.15) + 0.35 * (1.0 if self.decision_maker else 0.3)

    def emit(
        self, at: datetime, kind: str, props: dict[str, Any], source: str | None, campaign: str | None
    ) -> bool:
        """Record a validated event; what would happen after ``now`` has not happened, so it is dropped."""
        if at > self.now:
            return False
        props = validate_properties(kind, props)
        self.events.append(Event(max(at, self.created_at), kind, props, source, campaign))
        return True


@dataclass(frozen=True)
class Calendar:
    """Dates fixed relative to ``now``: a fortnightly newsletter and the quarterly webinars."""

    now: datetime
    newsletters: tuple[tuple[int, datetime], ...]
    webinars: tuple[tuple[str, datetime, str], ...]  # (title, starts, campaign)

    @classmethod
    def around(cls, now: datetime) -> Calendar:
        """The newsletters already sent by ``now`` and the webinars (the last one still to come)."""
        letters = tuple((k + 1, day(now, 264 - 14 * k, 10)) for k in range(19))
        webinars = tuple(
            (title, at, f"{MONTHS[at.month - 1]}-webinar")  # not strftime: %B follows the locale
            for title, days_ago in WEBINARS
            for at in [day(now, days_ago, 16)]
        )
        return cls(now, tuple(item for item in letters if item[1] < now), webinars)


def pick(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    """One of ``items``, chosen with relative ``weights``."""
    return rng.choices(items, weights)[0]


def later(at: datetime, rng: random.Random, low: float, high: float) -> datetime:
    """``at`` plus a random whole number of seconds in [low, high] (whole seconds: equal on every DB)."""
    return at + timedelta(seconds=round(rng.uniform(low, high)))


def day(now: datetime, days_ago: float, hour: int) -> datetime:
    """``hour`` o'clock (UTC) on the day ``days_ago`` before ``now``."""
    return (now - timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0, microsecond=0)


def office_hours(rng: random.Random, at: datetime, timezone: str) -> datetime:
    """A working-day time (8:00–18:00 in ``timezone``) on the day of ``at``, or the Monday after."""
    local = at.astimezone(ZoneInfo(timezone))
    local = local.replace(
        hour=rng.randint(8, 17), minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
    )
    local += timedelta(days=7 - local.weekday() if local.weekday() >= 5 else 0)
    return local.astimezone(UTC)


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters, digits and hyphens, as in an email address: "Søren" → "soren"."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(ASCII_FOLD))
    return "".join(char for char in folded if char.isascii() and (char.isalnum() or char == "-"))


def draw_cast(rng: random.Random, contacts: int, cal: Calendar) -> tuple[list[Org], list[Person]]:
    """About one company per seven contacts, then the contacts themselves."""
    domains: set[str] = set()
    orgs = [_org(rng, domains) for _ in range(max(1, round(contacts / 7)))]
    companies = _Companies(orgs)
    emails: set[str] = set()
    people = [_person(rng, companies, emails, cal) for _ in range(contacts)]
    for p in people:
        if p.org is not None and (p.org.created_at is None or p.created_at < p.org.created_at):
            p.org.created_at = p.created_at
    return orgs, people


def _employees(rng: random.Random) -> int:
    """Heavy-tailed: many 5–50, some hundreds, a few over 5000."""
    draw = rng.random()
    low, high = next((low, high) for edge, low, high in SIZE_BANDS if draw < edge)
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def _company(rng: random.Random, industry: Industry) -> str:
    noun, word, surname = rng.choice(industry.nouns), rng.choice(COMPANY_WORDS), rng.choice(LAST_NAMES)
    draw = rng.random()
    if draw < 0.6:
        return f"{word} {noun}"
    if draw < 0.8:
        return f"{surname} {noun}"
    if draw < 0.9:
        return f"{word} & {rng.choice(COMPANY_WORDS)} {noun}"
    return f"{surname} & {rng.choice(LAST_NAMES)}"


def _org(rng: random.Random, used: set[str]) -> Org:
    industry = pick(rng, INDUSTRIES, [item.weight for item in INDUSTRIES])
    country = pick(rng, COUNTRIES, [item.weight for item in COUNTRIES])
    attempt, domain, name = 0, "", ""
    while not domain or domain in used:
        name = _company(rng, industry)
        tld = "io" if industry.name == "software" and rng.random() < 0.4 else rng.choice(country.tlds)
        # Past a few collisions the name space is crowded (huge demos): number the domain instead.
        domain = f"{ascii_slug(name).replace('-', '')}{attempt if attempt > 5 else ''}.{tld}"
        attempt += 1
    used.add(domain)
    name = f"{name} {country.legal_suffix}"
    return Org(name, domain, _employees(rng), industry, country, rng.randint(1952, 2021))


def _title(rng: random.Random, org: Org | None) -> tuple[str | None, bool]:
    if org is None:
        title = rng.choice((None, "Consultant", "Owner", "Freelancer"))
        return title, title == "Owner"
    if org.industry.name == "real estate" and rng.random() < 0.5:
        return rng.choice(("Real Estate Agent", "Broker")), False
    weights = [large if org.employees > 200 else small for _, _, small, large in TITLES]
    title, decides, _, _ = pick(rng, TITLES, weights)
    return title, decides


def _email(rng: random.Random, first: str, last: str, domain: str, used: set[str]) -> str:
    local = f"{ascii_slug(first)}.{ascii_slug(last)}"
    if domain in FREEMAIL_DOMAINS and rng.random() < 0.6:  # the bare name is long gone at gmail.com
        local += str(rng.randint(1, 99))
    address, number = f"{local}@{domain}", 2
    while address in used:
        address, number = f"{local}{number}@{domain}", number + 1
    used.add(address)
    return address


def _arrival(rng: random.Random, source: str, cal: Calendar) -> tuple[datetime, str]:
    """When a contact arrived and what brought them (list, webinar, form, asset, conference, referrer)."""
    if source == "imported-list":
        batch = rng.choice(IMPORT_LISTS)
        return later(day(cal.now, batch.days_ago, 11), rng, 0, 900), batch.name
    if source == "webinar":
        title, starts, _ = rng.choice(cal.webinars)
        return min(later(starts, rng, -21 * DAY, -3600), cal.now - timedelta(hours=1)), title
    # More arrivals lately: marketing has been ramping up.
    at = cal.now - timedelta(seconds=round(HISTORY_DAYS * DAY * rng.random() ** 1.4 + 3600))
    launched = [asset.name for asset in ASSETS if cal.now - timedelta(days=asset.days_ago) < at]
    if source == "website-form":
        weights = [weight for _, _, weight in FORMS] + [3] * len(launched)
        return at, pick(rng, [form for form, _, _ in FORMS] + launched, weights)
    if source == "linkedin":
        return at, rng.choice([*launched, "LinkedIn connection"])
    if source == "conference":
        return at, rng.choice(CONFERENCES)
    return at, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


class _Companies:
    """Where people work: bigger companies appear more often; a purchased list holds only its industry."""

    def __init__(self, orgs: list[Org]) -> None:
        self.orgs = orgs
        # Cumulative weights once, not per draw: choices() would redo them for every person.
        self.cumulative = list(itertools.accumulate(1 + math.log10(org.employees) for org in orgs))
        self.listed = {
            item.name: [org for org in orgs if org.industry.name == item.industry] for item in IMPORT_LISTS
        }

    def employer(self, rng: random.Random, source: str, origin: str) -> Org:
        if source == "imported-list" and self.listed[origin]:
            return rng.choice(self.listed[origin])
        return rng.choices(self.orgs, cum_weights=self.cumulative)[0]


def _person(rng: random.Random, companies: _Companies, used: set[str], cal: Calendar) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    source, _, base, opt_in = pick(rng, SOURCES, [item[1] for item in SOURCES])
    free = source != "imported-list" and rng.random() < 0.115  # no company: ~8% of all contacts
    created, origin = _arrival(rng, source, cal)
    org = None if free else companies.employer(rng, source, origin)
    country = org.country if org else pick(rng, COUNTRIES, [item.weight for item in COUNTRIES])
    city = rng.choice(CITIES_OF[country.code])
    email = _email(rng, first, last, org.domain if org else rng.choice(FREEMAIL_DOMAINS), used)
    title, decides = _title(rng, org)
    if source in ("website-form", "linkedin", "referral", "conference"):  # mostly in working hours
        created = min(office_hours(rng, created, city.timezone), created + timedelta(hours=24))
        created = created if created < cal.now else cal.now - timedelta(hours=1)
    number = f"{city.phone_prefix}{rng.randrange(10**city.phone_digits):0{city.phone_digits}d}"
    engagement = min(1.0, base * rng.lognormvariate(0, 0.7) * (0.6 + 0.8 * (org.fit if org else 0.3)))
    consent = "opted_in" if rng.random() < opt_in else "unknown"
    phone = number if rng.random() < 0.7 else None
    person = Person(
        first=first,
        last=last,
        email=email,
        title=title,
        decision_maker=decides,
        org=org,
        country=country,
        city=city,
        phone=phone,
        source=source,
        origin=origin,
        created_at=created,
        engagement=engagement,
        consent=consent,
        now=cal.now,
    )
    person.custom = _custom(rng, person)
    person.consent_at = created if consent == "opted_in" else None
    return person


def _custom(rng: random.Random, p: Person) -> dict[str, Any]:
    if p.source == "imported-list":
        return {"list": p.origin}
    if p.source == "linkedin":
        handle = f"{ascii_slug(p.first)}-{ascii_slug(p.last)}-{rng.randrange(16**4):04x}"
        return {"linkedin": f"https://www.linkedin.com/in/{handle}"}
    if p.origin == "ROI calculator":
        return sizing(rng, p)
    if p.source == "conference":
        return {"event": p.origin}
    return {"referred_by": p.origin} if p.source == "referral" else {}


def sizing(rng: random.Random, p: Person) -> dict[str, Any]:
    """What the ROI calculator (or a discovery call) asks: seats affected, months to pay back."""
    employees = p.org.employees if p.org else 5
    return {"users": max(1, round(employees * rng.uniform(0.2, 0.9))), "roi_months": rng.randint(2, 14)}
