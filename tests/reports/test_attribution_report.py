"""The attribution report: each channel's sales and revenue by the four models, side by side.

Sales (won: ann 9,000 USD, dee 4,000 USD, eve EUR, hal 6,000 USD) and their touches up to the sale:
ann FB · EM · LI; dee LI; eve LI · EV; hal FB · FB · EM · EV.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from leadwell.db.session import Database
from leadwell.reports.attribution_report import attribution_report, disagreement
from leadwell.reports.catalog import REPORTS
from tests.reports.dataset import Dataset, build

D = Decimal
MODELS = ("first_touch", "last_touch", "linear", "position_based")


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


def test_sales_and_revenue_by_each_model(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = attribution_report(session, data.query)
    found = {
        row["label"]: (
            tuple(round(float(row[f"sales_{m}"] or 0), 6) for m in MODELS),
            tuple(row[f"revenue_{m}"] for m in MODELS),
        )
        for row in report.rows
    }
    assert found == {
        # first: ann, hal → FB; dee, eve → LI. last: ann, dee → LI; eve, hal → EV.
        # linear: ann ⅓ + dee 1 + eve ½ = 11/6; position: ann 0.4 + dee 1 + eve 0.5 = 1.9.
        # revenue first dee 4,000 (eve's is EUR); last ann 9,000 + dee 4,000; linear 3,000 + 4,000;
        # position 9,000 × 0.4 + 4,000 = 7,600
        "LinkedIn": (
            (2, 2, round(11 / 6, 6), 1.9),
            (D("4000.00"), D("13000.00"), D("7000.00"), D("7600.00")),
        ),
        # linear ann ⅓ + hal ½ = 5/6; position ann 0.4 + hal 0.4 + 0.1 = 0.9;
        # revenue first 15,000; linear 3,000 + 3,000; position 3,600 + 3,000
        "Facebook": ((2, 0, round(5 / 6, 6), 0.9), (D("15000.00"), D("0.00"), D("6000.00"), D("6600.00"))),
        # linear eve ½ + hal ¼; position eve 0.5 + hal 0.4; revenue last hal 6,000, linear 1,500,
        # position 2,400
        "Events": ((0, 2, 0.75, 0.9), (D("0.00"), D("6000.00"), D("1500.00"), D("2400.00"))),
        # linear ann ⅓ + hal ¼ = 7/12; position ann 0.2 + hal 0.1; revenue 3,000 + 1,500 and 1,800 + 600
        "Email": ((0, 0, round(7 / 12, 6), 0.3), (D("0.00"), D("0.00"), D("4500.00"), D("2400.00"))),
        "Referral": ((0, 0, 0, 0), (D("0.00"),) * 4),
        "Unmapped: form:contact-us": ((0, 0, 0, 0), (D("0.00"),) * 4),
        "No touch recorded": ((0, 0, 0, 0), (D("0.00"),) * 4),
        "Unmapped: newsletter-swap": ((0, 0, 0, 0), (D("0.00"),) * 4),
        "All": ((4, 4, 4, 4), (D("19000.00"),) * 4),
    }
    # Sorted by sales under the chosen model (linear); leads and qualified follow it too
    assert [row["label"] for row in report.rows][:4] == ["LinkedIn", "Facebook", "Events", "Email"]
    assert (report.rows[0]["leads"], report.rows[0]["qualified"]) == (
        round(17 / 6, 6),
        round(11 / 6, 6),
    )
    # Facebook and Events both differ by 2 sales; Facebook comes first in the table
    assert report.summary == [
        "Facebook earns 2.0 sales by first touch but 0.0 by last touch: it opens conversations others close."
    ]
    assert report.notes == [
        "1 won deal in EUR (EUR 5,000.00) is not counted: reports add up USD",
        "2 source keys are mapped to no channel (form:contact-us, newsletter-swap): add them to a channel "
        "under Channels to credit it",
    ]


def test_the_chart_compares_revenue_per_channel_by_model(built: tuple[Session, Dataset]) -> None:
    session, data = built
    (chart,) = attribution_report(session, data.query).charts
    values = chart["data"]["values"]
    assert values[:4] == [
        {"label": "LinkedIn", "model": "First touch", "revenue": 4000.0},
        {"label": "LinkedIn", "model": "Last touch", "revenue": 13000.0},
        {"label": "LinkedIn", "model": "Linear", "revenue": 7000.0},
        {"label": "LinkedIn", "model": "Position-based (40/20/40)", "revenue": 7600.0},
    ]
    assert len(values) == 8 * 4  # eight channels (no total), four models
    assert chart["encoding"]["color"]["field"] == "model"


def test_the_chosen_model_orders_rows_and_counts_leads(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = REPORTS["attribution"].build(session, data.ask(attribution="last_touch"))
    # Last touch: LinkedIn (ann, dee) and Events (eve, hal) 2 sales each, 2 qualified each: by label
    assert [(r["label"], r["leads"], r["qualified"]) for r in report.rows[:3]] == [
        ("Events", 2, 2),  # eve, hal
        ("LinkedIn", 3, 2),  # ann, dee, jay
        ("Email", 1, 1),  # fay
    ]


def test_summary_sentences() -> None:
    def row(label: str, *sales: float) -> dict[str, object]:
        return {"label": label, **{f"sales_{m}": s for m, s in zip(MODELS, sales, strict=True)}}

    assert disagreement([row("LinkedIn", 3, 0.5, 1.5, 1.6)]) == [  # type: ignore[list-item]
        "LinkedIn earns 3.0 sales by first touch but 0.5 by last touch: it opens conversations others close."
    ]
    assert disagreement([row("Email", 0, 1, 1, 0.8)]) == [  # type: ignore[list-item]
        "Email earns 1.0 sales by last touch but 0.0 by first touch: it closes conversations others open."
    ]
    assert disagreement([row("Ads", 1, 1, 1, 1)]) == [  # type: ignore[list-item]
        "Every model credits each channel with the same sales."
    ]
    assert disagreement([row("Ads", 0, 0, 0, 0)]) == [  # type: ignore[list-item]
        "No sale in this range yet: the models have nothing to tell apart."
    ]


def test_an_empty_range(built: tuple[Session, Dataset]) -> None:
    session, data = built
    report = attribution_report(session, data.ask(start=date(2025, 1, 1), end=date(2025, 1, 31)))
    assert [r["label"] for r in report.rows] == ["All"]
    assert report.summary == ["No sale in this range yet: the models have nothing to tell apart."]
