"""Who is in the demo and when things happen: word lists, the marketing calendar, and the companies and
people drawn from them. :mod:`leadwell.demo` writes their history and stores it.

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

from leadwell.events.types import validate_properties

DAY = 86_400.0
HISTORY_DAYS = 270
SITE = "https://www.northwind-consulting.example"
T = TypeVar("T")


class Country(NamedTuple):
    code: str
    weight: float
    tlds: tuple[str, ...]
    legal_suffix: str
    currency: str


class City(NamedTuple):
    country: str
    name: str
    region: str
    timezone: str
    phone_prefix: str  # E.164; fictional ranges (555, Ofcom drama, ACMA 5550) where a country has them
    phone_digits: int


COUNTRIES = (
    Country("US", 48, ("com", "com", "com", "co"), "Inc.", "USD"),
    Country("GB", 15, ("co.uk", "co.uk", "com"), "Ltd", "GBP"),
    Country("CA", 10, ("ca", "com"), "Inc.", "USD"),
    Country("DE", 8, ("de", "de", "com"), "GmbH", "EUR"),
    Country("AU", 8, ("com.au",), "Pty Ltd", "USD"),
    Country("NL", 6, ("nl", "nl", "io"), "B.V.", "EUR"),
    Country("IE", 3, ("ie", "com"), "Ltd", "EUR"),
    Country("NZ", 2, ("co.nz",), "Ltd", "USD"),
)
CITIES = (
    City("US", "San Francisco", "CA", "America/Los_Angeles", "+1415555", 4),
    City("US", "New York", "NY", "America/New_York", "+1212555", 4),
    City("US", "Chicago", "IL", "America/Chicago", "+1312555", 4),
    City("US", "Austin", "TX", "America/Chicago", "+1512555", 4),
    City("US", "Boston", "MA", "America/New_York", "+1617555", 4),
    City("US", "Seattle", "WA", "America/Los_Angeles", "+1206555", 4),
    City("US", "Denver", "CO", "America/Denver", "+1303555", 4),
    City("US", "Atlanta", "GA", "America/New_York", "+1404555", 4),
    City("US", "Columbus", "OH", "America/New_York", "+1614555", 4),
    City("GB", "London", "England", "Europe/London", "+442079460", 3),
    City("GB", "Manchester", "England", "Europe/London", "+441614960", 3),
    City("GB", "Bristol", "England", "Europe/London", "+441174960", 3),
    City("GB", "Edinburgh", "Scotland", "Europe/London", "+441314960", 3),
    City("CA", "Toronto", "ON", "America/Toronto", "+1416555", 4),
    City("CA", "Vancouver", "BC", "America/Vancouver", "+1604555", 4),
    City("CA", "Calgary", "AB", "America/Edmonton", "+1403555", 4),
    City("CA", "Montréal", "QC", "America/Toronto", "+1514555", 4),
    City("DE", "Berlin", "Berlin", "Europe/Berlin", "+4930", 8),
    City("DE", "München", "Bayern", "Europe/Berlin", "+4989", 8),
    City("DE", "Hamburg", "Hamburg", "Europe/Berlin", "+4940", 8),
    City("AU", "Sydney", "NSW", "Australia/Sydney", "+6125550", 4),
    City("AU", "Melbourne", "VIC", "Australia/Melbourne", "+6135550", 4),
    City("AU", "Brisbane", "QLD", "Australia/Brisbane", "+6175550", 4),
    City("NL", "Amsterdam", "Noord-Holland", "Europe/Amsterdam", "+3120", 7),
    City("NL", "Rotterdam", "Zuid-Holland", "Europe/Amsterdam", "+3110", 7),
    City("NL", "Utrecht", "Utrecht", "Europe/Amsterdam", "+3130", 7),
    City("IE", "Dublin", "Leinster", "Europe/Dublin", "+3531", 7),
    City("IE", "Cork", "Munster", "Europe/Dublin", "+35321", 7),
    City("NZ", "Auckland", "Auckland", "Pacific/Auckland", "+649", 7),
    City("NZ", "Wellington", "Wellington", "Pacific/Auckland", "+644", 7),
)
CITIES_OF = {country.code: [city for city in CITIES if city.country == country.code] for country in COUNTRIES}


def _listed(text: str, separator: str = ", ") -> tuple[str, ...]:
    """Long word lists as prose: a hundred names fit in ten lines instead of a hundred."""
    return tuple(text.split(separator))


FIRST_NAMES = _listed(
    "James, Olivia, Liam, Emma, Noah, Ava, Ethan, Sophia, Lucas, Mia, Daniel, Grace, Samuel, Hannah, "
    "Benjamin, Charlotte, Harry, Amelia, George, Isla, Jack, Matilda, Oliver, Chloe, Priya, Arjun, Ananya, "
    "Rahul, Deepa, Sanjay, Wei, Mei, Jia, Hiroshi, Yuki, Min-jun, Seo-yeon, Fatima, Omar, Aisha, Tariq, "
    "Leila, Noor, Kwame, Ngozi, Chidi, Emeka, Thabo, Zanele, Kofi, Sven, Astrid, Lars, Ingrid, Björn, Freya, "
    "Søren, Jürgen, Lena, Felix, Jonas, Anna, Katarzyna, Łukasz, Aoife, Niamh, Siobhan, Cian, José, María, "
    "Lucía, Diego, Camila, Alejandro, Giulia, Marco, Luca, Sofia, Amélie, Hugo, Dmitri, Anastasia, Elif, "
    "Mehmet, Emre, Yasmin, Daan, Sanne, Bram, Lotte, Tomás, Nikolai, Rebecca, Michael, Sarah, David, Laura, "
    "Kevin, Rachel, Andrew, Jessica, Mark, Nicole"
)
LAST_NAMES = _listed(
    "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, "
    "Martin, Thompson, White, Harris, Clark, Lewis, Walker, Hall, Young, King, Wright, Hughes, Evans, "
    "Roberts, Patel, Shah, Sharma, Iyer, Gupta, Chen, Wang, Li, Zhang, Nguyen, Tanaka, Sato, Kim, "
    "Park, Khan, Ahmed, Hassan, Haddad, Okafor, Mensah, Adeyemi, Nkosi, Mbeki, Okonkwo, Johansson, "
    "Lindqvist, Andersen, Nielsen, Müller, Schmidt, Schneider, Fischer, Weber, Becker, Kowalski, "
    "Nowak, Wiśniewski, O'Brien, Murphy, Kelly, Byrne, García, Fernández, López, Martínez, Rossi, "
    "Russo, Bianchi, Dubois, Lefèvre, Moreau, Ivanov, Petrov, Yılmaz, Demir, de Vries, van Dijk, "
    "Bakker, Jansen, Visser, Silva, Costa, Santos, MacDonald, Campbell, Stewart, Fraser, Hart, Reyes, "
    "Cruz, Ortiz"
)
# Letters an email address cannot carry, spelled the way people write them in their own address.
ASCII_FOLD = str.maketrans({"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "ı": "i", "'": "", " ": ""})
COMPANY_WORDS = _listed(
    "Bluefin Harbor Summit Granite Cedar Ironwood Brightpath Silverline Redwood Keystone Meridian Lakeside "
    "Copperleaf Evergreen Pioneer Atlas Beacon Crescent Falcon Juniper Maple Orchard Prairie Quarry "
    "Riverbend Sterling Tidewater Vantage Westbrook Alder Birchwood Clearwater Driftwood Foxglove Highland "
    "Kestrel Larkspur Northgate Oakridge Pinecrest Bridgeport Stonebridge Fairview Ashford Blackrock "
    "Greenfield Hillcrest Lighthouse Mosaic Nimbus Polaris Trailhead Wildflower Zenith Anchor Compass "
    "Horizon Ridgeline",
    " ",
)
FREEMAIL_DOMAINS = ("gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com")


class Industry(NamedTuple):
    name: str
    weight: float
    fit: float  # how well the consultancy's operations work suits them (0..1)
    nouns: tuple[str, ...]


INDUSTRIES = tuple(
    Industry(name, weight, fit, tuple(nouns.split(", ")))
    for name, weight, fit, nouns in (
        ("software", 16, 0.6, "Software, Labs, Systems, Cloud, Analytics, Digital"),
        ("manufacturing", 14, 1.0, "Manufacturing, Industries, Fabrication, Components, Precision, Tooling"),
        ("healthcare", 11, 0.8, "Health, Medical, Clinics, Care, Dental Group"),
        ("finance", 9, 0.5, "Capital, Financial, Wealth, Partners, Lending"),
        ("real estate", 12, 0.3, "Realty, Properties, Homes, Real Estate, Property Group"),
        ("logistics", 10, 1.0, "Logistics, Freight, Transport, Supply Chain, Distribution"),
        ("education", 6, 0.4, "Academy, Learning, Education, Training"),
        ("retail", 9, 0.5, "Outfitters, Market, Goods, Home & Garden, Trading Co."),
        ("professional services", 13, 0.8, "Advisors, Consulting, Group, Associates, Accountants, Legal"),
    )
)
# (title, decision maker?, weight in companies up to 200 people, weight in larger ones)
TITLES = (
    ("CEO", True, 10, 1), ("Founder", True, 10, 0.5), ("Owner", True, 8, 0.2), ("COO", True, 3, 2),
    ("Managing Director", True, 4, 1), ("Head of Operations", True, 4, 5), ("VP Operations", True, 1, 4),
    ("CFO", True, 2, 3), ("VP Sales", False, 2, 4), ("Sales Manager", False, 3, 4),
    ("IT Manager", False, 2, 5), ("Marketing Manager", False, 3, 5), ("Office Manager", False, 6, 2),
    ("Operations Manager", False, 5, 6), ("Procurement Manager", False, 1, 4), ("HR Manager", False, 2, 4),
    ("Project Manager", False, 2, 5), ("Business Analyst", False, 1, 4),
)  # fmt: skip
# (source, weight, base engagement, chance of opting in)
SOURCES = (
    ("imported-list", 30, 0.08, 0.0),
    ("website-form", 24, 0.32, 0.92),
    ("linkedin", 14, 0.22, 0.6),
    ("webinar", 12, 0.38, 0.92),
    ("referral", 9, 0.45, 0.4),
    ("conference", 11, 0.25, 0.5),
)
SIZE_BANDS = ((0.55, 5, 50), (0.80, 51, 200), (0.93, 201, 1000), (0.98, 1001, 5000), (1.0, 5001, 60_000))


class ImportList(NamedTuple):
    name: str
    industry: str
    days_ago: int


IMPORT_LISTS = (
    ImportList("Realtor list 2024 (purchased)", "real estate", 238),
    ImportList("Manufacturers directory (purchased)", "manufacturing", 152),
    ImportList("Freight & logistics association members", "logistics", 73),
)


class Asset(NamedTuple):
    name: str
    kind: str  # "read" or "video": which progress event it reports
    campaign: str
    path: str
    days_ago: int  # launched this many days before "now"


ASSETS = (
    Asset("Checklist: 12 signs your operations leak money", "read", "ops-checklist", "/checklist", 400),
    Asset("The 90-Day Operations Playbook (book)", "read", "ops-playbook-launch", "/playbook", 212),
    Asset("ROI Calculator white paper", "read", "roi-calculator", "/roi-calculator", 125),
    Asset("Video lesson: qualifying leads", "video", "video-lessons", "/lessons/qualifying-leads", 64),
)
# Webinars: (title, days before "now"; negative means still to come).
WEBINARS = (
    ("Fix your operations in 90 days", 201),
    ("Qualifying leads without a big sales team", 112),
    ("Pricing consulting work by ROI", 26),
    ("Live Q&A: planning next quarter's operations", -12),
)
MONTHS = _listed("january february march april may june july august september october november december", " ")
PAGES = (
    ("/", "Northwind Consulting: operations that scale"),
    ("/services/operations-audit", "Operations audit"),
    ("/services/fractional-coo", "Fractional COO"),
    ("/services/process-automation", "Process automation"),
    ("/case-studies/precision-manufacturer", "Case study: a 120-person manufacturer cuts lead time 30%"),
    ("/case-studies/regional-freight", "Case study: regional freight firm doubles on-time delivery"),
    ("/blog/three-bottlenecks", "The three bottlenecks we find in every audit"),
    ("/blog/sop-that-people-read", "Writing SOPs people actually read"),
    ("/blog/weekly-ops-review", "Running a 30-minute weekly ops review"),
    ("/about", "About us"),
    ("/pricing", "Pricing"),
    ("/contact", "Contact"),
)
PAGE_TITLES = dict(PAGES) | {asset.path: asset.name for asset in ASSETS}
REFERRERS = (
    None,
    None,
    None,
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.linkedin.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
)
# Email sequences: (days after arrival, subject, page the email links to).
WELCOME_SERIES: tuple[tuple[int, str, str], ...] = (
    (0, "Welcome: here is your copy", "/"),
    (2, "The 3 bottlenecks we see in every operations audit", "/blog/three-bottlenecks"),
    (
        5,
        "Case study: how a 120-person manufacturer cut lead time 30%",
        "/case-studies/precision-manufacturer",
    ),
    (9, "Is your payback under 6 months? A quick test", "/roi-calculator"),
    (14, "Want us to look at your numbers?", "/contact"),
)
OUTREACH_SERIES: tuple[tuple[int, str, str], ...] = (
    (1, "Quick question about {company}", "/services/operations-audit"),
    (4, "How {company} could free up 10 hours a week", "/case-studies/regional-freight"),
    (9, "Closing the loop", "/contact"),
)
NEWSLETTER_TOPICS = _listed(
    "Why your best people do the worst work; The weekly ops review, in 30 minutes; Five metrics every owner "
    "should see on Monday; When to hire your first operations lead; Automating the boring 20%; What a good "
    "SOP looks like; Capacity planning without spreadsheets; The hidden cost of rework; Onboarding that "
    "sticks; Pricing your services by value; Handoffs: where projects go to die; A one-page operating plan; "
    "Lessons from 50 audits; Vendor management for small teams; Meetings you can cancel tomorrow; "
    "Forecasting cash with ops data; Your CRM is not your process; Scaling support without scaling "
    "headcount; Dashboards nobody reads (and what to do instead)",
    "; ",
)
# Website forms a contact can arrive through: (form, campaign, weight).
FORMS = (("Contact us", None, 1), ("Newsletter signup", None, 6), ("ROI calculator", "roi-calculator", 2))
OFFERS = (
    ("Operations audit", 9_000),
    ("90-day operations sprint", 24_000),
    ("Process automation project", 30_000),
    ("Fractional COO retainer", 42_000),
    ("CRM and sales process rollout", 18_000),
)
LOST_REASONS = ("budget", "timing", "went with competitor", "no decision")
CONFERENCES = ("Ops Leaders Summit", "SME Growth Expo", "Supply Chain Live")
CALL_NOTES = (
    "Walked through the audit scope", "Sent proposal after the call", "Discussed timeline and budget",
    "Introduced to their finance lead", "Agreed next steps", "Clarified deliverables",
)  # fmt: skip


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


def cast(rng: random.Random, contacts: int, cal: Calendar) -> tuple[list[Org], list[Person]]:
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
