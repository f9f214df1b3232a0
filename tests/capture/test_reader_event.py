"""Webinar and seminar delivery pages and their calendar files (RFC 5545)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadwell.capture.calendar import escape_text, fold
from leadwell.capture.reader_pages import delivery_url
from leadwell.capture.tokens import TokenSigner
from leadwell.db.session import Database
from tests import factories
from tests.capture.reader_support import make_asset, pdf_bytes

STARTS = datetime(2026, 12, 10, 15, 30, tzinfo=UTC)


def _path(app: FastAPI, db: Database, kind: str = "webinar", **fields: object) -> str:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        content = pdf_bytes(1) if kind == "pdf" else None
        asset = make_asset(session, workspace, kind, content, **fields)
        ids = (workspace.id, contact.id, asset.id)
    signer: TokenSigner = app.state.leadwell.signer
    return delivery_url(signer, "", *ids)


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_the_webinar_page(app: FastAPI, db: Database, client: TestClient) -> None:
    path = _path(
        app,
        db,
        starts_at=STARTS,
        duration_minutes=90,
        location="https://meet.example.com/room?id=1",
        title="Q&A",
    )
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert (
        '<time id="event-start" datetime="2026-12-10T15:30:00+00:00">Thursday 10 December 2026, 15:30 UTC'
        in html
    )
    assert "1 h 30 min" in html
    assert 'href="https://meet.example.com/room?id=1"' in html
    assert f'href="{path}/event.ics"' in html
    assert "/static/reader/event.js" in html
    assert "Q&amp;A" in html


def test_a_seminar_location_is_text_and_a_missing_date_is_said(
    app: FastAPI, db: Database, client: TestClient
) -> None:
    response = client.get(_path(app, db, "seminar", location='<b>Hall 2</b>, "Main" street'))
    assert "&lt;b&gt;Hall 2&lt;/b&gt;" in response.text
    assert "The date will be announced." in response.text
    assert "event.ics" not in response.text
    assert client.get(_path(app, db, "seminar") + "/event.ics").status_code == 404


def test_the_calendar_file(app: FastAPI, db: Database, client: TestClient) -> None:
    title = "Pricing, margins; and more\\less " + "é" * 60
    path = _path(
        app,
        db,
        starts_at=STARTS,
        duration_minutes=45,
        title=title,
        description="Line one\nLine two",
        location="Room 4, Floor 2",
    )
    response = client.get(path + "/event.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    body = response.content
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")  # every line ends with CRLF
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded by octets
    lines = _unfold(body.decode())
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//leadwell//capture//EN"]
    assert "DTSTART:20261210T153000Z" in lines
    assert "DTEND:20261210T161500Z" in lines
    assert f"SUMMARY:Pricing\\, margins\\; and more\\\\less {'é' * 60}" in lines
    assert "LOCATION:Room 4\\, Floor 2" in lines
    description = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert description.startswith("DESCRIPTION:Line one\\nLine two\\n\\nhttp://testserver/r/")
    assert lines.count("BEGIN:VEVENT") == 1 and lines[-2:] == ["END:VCALENDAR", ""]


def test_no_calendar_for_a_document(app: FastAPI, db: Database, client: TestClient) -> None:
    response = client.get(_path(app, db, "pdf", pages=1) + "/event.ics")
    assert response.status_code == 404
    assert "no date" in response.text


def test_escape_and_fold() -> None:
    assert escape_text("a,b;c\\d\r\ne\x07") == "a\\,b\\;c\\\\d\\ne"
    folded = fold("X" * 80)
    assert folded == "X" * 75 + "\r\n " + "X" * 5
    multibyte = fold("€" * 30)  # 3 octets each: never split inside one
    assert all(len(piece.encode()) <= 75 for piece in multibyte.split("\r\n"))
    assert multibyte.replace("\r\n ", "") == "€" * 30
