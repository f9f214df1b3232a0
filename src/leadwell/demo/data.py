"""The demo's world as data: countries and cities, names, industries, lead sources, the marketing
calendar's assets, webinars, pages and emails, and the consultancy's offers.

:mod:`leadwell.demo.cast` draws companies and people from these lists; :mod:`leadwell.demo.story`
writes their history. Weights are relative, not percentages.
"""

from __future__ import annotations

from typing import NamedTuple

DAY = 86_400.0
HISTORY_DAYS = 270
SITE = "https://www.northwind-consulting.example"


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
    slug: str  # how events and the Capture section name it
    pages: int  # documents: pages in the PDF (leadwell.demo.magnets); videos: minutes


ASSETS = (
    Asset(
        "Checklist: 12 signs your operations leak money",
        "read",
        "ops-checklist",
        "/checklist",
        400,
        "ops-checklist",
        7,
    ),
    Asset(
        "The 90-Day Operations Playbook (book)",
        "read",
        "ops-playbook-launch",
        "/playbook",
        212,
        "ops-playbook",
        8,
    ),
    Asset(
        "ROI Calculator white paper", "read", "roi-calculator", "/roi-calculator", 125, "roi-white-paper", 8
    ),
    Asset(
        "Video lesson: qualifying leads",
        "video",
        "video-lessons",
        "/lessons/qualifying-leads",
        64,
        "qualifying-leads-video",
        14,
    ),
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
# The hosted forms' slugs (events name forms by slug); a magnet's form is "download-<asset slug>".
FORM_SLUGS = {
    "Contact us": "contact-us",
    "Newsletter signup": "newsletter",
    "ROI calculator": "roi-calculator",
}
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
