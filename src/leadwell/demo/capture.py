"""The demo's Capture section: its lead magnets, forms, landing pages and tracking site, and the
form submissions and reading depth behind the story's events, so every number there is backed."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    AssetFile,
    Event,
    Form,
    FormSubmission,
    LandingPage,
    Reading,
    TrackingSite,
)
from leadwell.demo import data
from leadwell.demo.cast import Calendar
from leadwell.demo.magnets import DOCUMENTS
from leadwell.demo.paper import sample_pdf
from leadwell.demo.story import webinar_slug

CONSENT = "Yes, Northwind Consulting may email me about operations, with an unsubscribe link in every email."
EMAIL_FIELD = {"key": "email", "label": "Work email", "type": "email", "maps_to": "email", "required": True}
NAME_FIELDS = [
    {"key": "first_name", "label": "First name", "type": "text", "maps_to": "first_name", "required": False},
    {"key": "company", "label": "Company", "type": "text", "maps_to": "organization", "required": False},
]


def public_prefix(session: Session, slug: str) -> str:
    """What goes before the demo's form and page slugs: nothing, unless another workspace of this
    installation already uses one of them (public slugs are unique across workspaces)."""
    names = [*data.FORM_SLUGS.values(), *(f"download-{asset.slug}" for asset in data.ASSETS)]
    names += [asset.slug for asset in data.ASSETS]
    taken = session.scalar(select(Form.id).where(Form.slug.in_(names))) or session.scalar(
        select(LandingPage.id).where(LandingPage.slug.in_(names))
    )
    return f"{slug}-" if taken else ""


def prefixed(properties: dict[str, Any], prefix: str) -> dict[str, Any]:
    """An event's properties with its hosted form and page slugs prefixed (see :func:`public_prefix`)."""
    if not prefix or not ({"form", "page"} & properties.keys()):
        return properties
    hosted = set(data.FORM_SLUGS.values()) | {f"download-{asset.slug}" for asset in data.ASSETS}
    changed = dict(properties)
    if changed.get("form") in hosted:
        changed["form"] = prefix + changed["form"]
    if "page" in changed:
        changed["page"] = prefix + changed["page"]
    return changed


def build_capture(session: Session, workspace_id: int, cal: Calendar, prefix: str) -> None:
    """Magnets, forms, pages and the tracking site, then submissions and readings from the events."""
    assets = _assets(session, workspace_id, cal)
    forms = _forms(session, workspace_id, assets, prefix)
    _pages(session, workspace_id, forms, prefix)
    session.add(
        TrackingSite(
            workspace_id=workspace_id,
            key=new_site_key(),
            name="Northwind website",
            domains=["www.northwind-consulting.example", "northwind-consulting.example"],
        )
    )
    session.flush()
    _submissions(session, workspace_id, {form.slug: form for form in forms})
    _readings(session, workspace_id, {asset.slug: asset for asset in assets})


def new_site_key() -> str:
    """A public tracking site key (random: it appears in every page of the site)."""
    return secrets.token_urlsafe(12)


def _assets(session: Session, workspace_id: int, cal: Calendar) -> list[Asset]:
    assets = []
    for magnet in data.ASSETS:
        asset = Asset(
            workspace_id=workspace_id,
            slug=magnet.slug,
            title=magnet.name,
            description=f"Free from Northwind Consulting: {magnet.name.lower()}.",
            created_at=cal.now - timedelta(days=magnet.days_ago),
        )
        if magnet.kind == "read":
            content = sample_pdf(magnet.name, "Northwind Consulting", DOCUMENTS[magnet.slug])
            asset.kind, asset.pages, asset.file_name = "pdf", magnet.pages, f"{magnet.slug}.pdf"
            asset.content_type, asset.size_bytes = "application/pdf", len(content)
            asset.sha256 = hashlib.sha256(content).hexdigest()
            session.add(asset)
            session.flush()
            session.add(AssetFile(asset_id=asset.id, content=content))
        else:
            asset.kind, asset.duration_seconds = "video", magnet.pages * 60
            asset.video_url = f"{data.SITE}/media/{magnet.slug}.mp4"
            session.add(asset)
        assets.append(asset)
    for title, starts, _ in cal.webinars:
        assets.append(
            Asset(
                workspace_id=workspace_id,
                slug=webinar_slug(title),
                kind="webinar",
                title=title,
                starts_at=starts,
                duration_minutes=60,
                location="Online (link sent on registration)",
                created_at=starts - timedelta(days=21),
            )
        )
        session.add(assets[-1])
    session.flush()
    return assets


