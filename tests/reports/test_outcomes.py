"""The cost-and-outcomes report on the data set of :mod:`tests.reports.dataset` (March 2026).

Linear credit per lead (see test_attribution): ann FB/spring, EM/nurture, LI/webinar ⅓ each;
ben RF ½, unmapped form:contact-us ½; cal no touch 1; dee LI 1; eve LI/webinar ½, EV/leeds ½;
fay FB ⅓, FB/retarget ⅓, EM ⅓; gus unmapped newsletter-swap 1; hal FB/spring ½, EM/nurture ¼, EV ¼;
jay LI ½, LI/webinar ½. Outcomes: ann won 9,000 (1 meeting), ben MQL, dee won 4,000 (1 meeting),
eve won in EUR (2 meetings), fay MQL (1 meeting), hal won 6,000 (1 meeting).
March spend in USD: FB spring 3,100 + retarget 300; LI retainer 1,000 + webinar 800; EV 250;
Google 700; total 6,150 (and EUR 500 left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from leadwell.reports.outcomes import outcomes_report
from leadwell.reports.table import Report, to_csv
from tests.reports.dataset import Dataset, build

D = Decimal
KEYS = (
    "label", "leads", "qualified", "meetings", "sales", "revenue", "spend", "cost_per_lead",
    "cost_per_qualified", "cost_per_meeting", "cost_per_sale", "roi", "roas", "lead_to_qualified",
    "lead_to_sale",
)  # fmt: skip
NOTES = [
    "1 won deal in EUR (EUR 5,000.00) is not counted: reports add up USD",
    "Spend of EUR 500.00 is not counted: reports add up USD",
]
UNMAPPED = (
    "2 source keys are mapped to no channel (form:contact-us, newsletter-swap): add them to a channel "
    "under Channels to credit it"
)


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


def _table(report: Report) -> list[tuple[Any, ...]]:
    return [tuple(row[key] for key in KEYS) for row in report.rows]


def _same(found: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Rows equal, fractional counts and ratios to 6 places (they are rounded so)."""
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        for a, b in zip(got, want, strict=True):
            if isinstance(b, float):
                assert a == pytest.approx(b, abs=1e-6), (got[0], a, b)
            else:
                assert a == b, (got[0], a, b)


