"""The "Lead magnets" panel of a contact's page: each magnet the contact opened, and how far they
read or watched it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.capture.reading import reading_summary
from leadwell.db.models import Asset, Event, Reading


@dataclass(frozen=True)
class MagnetShown:
    """One lead magnet on a contact's page: what it is and how far the contact got."""

    title: str
    slug: str
    kind: str
    summary: str
    percent: float | None
    last_at: datetime | None


def magnets_of(session: Session, workspace_id: int, contact_id: int) -> list[MagnetShown]:
    """The contact's readings, most recent first, then the magnets opened without any reading."""
    pairs = session.execute(
        select(Reading, Asset)
        .join(Asset, Asset.id == Reading.asset_id)
        .where(Reading.workspace_id == workspace_id, Reading.contact_id == contact_id)
        .order_by(Reading.last_at.desc(), Reading.id.desc())
    ).all()
    shown = [
        MagnetShown(asset.title, asset.slug, asset.kind, reading_summary(reading, asset), reading.percent,
                    reading.last_at)
        for reading, asset in pairs
    ]  # fmt: skip
    read_slugs = {magnet.slug for magnet in shown}
    opened = session.execute(
        select(Asset, func.max(Event.occurred_at))
        .join(Event, Event.properties["asset"].as_string() == Asset.slug)
        .where(
            Asset.workspace_id == workspace_id,
            Event.workspace_id == workspace_id,
            Event.contact_id == contact_id,
            Event.type == "asset_downloaded",
        )
        .group_by(Asset.id)
        .order_by(func.max(Event.occurred_at).desc())
    ).all()
    for asset, when in opened:
        if asset.slug not in read_slugs:
            shown.append(MagnetShown(asset.title, asset.slug, asset.kind, _opened_words(asset), None, when))
    return shown


def _opened_words(asset: Asset) -> str:
    if asset.kind == "pdf":
        return "Opened, no reading measured yet"
    if asset.kind == "video":
        return "Opened, not watched yet"
    if asset.kind == "epub":
        return "Downloaded"
    return "Opened the event page"