def _forms(session: Session, workspace_id: int, assets: list[Asset], prefix: str) -> list[Form]:
    forms = [
        Form(
            workspace_id=workspace_id,
            slug=f"{prefix}download-{asset.slug}",
            name=f"Download: {asset.title}",
            fields=[EMAIL_FIELD, *NAME_FIELDS],
            consent_text=CONSENT,
            asset_id=asset.id,
            submit_label="Send it to me",
            thank_you="Thank you! Your copy is ready.",
            allowed_origins=[data.SITE],
        )
        for asset in assets
        if asset.kind in ("pdf", "video")
    ]
    message = {"key": "message", "label": "How can we help?", "type": "textarea", "maps_to": "custom.message"}
    forms.append(
        Form(
            workspace_id=workspace_id,
            slug=f"{prefix}contact-us",
            name="Contact us",
            fields=[EMAIL_FIELD, *NAME_FIELDS, message],
            thank_you="Thanks: we reply within a day.",
            allowed_origins=[data.SITE],
        )
    )
    forms.append(
        Form(
            workspace_id=workspace_id,
            slug=f"{prefix}newsletter",
            name="Newsletter signup",
            fields=[EMAIL_FIELD],
            consent_text=CONSENT,
            consent_required=True,
            thank_you="You're subscribed.",
            allowed_origins=[data.SITE],
        )
    )
    session.add_all(forms)
    session.flush()
    return forms


def _pages(session: Session, workspace_id: int, forms: list[Form], prefix: str) -> None:
    for form in forms:
        if form.asset_id is None:
            continue
        asset = session.get(Asset, form.asset_id)
        assert asset is not None
        body = (
            f"## {asset.title}\n\n{asset.description}\n\n- Practical, tested in client work\n"
            "- Read it in the browser or download it\n- Free; we ask only for your work email"
        )
        session.add(
            LandingPage(
                workspace_id=workspace_id,
                slug=f"{prefix}{asset.slug}",
                title=asset.title,
                body_markdown=body,
                form_id=form.id,
            )
        )


def _submissions(session: Session, workspace_id: int, forms: dict[str, Form]) -> None:
    """One submission per hosted-form event of the story (LinkedIn and booth forms live elsewhere)."""
    events = session.scalars(
        select(Event).where(Event.workspace_id == workspace_id, Event.type == "form_submitted")
    )
    for event in events:
        form = forms.get(event.properties.get("form", ""))
        if form is None or event.contact_id is None:
            continue
        fields = {key: str(value) for key, value in event.properties.get("fields", {}).items()}
        utm = {"utm_source": event.source or "", "utm_campaign": event.campaign or ""}
        session.add(
            FormSubmission(
                workspace_id=workspace_id,
                form_id=form.id,
                contact_id=event.contact_id,
                nonce=f"demo-{event.id}",
                fields=fields,
                utm=utm,
                submitted_at=event.occurred_at,
                page_url=f"{data.SITE}/",
                ip="192.0.2.1",
            )
        )


def _readings(session: Session, workspace_id: int, assets: dict[str, Asset]) -> None:
    """Each contact's furthest point in each magnet, from its milestone events."""
    furthest: dict[tuple[int, str], tuple[dict[str, Any], datetime, datetime]] = {}
    for event in _progress_events(session, workspace_id):
        key = (event.contact_id or 0, event.properties["asset"])
        first = furthest[key][1] if key in furthest else event.occurred_at
        furthest[key] = (event.properties, first, event.occurred_at)
    for (contact_id, asset_slug), (props, first, last) in sorted(furthest.items()):
        asset = assets[asset_slug]
        seen = list(range(1, int(props.get("pages_viewed", 0)) + 1))
        session.add(
            Reading(
                workspace_id=workspace_id,
                contact_id=contact_id,
                asset_id=asset.id,
                pages_total=asset.pages,
                pages_seen=seen,
                percent=float(props["percent"]),
                active_seconds=int(props.get("active_seconds", 0)),
                first_at=first,
                last_at=last,
                milestones=[m for m in (25, 50, 75, 90, 100) if m <= props["percent"]],
            )
        )


def _progress_events(session: Session, workspace_id: int) -> Iterable[Event]:
    return session.scalars(
        select(Event)
        .where(Event.workspace_id == workspace_id, Event.type.in_(("read_progress", "video_progress")))
        .order_by(Event.contact_id, Event.occurred_at, Event.id)
    )
