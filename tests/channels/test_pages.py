"""The Channels pages over HTTP with a real login: mapping an unmapped source in one click, refusals
shown on the page, typed-in spend in the totals, an export uploaded with its summary, deleting a
row, tagging a contact, and a salesperson refused."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select

from leadwell.channels.catalog import ensure_channels
from leadwell.channels.service import channel_named
from leadwell.db.models import Channel, ChannelSource, ManualTouch, Spend, Workspace
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from tests.channels.test_spend_import import GOOGLE
from tests.factories import make_contact, make_user
from tests.test_pages import Account, csrf_of, logged_in, make_account


def make_user_in(db: Database, workspace_id: int, role: str) -> str:
    with db.session() as session:
        return make_user(session, session.get_one(Workspace, workspace_id), role=role).email


def _channel_id(db: Database, account: Account, name: str) -> int:
    with db.session() as session:
        return channel_named(session, account.workspace_id, name).id


def test_map_an_unmapped_source_and_refusals(app: FastAPI, db: Database) -> None:
    account = make_account(db, role="marketer")
    with db.session() as session:
        workspace = session.get_one(Workspace, account.workspace_id)
        for _ in range(3):
            make_contact(session, workspace, source="Realtors 2026")
    client = logged_in(app, account.email)
    page = client.get("/channels")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "realtors 2026" in text and 'data-key="realtors 2026"' in text
    assert re.search(r"<code>realtors 2026</code></td>\s*<td class=\"number\">3</td>", text)
    token = csrf_of(page.text)
    referrals = _channel_id(db, account, "Referrals")
    mapped = client.post(
        "/channels/sources",
        data={"csrf_token": token, "key": "realtors 2026", "channel_id": str(referrals)},
        follow_redirects=False,
    )
    assert mapped.status_code == 303 and mapped.headers["location"] == "/channels?done=mapped"
    after = client.get("/channels?done=mapped").text
    assert 'id="no-unmapped"' in after and "Source key mapped." in after
    clash = client.post(
        "/channels/sources", data={"csrf_token": token, "key": "FB", "channel_id": str(referrals)}
    )
    assert clash.status_code == 422
    assert "key: source key &#39;fb&#39; already maps to channel &#39;Facebook&#39;" in clash.text
    created = client.post(
        "/channels",
        data={"csrf_token": token, "name": "Podcast ads", "kind": "paid_social", "sources": "pod, podcast"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    with db.session() as session:
        podcast = channel_named(session, account.workspace_id, "podcast ads")
        keys = session.scalars(select(ChannelSource.key).where(ChannelSource.channel_id == podcast.id)).all()
        assert sorted(keys) == ["pod", "podcast"]
    campaign = client.post(
        "/channels/campaigns",
        data={"csrf_token": token, "channel_id": str(podcast.id), "name": "Episode 12"},
        follow_redirects=False,
    )
    assert campaign.status_code == 303
    assert 'Episode 12 <small class="muted">(<code>episode 12</code>)' in client.get("/channels").text
    assert client.post("/channels", data={"name": "No token"}).status_code == 403


def test_salesperson_reads_but_is_refused(app: FastAPI, db: Database) -> None:
    account = make_account(db, role="sales")
    client = logged_in(app, account.email)
    page = client.get("/channels")
    assert page.status_code == 200 and 'id="add-channel"' not in page.text
    token = csrf_of(page.text)
    refused = client.post("/channels", data={"csrf_token": token, "name": "Sneaky"})
    assert refused.status_code == 403
    assert "Only owners and marketers change channels; you are sales." in html.unescape(refused.text)
    spend = client.post("/channels/spend", data={"csrf_token": token, "amount": "5"})
    assert spend.status_code == 403
    with db.session() as session:
        assert session.scalar(select(Channel.id).where(Channel.name == "Sneaky")) is None


def test_typed_in_spend_upload_and_delete(app: FastAPI, db: Database) -> None:
    account = make_account(db)
    client = logged_in(app, account.email)
    page = client.get("/channels/spend?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200 and 'id="no-spend"' in page.text
    token = csrf_of(page.text)
    events = _channel_id(db, account, "Events & speaking")
    fee = {
        "csrf_token": token,
        "channel_id": str(events),
        "amount": "1,500.00",
        "currency": "",
        "from": "2026-03-05",
        "to": "",
        "campaign": "Leeds seminar",
        "description": "speaking fee",
    }
    added = client.post("/channels/spend", data=fee, follow_redirects=False)
    assert added.status_code == 303
    bad = client.post("/channels/spend", data={**fee, "amount": "-3"})
    assert bad.status_code == 422 and "amount: must be more than 0" in bad.text
    upload = client.post(
        "/channels/spend/import",
        data={"csrf_token": token, "platform": ""},
        files={"file": ("google.tsv", GOOGLE.encode("utf-16"), "text/tab-separated-values")},
    )
    assert upload.status_code == 200
    summary = html.unescape(upload.text)
    assert "google export: stored 3 rows, replaced 0, skipped 1 (blank, zero or total)" in summary
    assert "total USD 1,107.50" in summary
    listed = client.get("/channels/spend?from=2026-03-01&to=2026-03-31").text
    # Events & speaking: the fee, 1,500.00; Google: 45.10 + 1,050.00 + 12.40 = 1,107.50
    assert re.search(r'data-channel="Events &amp; speaking" data-currency="USD">.*?1,500.00', listed)
    assert re.search(
        r'data-channel="Google" data-currency="USD">.*?<td class="number">3</td>.*?1,107.50', listed
    )
    broken = client.post(
        "/channels/spend/import",
        data={"csrf_token": token, "platform": "google"},
        files={"file": ("g.tsv", GOOGLE.replace("45.10", "4x").encode("utf-16"), "text/plain")},
    )
    assert broken.status_code == 422
    assert "line 4, Cost: &#39;4x&#39; is not an amount" in broken.text
    with db.session() as session:
        spend_id = session.scalar(select(Spend.id).where(Spend.origin == "manual"))
        assert session.scalar(select(Spend.amount).where(Spend.id == spend_id)) == Decimal("1500.00")
    deleted = client.post(
        f"/channels/spend/{spend_id}/delete",
        data={"csrf_token": token, "from": "2026-03-01"},
        follow_redirects=False,
    )
    assert deleted.headers["location"] == "/channels/spend?done=deleted&from=2026-03-01"
    with db.session() as session:
        assert session.get(Spend, spend_id) is None


def test_tag_a_contact(app: FastAPI, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        person = make_contact(session, session.get_one(Workspace, account.workspace_id))
        person_id = person.id
    client = logged_in(app, account.email)
    token = csrf_of(client.get("/channels").text)
    events = _channel_id(db, account, "Events & speaking")
    public = codec.encode("contact", person_id)
    tagged = client.post(
        f"/contacts/{public}/touches",
        data={
            "csrf_token": token,
            "channel_id": str(events),
            "campaign_id": "",
            "note": "met at the Leeds seminar",
        },
        follow_redirects=False,
    )
    assert tagged.status_code == 303 and tagged.headers["location"] == f"/contacts/{public}?done=tagged"
    with db.session() as session:
        touch = session.scalars(select(ManualTouch)).one()
        assert (touch.contact_id, touch.channel_id, touch.note) == (
            person_id,
            events,
            "met at the Leeds seminar",
        )
    away = client.post(
        f"/contacts/{public}/touches",
        data={"csrf_token": token, "channel_id": str(events), "next": "//evil.example.com/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == f"/contacts/{public}?done=tagged"
    assert (
        client.post("/contacts/ct_1_bad/touches", data={"csrf_token": token, "channel_id": "1"}).status_code
        == 404
    )
    # The contact page shows where the person came from (the tag, twice) and offers the form.
    contact_page = html.unescape(client.get(f"/contacts/{public}").text)
    touches = contact_page[contact_page.index('id="touches"') :]
    assert touches.count("Tagged by hand") == 2 and touches.count("Events & speaking") >= 2
    assert f'action="/contacts/{public}/touches"' in touches
    seller = make_user_in(db, account.workspace_id, "sales")
    seen_by_seller = logged_in(app, seller).get(f"/contacts/{public}").text
    assert 'id="touches"' in seen_by_seller and 'id="tag-contact"' not in seen_by_seller


def test_contact_page_names_the_channel_of_each_touch(app: FastAPI, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get_one(Workspace, account.workspace_id)
        ensure_channels(session, workspace.id)
        mapped = make_contact(session, workspace, source="FB ")
        unmapped = make_contact(session, workspace, source="Realtors 2026")
        nothing = make_contact(session, workspace, source=None)
        ids = [codec.encode("contact", c.id) for c in (mapped, unmapped, nothing)]
    client = logged_in(app, account.email)
    pages = [html.unescape(client.get(f"/contacts/{public}").text) for public in ids]
    assert re.search(r"<td>Created</td><td>Facebook</td><td>—</td>", pages[0])
    assert "<td>Unmapped: realtors 2026</td>" in pages[1]
    assert 'id="no-touches"' in pages[2]
