"""The duplicate review and merge history pages through the real login form: list, merge, dismiss,
scan, undo, CSRF and workspace isolation (in-process client, real database)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.contacts.duplicates_pages import public_id
from leadwell.contacts.merge import merge_contacts
from leadwell.db.models import Contact, ContactMerge, DuplicateCandidate, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from tests.conftest import TEST_SECRET
from tests.factories import make_contact, make_event, make_organization, make_user, make_workspace
from tests.test_pages import csrf_of, login

CODEC = IdCodec(TEST_SECRET)


def DUP(number: int) -> str:  # noqa: N802 - reads like the id it makes
    return CODEC.encode("duplicate", number)


def MRG(number: int) -> str:  # noqa: N802
    return CODEC.encode("merge", number)


MERGE_FORM_RE = re.compile(r'action="/contacts/duplicates/([^"/]+)/merge"')


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    email: str
    older: int  # Jon Smith, with events
    newer: int  # John Smith
    candidate: int


def seed(db: Database, name: str = "Acme", role: str = "sales") -> Seeded:
    """A workspace with a salesperson and one open pair (the older contact has events)."""
    with db.session() as session:
        ws = make_workspace(session, name)
        user = make_user(session, ws, role=role)
        org = make_organization(session, ws, name="Initech", domain="initech.example.net")
        older = make_contact(session, ws, first_name="Jon", last_name="Smith", organization_id=org.id)
        make_event(session, older)
        make_event(session, older)
        newer = make_contact(session, ws, first_name="John", last_name="Smith", organization_id=org.id)
        candidate = DuplicateCandidate(
            workspace_id=ws.id,
            contact_a_id=older.id,
            contact_b_id=newer.id,
            score=94.7,
            reasons=["names 94% alike (Jon Smith / John Smith) at the same organization initech.example.net"],
        )
        session.add(candidate)
        session.flush()
        return Seeded(ws.id, user.email, older.id, newer.id, candidate.id)


def client_for(app: FastAPI, email: str) -> TestClient:
    client = TestClient(app)
    assert login(client, email).status_code == 303
    return client


def review(client: TestClient) -> str:
    page = client.get("/contacts/duplicates")
    assert page.status_code == 200
    return page.text


def test_review_page_shows_pairs_side_by_side(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    client = client_for(app, seeded.email)
    page = review(client)
    assert "1 pair that may be one person" in page
    assert "95% likely the same person" in page
    assert "names 94% alike (Jon Smith / John Smith) at the same organization initech.example.net" in page
    assert ">Jon Smith</a>" in page and ">John Smith</a>" in page
    assert page.count("Initech") == 2
    assert '<dd class="events">2</dd>' in page and '<dd class="events">0</dd>' in page
    older = codec.encode("contact", seeded.older)
    # The contact with the events is suggested as the one to keep.
    assert f'value="{older}" checked' in page
    assert MERGE_FORM_RE.findall(page) == [public_id(codec, "duplicate", seeded.candidate)]


def test_contacts_list_links_to_the_review_with_its_count(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = client_for(app, seeded.email)
    assert 'id="review-duplicates">Review duplicates (1)</a>' in client.get("/contacts").text


def test_merge_keeps_the_chosen_contact_and_says_so(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    client = client_for(app, seeded.email)
    page = review(client)
    newer = codec.encode("contact", seeded.newer)
    form = {"csrf_token": csrf_of(page), "survivor": newer}
    response = client.post(
        f"/contacts/duplicates/{DUP(seeded.candidate)}/merge", data=form, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/contacts/duplicates?merged={newer}"
    after = client.get(response.headers["location"]).text
    assert re.search(rf'Merged into <a href="/contacts/{newer}">John Smith</a>', after)
    assert "No duplicates waiting for review" in after
    with db.session() as session:
        gone = session.get_one(Contact, seeded.older)
        assert gone.merged_into_id == seeded.newer
        merge = session.scalars(select(ContactMerge)).one()
        assert (merge.survivor_id, merge.merged_id) == (seeded.newer, seeded.older)
        assert merge.merged_by_id is not None
        assert session.get_one(DuplicateCandidate, seeded.candidate).status == "merged"


def test_a_survivor_outside_the_pair_is_refused(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    with db.session() as session:
        workspace = session.get_one(Workspace, seeded.workspace_id)
        stranger = make_contact(session, workspace)
    client = client_for(app, seeded.email)
    token = csrf_of(review(client))
    for survivor in (codec.encode("contact", stranger.id), "", "ct_garbage"):
        form = {"csrf_token": token, "survivor": survivor}
        response = client.post(f"/contacts/duplicates/{DUP(seeded.candidate)}/merge", data=form)
        assert response.status_code == 422
    with db.session() as session:
        assert session.scalars(select(ContactMerge)).all() == []


def test_dismiss_hides_the_pair_for_good(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = client_for(app, seeded.email)
    token = csrf_of(review(client))
    url = f"/contacts/duplicates/{DUP(seeded.candidate)}/dismiss"
    response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Marked as not a duplicate." in page and "0 pairs" in page
    # A second click (another tab) finds the pair no longer open.
    assert client.post(url, data={"csrf_token": token}).status_code == 409
    with db.session() as session:
        assert session.get_one(DuplicateCandidate, seeded.candidate).status == "dismissed"


def test_scan_finds_duplicates_in_the_whole_workspace(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        workspace = session.get_one(Workspace, seeded.workspace_id)
        make_contact(
            session, workspace, first_name="Augusta Ada", last_name="Lovelace", phones=["+14155550100"]
        )
        make_contact(session, workspace, first_name="Ada", last_name="Lovelace", phones=["+14155550100"])
    client = client_for(app, seeded.email)
    token = csrf_of(review(client))
    response = client.post("/contacts/duplicates/scan", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/contacts/duplicates?found=1"
    page = client.get(response.headers["location"]).text
    assert "Scan finished: 1 new pair to review." in page
    assert "same phone +14155550100" in page


def test_merge_history_undo_separates_the_contacts_again(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        merge_id = merge_contacts(session, seeded.workspace_id, seeded.older, seeded.newer).id
    client = client_for(app, seeded.email)
    history = client.get("/contacts/merges")
    assert history.status_code == 200
    undo_url = f"/contacts/merges/{MRG(merge_id)}/undo"
    assert f'action="{undo_url}"' in history.text
    response = client.post(undo_url, data={"csrf_token": csrf_of(history.text)}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert re.search(r"Merge undone: <a [^>]+>Jon Smith</a> and <a [^>]+>John Smith</a> are separate", page)
    assert "Undone " in page and f'action="{undo_url}"' not in page
    assert "John Smith" in client.get("/contacts").text
    assert "Review duplicates (1)" in client.get("/contacts").text  # the pair is open again
    assert client.post(undo_url, data={"csrf_token": csrf_of(page)}).status_code == 422


def test_history_offers_undo_newest_first_only(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        workspace = session.get_one(Workspace, seeded.workspace_id)
        third = make_contact(session, workspace)
        first = merge_contacts(session, seeded.workspace_id, seeded.older, seeded.newer).id
        second = merge_contacts(session, seeded.workspace_id, seeded.older, third.id).id
    client = client_for(app, seeded.email)
    page = client.get("/contacts/merges").text
    assert f'action="/contacts/merges/{MRG(second)}/undo"' in page
    assert f'action="/contacts/merges/{MRG(first)}/undo"' not in page
    assert f"Undo the later merge #{MRG(second)} first" in page
    assert "was edited after the merge" not in page
    with db.session() as session:
        session.get_one(Contact, seeded.older).title = "CEO"  # an edit after the merges
        session.get_one(Contact, seeded.older).updated_at = utcnow()
    page = client.get("/contacts/merges").text
    assert "was edited after the merge; undo puts back its earlier values." in page


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_post_needs_the_csrf_token(
    app: FastAPI, db: Database, codec: IdCodec, token: str | None
) -> None:
    seeded = seed(db)
    with db.session() as session:
        merge_id = merge_contacts(session, seeded.workspace_id, seeded.older, seeded.newer).id
        workspace = session.get_one(Workspace, seeded.workspace_id)
        a, b = make_contact(session, workspace), make_contact(session, workspace)
        other = DuplicateCandidate(workspace_id=workspace.id, contact_a_id=a.id, contact_b_id=b.id, score=90)
        session.add(other)
        session.flush()
        other_id = other.id
    client = client_for(app, seeded.email)
    review(client)
    csrf = {"csrf_token": token} if token else {}
    survivor = {"survivor": codec.encode("contact", a.id)}
    assert client.post(f"/contacts/duplicates/{DUP(other_id)}/merge", data=csrf | survivor).status_code == 403
    assert client.post(f"/contacts/duplicates/{DUP(other_id)}/dismiss", data=csrf).status_code == 403
    assert client.post("/contacts/duplicates/scan", data=csrf).status_code == 403
    assert client.post(f"/contacts/merges/{MRG(merge_id)}/undo", data=csrf).status_code == 403
    with db.session() as session:
        assert session.get_one(DuplicateCandidate, other_id).status == "open"
        assert session.get_one(ContactMerge, merge_id).undone_at is None


def test_another_workspaces_pairs_and_merges_are_404(app: FastAPI, db: Database, codec: IdCodec) -> None:
    mine, theirs = seed(db, "Acme"), seed(db, "Rival")
    with db.session() as session:
        rival = session.get_one(Workspace, theirs.workspace_id)
        kept, gone = make_contact(session, rival), make_contact(session, rival)
        their_merge = merge_contacts(session, rival.id, kept.id, gone.id).id
    client = client_for(app, mine.email)
    token = csrf_of(review(client))
    survivor = {"csrf_token": token, "survivor": codec.encode("contact", theirs.older)}
    assert (
        client.post(f"/contacts/duplicates/{DUP(theirs.candidate)}/merge", data=survivor).status_code == 404
    )
    assert (
        client.post(
            f"/contacts/duplicates/{DUP(theirs.candidate)}/dismiss", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/contacts/merges/{MRG(their_merge)}/undo", data={"csrf_token": token}).status_code
        == 404
    )
    for bad in ("abc", "-1", "99999999999999999999"):
        assert client.post(f"/contacts/merges/{bad}/undo", data={"csrf_token": token}).status_code == 404
    assert "Rival" not in review(client) and "1 pair" in review(client)
    assert "No merges yet" in client.get("/contacts/merges").text
    with db.session() as session:
        assert session.get_one(DuplicateCandidate, theirs.candidate).status == "open"
        assert session.get_one(ContactMerge, their_merge).undone_at is None


def test_pairs_page_through_highest_score_first(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    with db.session() as session:
        workspace = session.get_one(Workspace, seeded.workspace_id)
        for number in range(25):
            a = make_contact(session, workspace, first_name=f"P{number:02d}", last_name="A")
            b = make_contact(session, workspace, first_name=f"P{number:02d}", last_name="B")
            session.add(
                DuplicateCandidate(
                    workspace_id=workspace.id, contact_a_id=a.id, contact_b_id=b.id, score=60 + number
                )
            )
    client = client_for(app, seeded.email)
    first = review(client)
    assert "26 pairs" in first
    assert first.index("Jon Smith") < first.index("P24 A")  # 94.7 before 84
    names = re.findall(r">(P\d\d) A</a>", first)
    assert len(names) == 19
    match = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert match is not None
    second = client.get(html.unescape(match.group(1))).text
    rest = re.findall(r">(P\d\d) A</a>", second)
    assert names + rest == [f"P{n:02d}" for n in range(24, -1, -1)]
    assert client.get("/contacts/duplicates", params={"cursor": "!!"}).status_code == 400


def test_login_is_needed(client: TestClient) -> None:
    for path in ("/contacts/duplicates", "/contacts/merges"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
