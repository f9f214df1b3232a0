"""The report pages over the in-process client: the list, each report for a seeded workspace with
the range, model and dimension changed, refusals naming the parameter, and the CSV download."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from leadwell.db.models import Channel, ChannelSource, Contact, Spend, Workspace
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from tests.factories import make_contact, make_deal, make_event, make_user, make_workspace, move_through
from tests.test_pages import login

DAY = timedelta(days=1)
START = datetime(2026, 10, 1, tzinfo=UTC)
RANGE = {"from": "2026-10-01", "to": "2026-10-31"}


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    slug: str
    owner: str
    sales: str


def _channel(session: Session, workspace: Workspace, name: str, key: str, spend: str) -> Channel:
    channel = Channel(workspace_id=workspace.id, name=name, kind="ads")
    session.add(channel)
    session.flush()
    session.add(ChannelSource(workspace_id=workspace.id, channel_id=channel.id, key=key))
    session.add(
        Spend(
            workspace_id=workspace.id,
            channel_id=channel.id,
            spent_from=START.date(),
            spent_to=START.date() + 30 * DAY,
            amount=Decimal(spend),
            currency="USD",
        )
    )
    session.flush()
    return channel


def seed(db: Database) -> Seeded:
    """October 2026: Google Ads (USD 1,000) brought Ada, who became a customer with a USD 6,000 deal,
    and Bea, an MQL; LinkedIn (USD 500) brought Cy, a lead called twice, and Dee, who reached SQL
    after clicking an email (an unmapped "email" touch, so first and last touch disagree)."""
    with db.session() as session:
        workspace = make_workspace(session, "Northwind Advisory")
        owner = make_user(session, workspace, role="owner")
        sales = make_user(session, workspace, role="sales")
        _channel(session, workspace, "Google Ads", "google", "1000")
        _channel(session, workspace, "LinkedIn", "linkedin", "500")

        def lead(name: str, source: str, day: int) -> Contact:
            created = START + (day - 1) * DAY + 9 * timedelta(hours=1)
            return make_contact(session, workspace, first_name=name, source=source, created_at=created)

        ada, bea = lead("Ada", "Google", 5), lead("Bea", "google", 6)
        cy, dee = lead("Cy", "LinkedIn", 10), lead("Dee", "linkedin", 12)

        def moves(contact: Contact, *steps: tuple[str, int]) -> None:  # (stage, days after creation)
            move_through(
                session, contact, *((stage, contact.created_at + days * DAY) for stage, days in steps)
            )

        moves(ada, ("mql", 1), ("sql", 3), ("opportunity", 5), ("customer", 9))
        moves(bea, ("mql", 2))
        moves(dee, ("mql", 2), ("sql", 4))
        make_deal(session, ada, value=Decimal("6000"), status="won", closed_at=ada.created_at + 9 * DAY)
        for hours in (30, 60):
            make_event(
                session,
                cy,
                "call_logged",
                cy.created_at + hours * timedelta(hours=1),
                {"outcome": "no_answer"},
            )
        make_event(session, dee, "email_clicked", dee.created_at + DAY, {"url": "https://example.com"})
        return Seeded(workspace.id, workspace.slug, owner.email, sales.email)


def test_the_list_names_every_report_and_the_channel_pages(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    page = html.unescape(client.get("/reports").text)
    for definition in REPORTS.values():
        assert definition.title in page and definition.about in page
    for name in REPORTS:
        assert f'href="/reports/{name}"' in page
    assert 'href="/channels"' in page and 'href="/channels/spend"' in page
    assert re.search(r'href="[^"]*/reports" aria-current="page">Reports<', page)  # marked in the menu


def test_every_report_renders_with_range_model_and_dimension_changed(
    client: TestClient, db: Database
) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    for name, definition in REPORTS.items():
        params = {**RANGE, "attribution": "first_touch", "by": "campaign"}
        response = client.get(f"/reports/{name}", params=params)
        assert response.status_code == 200, (name, response.text[:500])
        page = response.text
        assert "1 Oct 2026 – 31 Oct 2026" in page
        assert 'value="2026-10-01"' in page and 'value="2026-10-31"' in page
        assert ('name="attribution"' in page) == definition.uses_attribution, name
        assert ('name="by"' in page) == definition.uses_dimension, name
        if definition.uses_attribution:
            assert '<option value="first_touch" selected>' in page
        if definition.uses_dimension:
            assert '<option value="campaign" selected>' in page
        assert "Content-Security-Policy" in response.headers
        assert f'href="/reports/{name}.csv?from=2026-10-01&amp;to=2026-10-31' in page
        assert page.count('type="application/json" id="chart-spec-') >= 1, name
        assert "vendor/vega/vega-embed.min.js" in page and "experiment_chart.js" in page


def _table(page: str) -> str:
    return page.split('id="report-table"')[1].split("</table>")[0]


def test_the_funnel_page_shows_the_october_cohort(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    table = _table(client.get("/reports/funnel", params=RANGE).text)
    cells = re.findall(r'<td class="number">([^<]*)</td>', table)
    # Captured 4; MQL 3 (Ada, Bea, Dee) = 75 %; SQL 2 (Ada, Dee) = 66.7 % of 3; opportunity 1 = 50 %;
    # won 1 = 100 % of 1, 25 % of captured. Rows: contacts, from previous, from captured, median days.
    assert cells[0] == "4" and cells[4] == "3" and cells[5] == "75.0 %" and cells[8] == "2"
    assert cells[9] == "66.7 %" and cells[12] == "1" and cells[13] == "50.0 %"
    assert cells[16] == "1" and cells[18] == "25.0 %"
    # Median days MQL: Ada 1, Bea 2, Dee 2 → 2.0; SQL: Ada 2, Dee 2 → 2.0; won: Ada 4 (day 5 → 9)
    assert cells[7] == "2.0" and cells[11] == "2.0" and cells[19] == "4.0"
    # November holds none of them
    november = client.get("/reports/funnel", params={"from": "2026-11-01", "to": "2026-11-30"}).text
    assert re.findall(r'<td class="number">([^<]*)</td>', _table(november))[0] == "0"


def test_the_attribution_model_changes_the_outcomes_table(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    tables = {
        model: _table(client.get("/reports/outcomes", params={**RANGE, "attribution": model}).text)
        for model in ("first_touch", "last_touch", "linear")
    }
    # Dee's touches: created (linkedin), then an email click (unmapped "email"): first touch credits
    # LinkedIn only, last touch and linear credit the email too.
    assert "Unmapped: email" not in tables["first_touch"]
    assert "Unmapped: email" in tables["last_touch"] and "Unmapped: email" in tables["linear"]
    assert "Google Ads" in tables["first_touch"] and "LinkedIn" in tables["first_touch"]
    # Spend is the same under every model: USD 1,000 + USD 500 in the total row
    for table in tables.values():
        assert "USD 1,500.00" in table and "USD 6,000.00" in table


def test_bad_parameters_answer_422_naming_them(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    cases = {
        "from": {"from": "2026-13-01"},
        "to": {"from": "2026-10-10", "to": "2026-10-01"},
        "attribution": {"attribution": "random"},
        "by": {"by": "colour"},
    }
    for field, params in cases.items():
        for url in ("/reports/funnel", "/reports/funnel.csv"):
            response = client.get(url, params=params)
            assert response.status_code == 422, (url, params)
            assert f"{field}: " in response.text, (url, response.text)
    missing = client.get("/reports/nonsense")
    assert missing.status_code == 404 and "outcomes" in missing.text


def test_the_csv_export_is_a_named_download_of_the_table(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.owner)
    response = client.get("/reports/funnel.csv", params=RANGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="leadwell-funnel-2026-10-01-2026-10-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Step", "Contacts", "From previous step", "From captured", "Median days from previous"]
    assert rows[1][:2] == ["Captured", "4"] and rows[2][:3] == ["MQL", "3", "0.75"]  # plain numbers


def test_a_salesperson_reads_every_report(client: TestClient, db: Database) -> None:
    seeded = seed(db)
    login(client, seeded.sales)
    assert client.get("/reports").status_code == 200
    for name in REPORTS:
        assert client.get(f"/reports/{name}", params=RANGE).status_code == 200, name
        assert client.get(f"/reports/{name}.csv", params=RANGE).status_code == 200, name


def test_reports_need_a_login(client: TestClient, db: Database) -> None:
    response = client.get("/reports/funnel", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
