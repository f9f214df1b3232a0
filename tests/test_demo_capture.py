"""The demo's Capture section: magnets with real PDFs, forms, pages, and numbers backed by events."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy import select

from leadwell.db.models import Asset, AssetFile, Event, Form, FormSubmission, LandingPage, Reading
from leadwell.db.session import Database
from leadwell.demo import data
from leadwell.demo.paper import sample_pdf
from tests.test_demo import build


def _page_count(pdf: bytes) -> int:
    """Pages in the page tree, read from the file's own /Count (the demo writes one tree)."""
    found = re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", pdf)
    assert found is not None
    return int(found.group(1))


def test_sample_pdf_is_well_formed() -> None:
    pdf = sample_pdf("Title (with parentheses)", "Sub \\ title", [("One", "word " * 800), ("Two", "text")])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    offset = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[offset:].startswith(b"xref\n")
    # Every object sits at the offset the cross-reference table gives for it.
    table = pdf[offset:].split(b"\n")
    size = int(table[1].split()[1])
    for number in range(1, size):
        position = int(table[2 + number][:10])
        assert pdf[position:].startswith(b"%d 0 obj" % number)
    assert _page_count(pdf) == 4  # title page, two pages of words, one of text
    assert b"\\(with parentheses\\)" in pdf and b"Sub \\\\ title" in pdf


def test_demo_magnets_forms_and_pages(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        workspace_id = result.workspace_id
        assets = {a.slug: a for a in session.scalars(select(Asset).where(Asset.workspace_id == workspace_id))}
        for magnet in data.ASSETS:
            asset = assets[magnet.slug]
            if magnet.kind == "read":
                stored = session.get(AssetFile, asset.id)
                assert stored is not None and asset.kind == "pdf"
                assert _page_count(stored.content) == magnet.pages == asset.pages
                assert asset.size_bytes == len(stored.content)
            else:
                assert asset.kind == "video" and asset.video_url
        assert sum(a.kind == "webinar" for a in assets.values()) == len(data.WEBINARS)
        forms = {f.slug: f for f in session.scalars(select(Form).where(Form.workspace_id == workspace_id))}
        pages = session.scalars(select(LandingPage).where(LandingPage.workspace_id == workspace_id)).all()
        assert {page.form_id for page in pages} <= {form.id for form in forms.values()}
        assert {"contact-us", "newsletter", "download-ops-checklist"} <= forms.keys()


def test_demo_submissions_and_readings_match_events(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        workspace_id = result.workspace_id
        forms = {f.id: f.slug for f in session.scalars(select(Form).where(Form.workspace_id == workspace_id))}
        submitted: defaultdict[str, int] = defaultdict(int)
        for event in session.scalars(
            select(Event).where(Event.workspace_id == workspace_id, Event.type == "form_submitted")
        ):
            if event.properties["form"] in forms.values():
                submitted[event.properties["form"]] += 1
        stored: defaultdict[str, int] = defaultdict(int)
        for submission in session.scalars(
            select(FormSubmission).where(FormSubmission.workspace_id == workspace_id)
        ):
            stored[forms[submission.form_id]] += 1
        assert stored == submitted and sum(stored.values()) > 0
        furthest: dict[tuple[int | None, str], float] = {}
        for event in session.scalars(
            select(Event).where(Event.workspace_id == workspace_id, Event.type == "read_progress")
        ):
            key = (event.contact_id, event.properties["asset"])
            furthest[key] = max(furthest.get(key, 0), event.properties["percent"])
        assets = session.scalars(select(Asset).where(Asset.workspace_id == workspace_id))
        slugs = {asset.id: asset.slug for asset in assets}
        readings = session.scalars(select(Reading).where(Reading.workspace_id == workspace_id)).all()
        documents = {(r.contact_id, slugs[r.asset_id]): r for r in readings if r.pages_total and r.pages_seen}
        assert furthest and {key: r.percent for key, r in documents.items()} == furthest
        for reading in documents.values():
            assert len(reading.pages_seen) <= (reading.pages_total or 0) and reading.active_seconds > 0
