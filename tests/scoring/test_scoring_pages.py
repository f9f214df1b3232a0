"""The qualification settings page through the real login form, on each database: the settings in
sentences, saving the form (a new version, every contact rescored, how long it took), errors shown
at the row they are about with the input kept, rows added and removed without JavaScript, pasted
TOML, versions, roles and CSRF."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select

from leadwell.db.models import Contact, Engagement, ScoringVersion
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.scoring.settings import default_settings
from leadwell.scoring.store import current_settings
from leadwell.scoring.toml_text import to_toml
from tests.factories import make_contact, make_event, make_user, make_workspace
from tests.icp.test_pages import fields_of
from tests.test_pages import csrf_of, logged_in


def seed(db: Database, role: str = "marketer") -> tuple[int, str, int]:
    """A workspace with one contact who downloaded the guide an hour ago (scored by a recompute)."""
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        user = make_user(session, workspace, role=role)
        ada = make_contact(session, workspace, first_name="Ada")
        make_event(session, ada, "asset_downloaded", utcnow() - timedelta(hours=1), {"asset": "Guide"})
        return workspace.id, user.email, ada.id


def score_of(db: Database, contact_id: int) -> float:
    with db.session() as session:
        row = session.get(Engagement, contact_id)
        return row.score if row is not None else 0.0


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_page_says_the_settings_in_sentences_and_offers_the_editor(app: FastAPI, db: Database) -> None:
    _, email, _ = seed(db)
    page = logged_in(app, email).get("/settings/scoring")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "In force: the defaults (version 0)" in words
    assert "Read 80% of a paper: +25 when Read: percent ≥ 80, at most 25 per 365 days per asset" in words
    assert "Unsubscribed: -50 when Unsubscribed" in words
    assert "Move Subscriber or Lead to MQL when the grade is A or B and engagement ≥ 40" in words
    assert "Points lose half their worth every 30 days." in words
    fields = fields_of(page.text, "scoring-form")
    assert fields["rule-2-key"] == "read-most" and fields["rule-2-cond-0-op"] == "gte"
    assert fields["rule-2-cond-0-value"] == "80" and fields["rule-2-cap_per"] == "asset"
    assert fields["queue-prob-A"] == "0.3" and fields["pipeline"] == "discovery, proposal, negotiation"
    assert to_toml(default_settings().document) in html.unescape(page.text)


def test_saving_the_form_makes_a_version_and_rescores_every_contact(app: FastAPI, db: Database) -> None:
    workspace_id, email, ada = seed(db)
    client = logged_in(app, email)
    fields = fields_of(client.get("/settings/scoring").text, "scoring-form")
    assert fields["rule-0-key"] == "downloaded"
    fields |= {"rule-0-points": "40", "rule-0-cap_points": "40", "action": "save"}
    saved = client.post("/settings/scoring", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/settings/scoring?saved=new+version&version=1&contacts=1")
    page = client.get(saved.headers["location"])
    assert re.search(r"Saved as version 1\. Rescored 1 contacts in [0-9.]+ s\.", text_of(page.text))
    assert "Downloaded a lead magnet: +40 when Downloaded, at most 40 per 365 days per asset" in text_of(
        page.text
    )
    assert 39.9 < score_of(db, ada) <= 40
    again = client.post("/settings/scoring", data=fields, follow_redirects=False)
    assert again.headers["location"] == "/settings/scoring?saved=unchanged&version=1"
    assert "Nothing changed: still version 1." in client.get(again.headers["location"]).text
    with db.session() as session:
        version, settings = current_settings(session, workspace_id)
        assert (version, settings.rules[0].points) == (1, 40)
        saved_by = session.scalar(select(ScoringVersion.created_by_id))
    assert saved_by is not None
    versions = client.get("/settings/scoring/versions/1")
    assert versions.status_code == 200 and "points = 40" in versions.text
    assert client.get("/settings/scoring/versions/0").status_code == 200
    assert client.get("/settings/scoring/versions/7").status_code == 404


def test_an_error_is_shown_at_its_row_with_the_input_kept(app: FastAPI, db: Database) -> None:
    workspace_id, email, _ = seed(db)
    client = logged_in(app, email)
    fields = fields_of(client.get("/settings/scoring").text, "scoring-form")
    fields |= {"rule-2-cond-0-property": "pages", "action": "save"}
    page = client.post("/settings/scoring", data=fields)
    assert page.status_code == 422
    assert 'id="rule-2-error"' in page.text
    assert "rules[2].when[0].property: read_progress has no property &#39;pages&#39;" in page.text
    assert fields_of(page.text, "scoring-form")["rule-2-cond-0-property"] == "pages"
    fields |= {"rule-2-cond-0-property": "percent", "rule-4-points": "lots"}
    page = client.post("/settings/scoring", data=fields)
    assert page.status_code == 422 and 'id="rule-4-error"' in page.text and "is not a number" in page.text
    fields |= {"rule-4-points": "30", "half_life_days": "0"}
    page = client.post("/settings/scoring", data=fields)
    assert page.status_code == 422 and 'id="half_life_days-error"' in page.text
    with db.session() as session:
        assert current_settings(session, workspace_id)[0] == 0


def test_rows_are_added_and_removed_without_javascript(app: FastAPI, db: Database) -> None:
    _, email, _ = seed(db)
    client = logged_in(app, email)
    fields = fields_of(client.get("/settings/scoring").text, "scoring-form")
    rules = len([name for name in fields if re.fullmatch(r"rule-\d+-key", name)])
    added = fields_of(
        client.post("/settings/scoring", data=fields | {"action": "add-rule"}).text, "scoring-form"
    )
    assert f"rule-{rules}-key" in added and added[f"rule-{rules}-event"] == "page_viewed"
    added |= {
        f"rule-{rules}-key": "visited",
        f"rule-{rules}-points": "2",
        f"rule-{rules}-cond-0-property": "url",
    }
    added |= {f"rule-{rules}-cond-0-op": "contains", f"rule-{rules}-cond-0-value": "/blog"}
    removed = fields_of(
        client.post("/settings/scoring", data=added | {"action": "remove-rule:0"}).text, "scoring-form"
    )
    assert removed["rule-0-key"] == "read-half" and removed[f"rule-{rules - 1}-key"] == "visited"
    staged = client.post("/settings/scoring", data=removed | {"action": "add-stage"})
    assert 'name="stage-1-key"' in staged.text
    saved = client.post("/settings/scoring", data=removed | {"action": "save"}, follow_redirects=True)
    words = text_of(saved.text)
    assert "visited: +2 when Viewed a page: url contains “/blog”" in words
    assert "Downloaded a lead magnet" not in words


def test_pasted_toml_is_loaded_into_the_form_or_saved(app: FastAPI, db: Database) -> None:
    workspace_id, email, _ = seed(db)
    client = logged_in(app, email)
    token = csrf_of(client.get("/settings/scoring").text)
    document = 'half_life_days = 7\n\n[[rules]]\nkey = "replied"\nevent = "email_replied"\npoints = 45\n'
    loaded = client.post(
        "/settings/scoring", data={"csrf_token": token, "toml": document, "action": "toml-load"}
    )
    fields = fields_of(loaded.text, "scoring-form")
    assert (fields["half_life_days"], fields["rule-0-key"], fields["rule-0-points"]) == ("7", "replied", "45")
    assert "rule-1-key" not in fields
    bad = client.post(
        "/settings/scoring", data={"csrf_token": token, "toml": "half_life_days = [", "action": "toml-save"}
    )
    assert bad.status_code == 422 and 'id="toml-error"' in bad.text and "not valid TOML" in bad.text
    saved = client.post(
        "/settings/scoring",
        data={"csrf_token": token, "toml": document, "action": "toml-save"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with db.session() as session:
        version, settings = current_settings(session, workspace_id)
        assert (version, settings.half_life_days, [r.key for r in settings.rules]) == (1, 7, ["replied"])


def test_sales_reads_and_nobody_changes_without_the_form_token(app: FastAPI, db: Database) -> None:
    _, email, _ = seed(db, role="sales")
    client = logged_in(app, email)
    page = client.get("/settings/scoring")
    assert page.status_code == 200 and 'id="scoring-form"' not in page.text and "you are sales" in page.text
    token = csrf_of(page.text)
    refused = client.post(
        "/settings/scoring", data={"csrf_token": token, "half_life_days": "7", "action": "save"}
    )
    assert refused.status_code == 403
    _, marketer, _ = seed(db)
    forged = logged_in(app, marketer).post(
        "/settings/scoring", data={"csrf_token": "forged", "action": "save"}
    )
    assert forged.status_code == 403
    with db.session() as session:
        assert session.scalar(select(ScoringVersion.id)) is None


def test_a_contacts_score_is_explained_on_the_page(app: FastAPI, db: Database) -> None:
    _, email, ada = seed(db)
    client = logged_in(app, email)
    with db.session() as session:
        address = session.get(Contact, ada).email  # type: ignore[union-attr]
    page = client.get("/settings/scoring", params={"contact": address})
    words = text_of(page.text)
    assert "Ada" in words and "engagement 0.0 now (settings version 0" in words  # never scored yet
    assert "Downloaded — Downloaded a lead magnet: +10, worth 10.0 now" in words
    fields = fields_of(page.text, "scoring-form") | {
        "rule-0-points": "30",
        "rule-0-cap_points": "30",
        "action": "save",
    }
    client.post("/settings/scoring", data=fields)
    after = text_of(client.get("/settings/scoring", params={"contact": address}).text)
    assert re.search(r"engagement 29\.9\d? now \(settings version 1", after) or "engagement 30.0 now" in after
    missing = client.get("/settings/scoring", params={"contact": "nobody@example.com"})
    assert 'id="explain-error"' in missing.text and "no such contact in this workspace" in missing.text
    assert "not a contact id" in client.get("/settings/scoring", params={"contact": "ct_1_forged"}).text
