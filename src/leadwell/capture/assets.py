"""Lead magnets: create, change, archive (or delete while unused), list.

A magnet's slug is its name in events (``asset`` and ``webinar`` properties) and in reports, so it
is fixed once the magnet exists. Files are checked by their content (:mod:`leadwell.capture.files`)
and stored in ``asset_files`` in the same transaction as the row, so a refused or failed upload
leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from leadwell.capture import files
from leadwell.capture.values import clean_int, clean_slug, clean_text, clean_web_url
from leadwell.db.models import ASSET_KINDS, Asset, AssetFile, Event, Form, Reading
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound

DOCUMENT_KINDS = ("pdf", "epub")
EVENT_KINDS = ("webinar", "seminar")
KIND_LABELS = {"pdf": "PDF", "epub": "EPUB", "video": "Video", "webinar": "Webinar", "seminar": "Seminar"}
MAX_DURATION_MINUTES = 24 * 60


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its bytes and the name the sender gave it."""

    content: bytes
    file_name: str


@dataclass
class AssetInput:
    """What an editor or the CLI sends for a magnet; text as typed, cleaned by the service."""

    kind: str
    title: str
    slug: str = ""
    description: str = ""
    video_url: str = ""
    starts_at: str = ""
    timezone: str = ""
    duration_minutes: str = ""
    location: str = ""


def get_asset(session: Session, workspace_id: int, slug: str) -> Asset:
    """The workspace's magnet with ``slug``, else :class:`NotFound`."""
    asset = session.scalar(select(Asset).where(Asset.workspace_id == workspace_id, Asset.slug == slug))
    if asset is None:
        raise NotFound(f"asset: no magnet {slug[:80]!r} in this workspace", field="asset")
    return asset


def list_assets(session: Session, workspace_id: int, archived: bool = False) -> list[Asset]:
    """The workspace's magnets, newest first; archived ones only when asked."""
    query = select(Asset).where(Asset.workspace_id == workspace_id)
    if not archived:
        query = query.where(Asset.archived_at.is_(None))
    return list(session.scalars(query.order_by(Asset.created_at.desc(), Asset.id.desc())))


def parse_starts_at(text: str, timezone: str, field: str = "starts_at") -> datetime:
    """A start time with its zone: an ISO 8601 time with an offset, or a local time and an IANA zone."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1) if " " in value else value)
    except ValueError:
        raise InvalidInput(
            f"{field}: {value[:40]!r} is not a date and time (like 2026-12-10T15:00)", field=field
        ) from None
    if moment.tzinfo is None:
        if not timezone.strip():
            raise InvalidInput(
                f"{field}: give a time zone (an offset like +01:00, or a zone like Europe/Berlin)",
                field="timezone",
            )
        try:
            moment = moment.replace(tzinfo=ZoneInfo(timezone.strip()))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"timezone: {timezone[:40]!r} is not an IANA time zone (like Europe/Berlin)", field="timezone"
            ) from None
    return moment.astimezone(UTC)


def _common(asset: Asset, data: AssetInput) -> None:
    asset.title = clean_text(data.title, "title", 200, required=True)
    asset.description = clean_text(data.description, "description", 5000)


def _event_fields(asset: Asset, data: AssetInput) -> None:
    if not data.starts_at.strip():
        raise InvalidInput("starts_at: a webinar or seminar needs its date and time", field="starts_at")
    asset.starts_at = parse_starts_at(data.starts_at, data.timezone)
    asset.duration_minutes = clean_int(data.duration_minutes, "duration_minutes", 1, MAX_DURATION_MINUTES)
    place = clean_text(data.location, "location", 300)
    if not place:
        raise InvalidInput("location: give the place or the join URL", field="location")
    if "://" in place:
        place = clean_web_url(place, "location") or ""
    asset.location = place


def _store_file(session: Session, asset: Asset, checked: files.CheckedFile) -> None:
    asset.file_name = checked.file_name
    asset.content_type = checked.content_type
    asset.size_bytes = checked.size
    asset.sha256 = checked.sha256
    asset.pages = checked.pages
    session.flush()
    stored = session.get(AssetFile, asset.id)
    if stored is None:
        session.add(AssetFile(asset_id=asset.id, content=checked.content))
    else:
        stored.content = checked.content


def _checked_upload(kind: str, upload: Upload, max_bytes: int) -> files.CheckedFile:
    if kind == "pdf":
        return files.check_pdf(upload.content, upload.file_name, max_bytes)
    if kind == "epub":
        return files.check_epub(upload.content, upload.file_name, max_bytes)
    if kind == "video":
        return files.check_video(upload.content, upload.file_name, max_bytes)
    raise InvalidInput(f"file: a {kind} has no file", field="file")


def _apply(session: Session, asset: Asset, data: AssetInput, upload: Upload | None, max_bytes: int) -> None:
    """Check and copy everything; the caller's transaction keeps all or nothing."""
    _common(asset, data)
    if asset.kind in EVENT_KINDS:
        _event_fields(asset, data)
        return
    checked = _checked_upload(asset.kind, upload, max_bytes) if upload is not None else None
    if asset.kind == "video":
        url = clean_web_url(data.video_url, "video_url")
        if checked is None and url is None and asset.content_type is None:
            raise InvalidInput(
                "video_url: give the video's URL or upload an MP4 or WebM file", field="video_url"
            )
        asset.video_url = url
    elif checked is None and asset.sha256 is None:
        raise InvalidInput(f"file: upload the {KIND_LABELS[asset.kind]} file", field="file")
    if checked is not None:
        _store_file(session, asset, checked)


