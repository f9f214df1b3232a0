"""The pipeline board over HTTP: columns from the settings, counts and totals per currency, cards,
the actions on them (move, won, lost with a reason, edit), the new-deal form and the CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Contact, Deal, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.sales import pipeline
from leadwell.scoring.settings import parse_toml
from leadwell.scoring.store import apply_settings
from tests.factories import make_contact, make_deal, make_organization, make_user, make_workspace
from tests.test_pages import csrf_of, login, make_account


@dataclass(frozen=True)
class Seeded:
    email: str
    workspace_id: int
    grace: int
    audit: str
    legacy: str
    won: str


def seed(db: Database, codec: IdCodec) -> Seeded:
    """Grace (an opportunity at Navy Labs) with three open deals, one in the old "new" stage, and
    one won last week; Alan with an open EUR deal; a deal in another workspace."""
    account = make_account(db)
    today = utcnow().date()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        navy = make_organization(session, workspace, name="Navy Labs")
        grace = make_contact(
            session,
            workspace,
            first_name="Grace",
            last_name="Hopper",
            organization_id=navy.id,
            stage="opportunity",
        )
        alan = make_contact(session, workspace, first_name="Alan", last_name="Turing", stage="opportunity")
        audit = make_deal(
            session,
            grace,
            name="Ops audit",
            stage="proposal",
            value=Decimal("12000"),
            expected_close_on=today - timedelta(days=3),
            stage_changed_at=utcnow() - timedelta(days=9),
        )
        legacy = make_deal(session, grace, name="Old pilot", value=Decimal("2000"))
        make_deal(
            session,
            grace,
            name="Training",
            stage="proposal",
            value=Decimal("3000"),
            expected_close_on=today + timedelta(days=20),
        )
        make_deal(session, alan, name="Enigma", stage="discovery", value=Decimal("500.50"), currency="EUR")
        won = make_deal(
            session,
            grace,
            name="Kickoff",
            stage="negotiation",
            value=Decimal("900"),
            status="won",
            closed_at=utcnow() - timedelta(days=7),
        )
        other = make_workspace(session, "Rival")
        make_deal(session, make_contact(session, other, first_name="Secret"), name="Secret deal")
        return Seeded(
            account.email,
            workspace.id,
            grace.id,
            codec.encode("deal", audit.id),
            codec.encode("deal", legacy.id),
            codec.encode("deal", won.id),
        )


def column(page: str, stage: str) -> str:
    return page.split(f'id="column-{stage}"')[1].split("</section>")[0]


def card(page: str, deal_id: str) -> str:
    return page.split(f'id="deal-{deal_id}"')[1].split("</article>")[0]


def test_the_board_has_a_column_per_pipeline_stage(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    login(client, seeded.email)
    page = client.get("/pipeline").text
    titles = re.findall(r'<h2 id="column-([\w-]+)-title">([^<]+)</h2>', page)
    assert titles == [("discovery", "Discovery"), ("proposal", "Proposal"), ("negotiation", "Negotiation")]
    discovery, proposal = column(page, "discovery"), column(page, "proposal")
    # The old "new" deal sits in the first column, said to be in a stage outside the pipeline
    assert "2 deals" in discovery and "500.50 EUR" in discovery and "2,000.00 USD" in discovery
    assert "“new” 1" in discovery and "in stage “new”" in card(page, seeded.legacy)
    assert "2 deals" in proposal and "15,000.00 USD" in proposal
    assert "No open deals in Negotiation" in column(page, "negotiation")
    audit = card(page, seeded.audit)
    assert "Grace Hopper" in audit and "Navy Labs" in audit and "12,000.00 USD" in audit
    assert "overdue" in audit and "9 days in this stage" in audit
    assert 'class="deal-card overdue"' in page.split(f'id="deal-{seeded.audit}"')[0][-60:]
    assert "Training" in proposal and "overdue" not in card(page, proposal_card_id(page, "Training"))
    # Soonest expected close first within a column
    assert proposal.index("Ops audit") < proposal.index("Training")
    # Won in the period beside the board; other workspaces' deals nowhere
    closed = page.split('id="closed"')[1]
    assert "900.00 USD" in closed and "Secret" not in page and "Kickoff" not in page.split('id="closed"')[0]


def proposal_card_id(page: str, name: str) -> str:
    found = re.search(r'id="deal-(dl_[\w]+)" aria-labelledby="deal-\1-name">\s*<h3[^>]*>' + name, page)
    assert found, name
    return found.group(1)


def test_filters_narrow_cards_counts_and_totals(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    with db.session() as session:
        workspace = session.get(Workspace, seeded.workspace_id)
        assert workspace is not None
        seller = make_user(session, workspace, role="sales")
        deal = session.scalars(select(Deal).where(Deal.name == "Enigma")).one()
        deal.owner_id = seller.id
        seller_id = codec.encode("user", seller.id)
    login(client, seeded.email)
    searched = client.get("/pipeline", params={"q": "navy"}).text
    assert "Ops audit" in searched and "Enigma" not in searched
    assert "1 deal<" in column(searched, "discovery") and "500.50" not in column(searched, "discovery")
    assert "Kickoff" not in searched and "900.00 USD" in searched.split('id="closed"')[1]
    owned = client.get("/pipeline", params={"owner": seller_id}).text
    assert "Enigma" in owned and "Ops audit" not in owned
    assert "none won yet" in owned.split('id="closed"')[1]
    assert "Enigma" not in client.get("/pipeline", params={"owner": "me"}).text
    assert client.get("/pipeline", params={"owner": "usr_nope"}).status_code == 400


def test_a_long_column_shows_its_first_cards_and_counts_the_rest(
    client: TestClient, db: Database, codec: IdCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(db, codec)
    monkeypatch.setattr(pipeline, "CARDS_PER_COLUMN", 1)
    login(client, seeded.email)
    page = client.get("/pipeline").text
    proposal = column(page, "proposal")
    assert "2 deals" in proposal and proposal.count('class="deal-card') == 1
    assert "and 1 more deal" in proposal
    exported = list(csv.DictReader(io.StringIO(client.get("/pipeline.csv").text)))
    assert sorted(row["name"] for row in exported) == ["Enigma", "Old pilot", "Ops audit", "Training"]


def test_moving_a_deal_through_the_board(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    login(client, seeded.email)
    page = client.get("/pipeline", params={"q": "audit"}).text
    token = csrf_of(page)
    moved = client.post(
        f"/pipeline/deals/{seeded.audit}/stage?q=audit",
        data={"csrf_token": token, "stage": "negotiation"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert (
        moved.headers["location"] == f"/pipeline?q=audit&done=moved&deal={seeded.audit}#deal-{seeded.audit}"
    )
    after = client.get(moved.headers["location"]).text
    assert "Moved “Ops audit” to Negotiation." in after
    assert "Ops audit" in column(after, "negotiation") and "0 days in this stage" in card(after, seeded.audit)
    refused = client.post(
        f"/pipeline/deals/{seeded.audit}/stage", data={"csrf_token": token, "stage": "done"}
    )
    assert refused.status_code == 422
    assert "stage: 'done' is not a pipeline stage" in html.unescape(card(refused.text, seeded.audit))


def test_winning_and_losing_from_the_board_move_the_contact(
    client: TestClient, db: Database, codec: IdCodec
) -> None:
    seeded = seed(db, codec)
    login(client, seeded.email)
    token = csrf_of(client.get("/pipeline").text)
    no_reason = client.post(
        f"/pipeline/deals/{seeded.legacy}/lost", data={"csrf_token": token, "reason": " "}
    )
    assert no_reason.status_code == 422
    assert "reason: say why the deal was lost" in card(no_reason.text, seeded.legacy)
    lost = client.post(
        f"/pipeline/deals/{seeded.legacy}/lost", data={"csrf_token": token, "reason": "no budget"}
    )
    assert lost.status_code == 200 and "Lost “Old pilot”: no budget." in lost.text
    with db.session() as session:
        grace = session.get(Contact, seeded.grace)
        assert grace is not None and grace.stage == "opportunity"  # two of her deals are still open
    won = client.post(f"/pipeline/deals/{seeded.audit}/won", data={"csrf_token": token})
    assert "Won “Ops audit” (USD 12,000). Grace Hopper is now customer." in won.text
    assert "Ops audit" not in won.text.split('id="board"')[1].split('id="closed"')[0]
    assert "12,900.00 USD" in won.text.split('id="closed"')[1]
    with db.session() as session:
        grace = session.get(Contact, seeded.grace)
        assert grace is not None and grace.stage == "customer"
    contact_page = client.get(f"/contacts/{codec.encode('contact', seeded.grace)}").text
    assert (
        "won &#39;Ops audit&#39; (USD 12,000)" in contact_page
        or "won 'Ops audit' (USD 12,000)" in contact_page
    )


def test_editing_value_and_close_date(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    login(client, seeded.email)
    token = csrf_of(client.get("/pipeline").text)
    url = f"/pipeline/deals/{seeded.audit}/edit"
    edited = client.post(
        url, data={"csrf_token": token, "value": "14,500.25", "expected_close_on": "2031-01-31"}
    )
    assert "Saved “Ops audit”." in edited.text
    audit = card(edited.text, seeded.audit)
    assert "14,500.25 USD" in audit and "2031-01-31" in audit and "overdue" not in audit
    cleared = client.post(url, data={"csrf_token": token, "value": "14500.25", "expected_close_on": ""})
    assert "No expected close date" in card(cleared.text, seeded.audit)
    bad = client.post(url, data={"csrf_token": token, "value": "a lot"})
    assert bad.status_code == 422 and "value" in card(bad.text, seeded.audit)


def test_actions_need_the_form_token_and_a_deal_of_this_workspace(
    client: TestClient, db: Database, codec: IdCodec
) -> None:
    seeded = seed(db, codec)
    login(client, seeded.email)
    token = csrf_of(client.get("/pipeline").text)
    assert client.post(f"/pipeline/deals/{seeded.audit}/won", data={}).status_code == 403
    with db.session() as session:
        secret = session.scalars(select(Deal).where(Deal.name == "Secret deal")).one()
        secret_id = codec.encode("deal", secret.id)
    assert client.post(f"/pipeline/deals/{secret_id}/won", data={"csrf_token": token}).status_code == 404
    assert client.post("/pipeline/deals/dl_nope/won", data={"csrf_token": token}).status_code == 404
    with db.session() as session:
        assert session.scalars(select(Deal.status).where(Deal.name == "Secret deal")).one() == "open"


def test_a_new_deal_from_the_contact_page(client: TestClient, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        ada = make_contact(session, workspace, first_name="Ada", last_name="Byron", stage="sql")
        ada_id = codec.encode("contact", ada.id)
    login(client, account.email)
    contact_page = client.get(f"/contacts/{ada_id}").text
    link = html.unescape(re.search(r'href="([^"]+)"[^>]*id="create-deal"', contact_page).group(1))  # type: ignore[union-attr]
    assert link == f"/pipeline/new?contact={ada_id}"
    form = client.get(link).text
    assert "With <a" in form and "Ada Byron" in form and 'value="USD"' in form
    token = csrf_of(form)
    fields = {
        "csrf_token": token,
        "contact_id": ada_id,
        "name": "Ops audit",
        "value": "12,000",
        "currency": "USD",
        "stage": "proposal",
        "expected_close_on": "2031-03-01",
    }
    bad = client.post("/pipeline/deals", data={**fields, "stage": "won"})
    assert bad.status_code == 422 and 'id="stage-error"' in bad.text and "Ada Byron" in bad.text
    created = client.post("/pipeline/deals", data=fields, follow_redirects=False)
    assert created.status_code == 303
    board = client.get(created.headers["location"]).text
    assert "Opened “Ops audit” in Proposal. Ada Byron is now opportunity." in board
    assert "Ops audit" in column(board, "proposal")
    with db.session() as session:
        deal = session.scalars(select(Deal)).one()
        assert deal.value == Decimal("12000") and deal.expected_close_on == date(2031, 3, 1)
        assert deal.owner_id is not None
        stored = session.get(Contact, deal.contact_id)
        assert stored is not None and stored.stage == "opportunity"
    assert "Ops audit" in client.get(f"/contacts/{ada_id}").text


def test_a_new_deal_by_searching_for_the_contact(client: TestClient, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        make_contact(session, workspace, first_name="Ada", last_name="Byron")
        make_contact(session, workspace, first_name="Charles", last_name="Babbage")
        make_contact(session, make_workspace(session), first_name="Ada", last_name="Elsewhere")
    login(client, account.email)
    picker = client.get("/pipeline/new", params={"find": "ada b"}).text
    assert "Ada Byron" in picker and "Babbage" not in picker and "Elsewhere" not in picker
    assert "No contact matches" in client.get("/pipeline/new", params={"find": "zzz"}).text
    token = csrf_of(picker)
    missing = client.post("/pipeline/deals", data={"csrf_token": token, "name": "Audit", "find": "ada b"})
    assert missing.status_code == 422 and "choose the contact" in missing.text and "Ada Byron" in missing.text
    chosen = re.search(r'name="contact_id" value="([^"]+)"', picker)
    assert chosen
    created = client.post(
        "/pipeline/deals", data={"csrf_token": token, "name": "Audit", "contact_id": chosen.group(1)}
    )
    assert created.status_code == 200 and "Opened “Audit” in Discovery." in created.text


def test_columns_follow_the_workspace_settings(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    toml = '[pipeline]\nstages = ["qualified", "proposal", "contract-sent"]\n'
    with db.session() as session:
        apply_settings(session, seeded.workspace_id, parse_toml(toml))
    login(client, seeded.email)
    page = client.get("/pipeline").text
    titles = re.findall(r'<h2 id="column-([\w-]+)-title">([^<]+)</h2>', page)
    assert titles == [
        ("qualified", "Qualified"),
        ("proposal", "Proposal"),
        ("contract-sent", "Contract sent"),
    ]
    # Discovery is no longer a stage: its deal shows in the first column, with the truth about it
    first = column(page, "qualified")
    assert "Enigma" in first and "“discovery” 1" in first and "“new” 1" in first


def test_the_export_lists_every_open_deal(client: TestClient, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    with db.session() as session:
        workspace = session.get(Workspace, seeded.workspace_id)
        assert workspace is not None
        hostile = make_contact(session, workspace, first_name="=HYPERLINK(1)", last_name="")
        make_deal(session, hostile, name="+cmd", stage="proposal")
    login(client, seeded.email)
    response = client.get("/pipeline.csv", params={"q": "grace"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(row["name"] for row in rows) == ["Old pilot", "Ops audit", "Training"]
    audit = next(row for row in rows if row["name"] == "Ops audit")
    assert audit["stage"] == "proposal" and audit["in_pipeline"] == "true" and audit["overdue"] == "true"
    assert (
        audit["organization"] == "Navy Labs"
        and audit["value"] == "12000.00"
        and audit["days_in_stage"] == "9"
    )
    assert next(row for row in rows if row["name"] == "Old pilot")["in_pipeline"] == "false"
    everything = list(csv.DictReader(io.StringIO(client.get("/pipeline.csv").text)))
    risky = next(row for row in everything if row["contact"] == "'=HYPERLINK(1)")
    assert risky["name"] == "'+cmd"
