"""Shared by the reader and reading tests: assets with real files, PDFs made with pypdf, hits."""

from __future__ import annotations

import io
import itertools
from datetime import datetime
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.hits import HitRow
from leadwell.db.models import Asset, AssetFile, Engagement, Event, Workspace
from leadwell.db.types import utcnow

_numbers = itertools.count(1)


def pdf_bytes(pages: int) -> bytes:
    """A real PDF of ``pages`` letter-sized pages, each saying "Page N" in Helvetica."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for number in range(1, pages + 1):
        page = writer.add_blank_page(612, 792)
        resources = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): resources})
        stream = ContentStream(None, writer)
        stream.set_data(f"BT /F1 48 Tf 72 700 Td (Page {number}) Tj ET".encode())
        page.replace_contents(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_asset(
    session: Session, workspace: Workspace, kind: str = "pdf", content: bytes | None = None, **fields: Any
) -> Asset:
    """An asset of ``kind``; ``content`` becomes its stored file."""
    number = next(_numbers)
    values: dict[str, Any] = {"slug": f"{kind}-{number}", "title": f"The {kind} guide {number}"}
    if content is not None:
        values.update(file_name=f"guide-{number}.{kind}", size_bytes=len(content))
    values.update(fields)
    asset = Asset(workspace_id=workspace.id, kind=kind, **values)
    session.add(asset)
    session.flush()
    if content is not None:
        session.add(AssetFile(asset_id=asset.id, content=content))
        session.flush()
    return asset


def read_hit(
    workspace_id: int,
    contact_id: int,
    asset_id: int,
    pages: list[int],
    active: int,
    session_id: str = "session-one",
    of: int = 18,
    received_at: datetime | None = None,
) -> HitRow:
    """A read hit as the tracking endpoint stores it."""
    payload = {"w": workspace_id, "c": contact_id, "a": asset_id, "pages": pages, "of": of,
               "active": active, "s": session_id, "seq": 1}  # fmt: skip
    return HitRow(next(_numbers), workspace_id, "read", payload, "127.0.0.1", received_at or utcnow())


def video_hit(
    workspace_id: int,
    contact_id: int,
    asset_id: int,
    percent: float,
    seconds: int,
    session_id: str = "video-one",
) -> HitRow:
    payload = {"w": workspace_id, "c": contact_id, "a": asset_id, "percent": percent, "seconds": seconds,
               "s": session_id, "seq": 1}  # fmt: skip
    return HitRow(next(_numbers), workspace_id, "video", payload, "127.0.0.1", utcnow())


def events_of(session: Session, contact_id: int, event_type: str) -> list[Event]:
    query = select(Event).where(Event.contact_id == contact_id, Event.type == event_type).order_by(Event.id)
    return list(session.scalars(query))


def score_of(session: Session, contact_id: int) -> float:
    engagement = session.get(Engagement, contact_id)
    return engagement.score if engagement is not None else 0.0