def test_by_channel_with_linear_credit(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = outcomes_report(session, data.query)
    _same(_table(report), [
        # LinkedIn: leads ann ⅓ + dee 1 + eve ½ + jay 1 = 17/6; qualified ⅓ + 1 + ½ = 11/6 = sales;
        # meetings ann 1×⅓ + dee 1 + eve 2×½ = 7/3; revenue ann 9,000×⅓ + dee 4,000 = 7,000;
        # spend 1,000 + 800 = 1,800: per lead 1,800 / (17/6) = 635.29, per qualified 981.82, per
        # meeting 1,800 / (7/3) = 771.43; ROI (7,000 − 1,800) / 1,800 = 2.888889, ROAS 3.888889;
        # lead → qualified (11/6) / (17/6) = 11/17
        ("LinkedIn", 17 / 6, 11 / 6, 7 / 3, 11 / 6, D("7000.00"), D("1800.00"), D("635.29"), D("981.82"),
         D("771.43"), D("981.82"), 52 / 18, 70 / 18, 11 / 17, 11 / 17),
        # Facebook: leads ann ⅓ + fay ⅔ + hal ½ = 1.5 (all qualified); meetings the same 1.5;
        # sales ann ⅓ + hal ½ = 5/6; revenue 3,000 + 3,000; spend 3,100 + 300 = 3,400;
        # per sale 3,400 / (5/6) = 4,080; ROI 2,600 / 3,400; lead → sale (5/6) / 1.5 = 5/9
        ("Facebook", 1.5, 1.5, 1.5, 5 / 6, D("6000.00"), D("3400.00"), D("2266.67"), D("2266.67"),
         D("2266.67"), D("4080.00"), 2600 / 3400, 6000 / 3400, 1.0, 5 / 9),
        # Events: eve ½ + hal ¼ = ¾ (both won); meetings eve 2×½ + hal ¼ = 1.25; revenue hal 6,000×¼;
        # spend 250 (the EUR 500 is left out): per lead 333.33, per meeting 200; ROI 5, ROAS 6
        ("Events", 0.75, 0.75, 1.25, 0.75, D("1500.00"), D("250.00"), D("333.33"), D("333.33"),
         D("200.00"), D("333.33"), 5.0, 6.0, 1.0, 1.0),
        # Email: ann ⅓ + fay ⅓ + hal ¼ = 11/12; sales ⅓ + ¼ = 7/12; revenue 3,000 + 1,500; no spend:
        # every cost is 0, ROI and ROAS undefined
        ("Email", 11 / 12, 11 / 12, 11 / 12, 7 / 12, D("4500.00"), D("0"), D("0.00"), D("0.00"),
         D("0.00"), D("0.00"), None, None, 1.0, 7 / 11),
        # No sales: by qualified (½ each), then by label
        ("Referral", 0.5, 0.5, 0.0, 0.0, D("0.00"), D("0"), D("0.00"), D("0.00"), None, None, None, None,
         1.0, 0.0),
        ("Unmapped: form:contact-us", 0.5, 0.5, 0.0, 0.0, D("0.00"), D("0"), D("0.00"), D("0.00"), None,
         None, None, None, 1.0, 0.0),
        # Google spent 700 and brought no lead: a row with 0 leads, costs undefined, ROI −100 %
        ("Google", 0.0, 0.0, 0.0, 0.0, D("0.00"), D("700.00"), None, None, None, None, -1.0, 0.0, None,
         None),
        ("No touch recorded", 1.0, 0.0, 0.0, 0.0, D("0.00"), D("0"), D("0.00"), None, None, None, None,
         None, 0.0, 0.0),
        ("Unmapped: newsletter-swap", 1.0, 0.0, 0.0, 0.0, D("0.00"), D("0"), D("0.00"), None, None, None,
         None, None, 0.0, 0.0),
        # All: 9 leads, 6 qualified, 6 meetings, 4 sales, 19,000 revenue, 6,150 spend:
        # 683.33 per lead, 1,025 per qualified lead and per meeting, 1,537.50 per sale;
        # ROI 12,850 / 6,150, ROAS 19,000 / 6,150
        ("All", 9.0, 6.0, 6.0, 4.0, D("19000.00"), D("6150.00"), D("683.33"), D("1025.00"), D("1025.00"),
         D("1537.50"), 12850 / 6150, 19000 / 6150, 6 / 9, 4 / 9),
    ])  # fmt: skip
    # Events has the lowest cost per sale among rows with spend (333.33 < 981.82 < 4,080)
    assert report.summary == ["Events brings sales at the lowest cost: USD 333.33 per sale."]
    assert report.notes == [*NOTES, UNMAPPED]
    assert report.name == "outcomes" and report.currency == "USD"
    assert [c.label for c in report.columns][:2] == ["Channel", "Leads"]


def test_charts_show_cost_per_qualified_lead_and_revenue_against_spend(
    built: tuple[Session, Dataset],
) -> None:
    session, data = built
    report = outcomes_report(session, data.query)
    bars, grouped = report.charts
    # Rows with a cost per qualified lead (not the total, not Google or the unqualified rows)
    assert [(v["label"], v["cost_per_qualified"]) for v in bars["data"]["values"]] == [
        ("LinkedIn", 981.82),
        ("Facebook", 2266.67),
        ("Events", 333.33),
        ("Email", 0.0),
        ("Referral", 0.0),
        ("Unmapped: form:contact-us", 0.0),
    ]
    assert bars["title"] == "Cost per qualified lead"
    values = grouped["data"]["values"]
    assert values[:2] == [
        {"label": "LinkedIn", "measure": "Revenue", "amount": 7000.0},
        {"label": "LinkedIn", "measure": "Spend", "amount": 1800.0},
    ]
    assert len(values) == 2 * 9  # revenue and spend for each row but the total


def test_by_campaign_a_channel_s_own_spend_stays_on_its_no_campaign_row(
    built: tuple[Session, Dataset],
) -> None:
    session, data = built
    report = outcomes_report(session, data.ask(dimension="campaign"))
    rows = {row["label"]: row for row in report.rows}
    assert report.columns[0].label == "Channel / Campaign"
    # LinkedIn / Webinar series: ann ⅓ + eve ½ + jay ½ = 4/3 leads, sales ⅓ + ½ = 5/6; spend 800:
    # per sale 800 / (5/6) = 960 — the lowest with spend, so the summary names it
    webinar = rows["LinkedIn / Webinar series"]
    assert (webinar["leads"], webinar["sales"]) == (round(4 / 3, 6), round(5 / 6, 6))
    assert (webinar["spend"], webinar["cost_per_sale"]) == (D("800.00"), D("960.00"))
    assert report.summary == [
        "LinkedIn / Webinar series brings sales at the lowest cost: USD 960.00 per sale."
    ]
    # LinkedIn / No campaign: dee 1 + jay ½ = 1.5 leads with the retainer of 1,000: per lead 666.67
    retainer = rows["LinkedIn / No campaign"]
    assert (retainer["leads"], retainer["spend"], retainer["cost_per_lead"]) == (
        1.5,
        D("1000.00"),
        D("666.67"),
    )
    # Facebook / Spring promo: ann ⅓ + hal ½ = 5/6, spend 3,100, per lead 3,720
    assert rows["Facebook / Spring promo"]["cost_per_lead"] == D("3720.00")
    # Retargeting: fay ⅓ for 300 (15 of its 30 days in March) → 900 per lead, no sale
    assert (rows["Facebook / Retargeting"]["spend"], rows["Facebook / Retargeting"]["cost_per_lead"]) == (
        D("300.00"),
        D("900.00"),
    )
    # Events / Leeds seminar spent only in EUR: no USD spend; Google's row has no campaign
    assert rows["Events / Leeds seminar"]["spend"] == D("0")
    assert rows["Google / No campaign"]["spend"] == D("700.00") and rows["Google / No campaign"]["leads"] == 0
    assert rows["All"]["spend"] == D("6150.00") and rows["All"]["leads"] == pytest.approx(9)
    assert len(report.rows) == 15  # 14 rows and the total


# Allocated cost per lead (linear): each bucket shared by credit to its channel or campaign.
# FB/spring 3,100: ann ⅓, hal ½ of 5/6 → ann 1,240, hal 1,860. FB/retarget 300: fay alone.
# LI retainer 1,000: ann ⅓, dee 1, eve ½, jay 1 of 17/6 → ann 117.647, dee 352.941, eve 176.471,
# jay 352.941. LI/webinar 800: ann ⅓, eve ½, jay ½ of 4/3 → 200, 300, 300. EV 250: eve ½, hal ¼ of
# ¾ → 166.667, 83.333. Google 700: nobody. So: ann 1,557.647, dee 352.941, eve 643.137,
# fay 300, hal 1,943.333, jay 652.941 (sum 5,450 = 6,150 − 700).


def test_by_magnet_each_lead_counts_once_with_its_allocated_cost(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = outcomes_report(session, data.ask(dimension="magnet"))
    _same(_table(report), [
        # roi-guide: ann, fay, hal — 3 leads, 3 qualified, 3 meetings, 2 sales, 9,000 + 6,000;
        # cost 1,557.647 + 300 + 1,943.333 = 3,800.98: per lead 1,266.99, per sale 1,900.49
        ("roi-guide", 3, 3, 3, 2, D("15000.00"), D("3800.98"), D("1266.99"), D("1266.99"), D("1266.99"),
         D("1900.49"), (15000 - 3800.98) / 3800.98, 15000 / 3800.98, 1.0, 2 / 3),
        # No lead magnet: ben, cal, dee, gus — dee's 352.94 only; 2 qualified, 1 meeting, 1 sale
        ("No lead magnet", 4, 2, 1, 1, D("4000.00"), D("352.94"), D("88.24"), D("176.47"), D("352.94"),
         D("352.94"), (4000 - 352.94) / 352.94, 4000 / 352.94, 0.5, 0.25),
        # spring-webinar: eve, jay — 643.137 + 652.941 = 1,296.08; eve's sale is in EUR: no revenue
        ("spring-webinar", 2, 1, 2, 1, D("0.00"), D("1296.08"), D("648.04"), D("1296.08"), D("648.04"),
         D("1296.08"), -1.0, 0.0, 0.5, 0.5),
        ("All", 9, 6, 6, 4, D("19000.00"), D("6150.00"), D("683.33"), D("1025.00"), D("1025.00"),
         D("1537.50"), 12850 / 6150, 19000 / 6150, 6 / 9, 4 / 9),
    ])  # fmt: skip
    assert report.summary == ["No lead magnet brings sales at the lowest cost: USD 352.94 per sale."]
    assert report.notes == [
        *NOTES,
        "USD 700.00 of spend brought no lead in this range (Google): it is in the total, in no row",
        UNMAPPED,
    ]


def test_by_landing_page_and_by_grade(built: tuple[Session, Dataset]) -> None:
    session, data = built
    pages = {r["label"]: r for r in outcomes_report(session, data.ask(dimension="landing_page")).rows}
    # roi-lp: ann, fay, hal (hal's first page is 16 March's); webinar-lp: eve, jay
    assert {label: (r["leads"], r["spend"]) for label, r in pages.items()} == {
        "roi-lp": (3, D("3800.98")),
        "webinar-lp": (2, D("1296.08")),
        "No landing page": (4, D("352.94")),
        "All": (9, D("6150.00")),
    }
    report = outcomes_report(session, data.ask(dimension="grade"))
    # A: ann, dee, fay — 1,557.647 + 352.941 + 300 = 2,210.59; B: ben, eve — 643.14;
    # not graded: gus, hal — 1,943.33, per lead 971.665 → 971.67; C: cal, nothing; D: jay 652.94
    assert [(r["label"], r["leads"], r["sales"], r["spend"], r["cost_per_lead"]) for r in report.rows] == [
        ("A", 3, 2, D("2210.59"), D("736.86")),
        ("B", 2, 1, D("643.14"), D("321.57")),
        ("Not graded", 2, 1, D("1943.33"), D("971.67")),
        ("C", 1, 0, D("0"), D("0.00")),
        ("D", 1, 0, D("652.94"), D("652.94")),
        ("All", 9, 4, D("6150.00"), D("683.33")),
    ]
    # B's sale (eve) cost 643.14 against A's 2,210.59 / 2 = 1,105.30
    assert report.summary == ["B brings sales at the lowest cost: USD 643.14 per sale."]


def test_first_touch_credits_whole_leads(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = REPORTS["outcomes"].build(session, data.ask(attribution="first_touch"))
    rows = {r["label"]: (r["leads"], r["qualified"], r["sales"], r["revenue"]) for r in report.rows}
    # First touches: ann FB, ben RF, cal none, dee LI, eve LI, fay FB, gus unmapped, hal FB, jay LI
    assert rows == {
        "Facebook": (3, 3, 2, D("15000.00")),  # ann, fay, hal; ann 9,000 + hal 6,000
        "LinkedIn": (3, 2, 2, D("4000.00")),  # dee, eve, jay; eve's sale is in EUR
        "Referral": (1, 1, 0, D("0.00")),
        "Events": (0, 0, 0, D("0.00")),  # spent 250 in USD, first to no one
        "Google": (0, 0, 0, D("0.00")),
        "No touch recorded": (1, 0, 0, D("0.00")),
        "Unmapped: newsletter-swap": (1, 0, 0, D("0.00")),
        "All": (9, 6, 4, D("19000.00")),
    }
    # One unmapped key now (form:contact-us is never first)
    assert report.notes[-1].startswith("1 source key is mapped to no channel (newsletter-swap)")
    # LinkedIn 1,800 / 2 = 900 per sale beats Facebook 3,400 / 2 = 1,700
    assert report.summary == ["LinkedIn brings sales at the lowest cost: USD 900.00 per sale."]


def test_without_sales_the_summary_names_the_cheapest_qualified_lead(built: tuple[Session, Dataset]) -> None:
    session, data = built
    # 1–10 March: ann (won 12 March), dee, eve (won later) are not yet won… but outcomes are read
    # up to now; so ask as of 11 March: ann, ben, cal, dee, eve, fay were captured, none won yet.
    early = data.ask(end=date(2026, 3, 10), now=data.query.now.replace(month=3, day=11))
    report = outcomes_report(session, early)
    total = report.rows[-1]
    # ann, ben, cal, dee, eve, fay: qualified ann (6), ben (10), dee (7), eve (7), fay (12 → not yet)
    assert (total["leads"], total["qualified"], total["sales"], total["cost_per_sale"]) == (6, 4, 0, None)
    # Spend 1–10 March: FB spring 3,100 × 10/31 = 1,000; LI 1,000 × 10/31 = 322.58 and
    # 800 × 10/31 = 258.06; Google 700 × 10/31 = 225.81
    assert total["spend"] == D("1806.45")
    # Touches up to 11 March: ann FB/spring, EM, LI ⅓ each (qualified); dee LI 1; eve LI ½, EV ½
    # LinkedIn qualified ⅓ + 1 + ½ = 11/6 for 580.64 → 316.71; Facebook ⅓ for 1,000 → 3,000
    assert report.summary == [
        "LinkedIn brings qualified leads at the lowest cost: USD 316.71 per qualified lead."
    ]


def test_an_empty_range(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = outcomes_report(session, data.ask(start=date(2025, 1, 1), end=date(2025, 1, 31)))
    assert [(r["label"], r["leads"], r["spend"], r["cost_per_lead"], r["roi"]) for r in report.rows] == [
        ("All", 0, D("0"), None, None)
    ]
    assert report.summary == ["No spend in this range has brought a qualified lead yet."]
    assert report.notes == []
    assert to_csv(report).splitlines()[1].startswith("All,0.0,0.0,0.0,0.0,0.0,0.0,,,,,,,,")