def create_asset(
    session: Session, workspace_id: int, data: AssetInput, upload: Upload | None, max_bytes: int
) -> Asset:
    """A new magnet of ``data.kind``; the slug defaults to one made from the title."""
    if data.kind not in ASSET_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(ASSET_KINDS)}", field="kind")
    slug = clean_slug(data.slug, data.title)
    taken = select(Asset.id).where(Asset.workspace_id == workspace_id, Asset.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict(f"slug: {slug!r} is already taken by another magnet", field="slug")
    asset = Asset(workspace_id=workspace_id, slug=slug, kind=data.kind, title="", description="")
    session.add(asset)
    _apply(session, asset, data, upload, max_bytes)
    session.flush()
    return asset


def update_asset(
    session: Session, workspace_id: int, slug: str, data: AssetInput, upload: Upload | None, max_bytes: int
) -> Asset:
    """Change a magnet's details (and file, when one is given); its kind and slug stay."""
    asset = get_asset(session, workspace_id, slug)
    data.kind = asset.kind
    _apply(session, asset, data, upload, max_bytes)
    asset.updated_at = utcnow()
    session.flush()
    return asset


def asset_in_use(session: Session, asset: Asset) -> bool:
    """Whether anything refers to the magnet: a form, a reading, or an event naming its slug."""
    if session.scalar(select(Form.id).where(Form.asset_id == asset.id).limit(1)) is not None:
        return True
    if session.scalar(select(Reading.id).where(Reading.asset_id == asset.id).limit(1)) is not None:
        return True
    named = or_(
        Event.properties["asset"].as_string() == asset.slug,
        Event.properties["webinar"].as_string() == asset.slug,
    )
    mentions = select(func.count()).where(
        Event.workspace_id == asset.workspace_id,
        Event.type.in_(
            ("asset_downloaded", "read_progress", "video_progress", "webinar_registered", "webinar_attended")
        ),
        named,
    )
    return bool(session.scalar(mentions))


def remove_asset(session: Session, workspace_id: int, slug: str) -> str:
    """Delete an unused magnet, or archive one that has history; returns "deleted" or "archived"."""
    asset = get_asset(session, workspace_id, slug)
    if asset_in_use(session, asset):
        asset.archived_at = asset.archived_at or utcnow()
        return "archived"
    session.delete(asset)
    session.flush()
    return "deleted"


def restore_asset(session: Session, workspace_id: int, slug: str) -> Asset:
    """Bring an archived magnet back."""
    asset = get_asset(session, workspace_id, slug)
    asset.archived_at = None
    return asset
