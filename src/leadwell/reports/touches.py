"""Touches: each moment a contact met a channel, in one shape, for attribution.

Four kinds, each read from where it is already recorded:

1. ``created`` — the contact's creation, keyed by its ``source`` (lower-cased, trimmed); a contact
   created without a source has no creation touch (it says nothing about a channel);
2. ``form`` — each form submission, keyed by its ``utm_source`` (else ``form:<form slug>``), with its
   ``utm_campaign`` as the campaign key;
3. ``email`` — each ``email_clicked`` or ``email_replied`` event, keyed ``email``, with the sequence
   or broadcast it came from as the campaign key;
4. ``manual`` — each manual touch, naming its channel (and campaign) directly.

A key means the channel whose ``channel_sources`` row has that key (none: "unmapped"); a campaign
key means that channel's campaign with that key. Ties in time are broken by kind in the order above,
then by the row's id (:data:`KIND_ORDER`), which :mod:`leadwell.reports.attribution` applies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from leadwell.db.models import Campaign, ChannelSource, Contact, Event, Form, FormSubmission, ManualTouch
from leadwell.db.types import UTCDateTime

KIND_ORDER = {"created": 1, "form": 2, "email": 3, "manual": 4}
EMAIL_EVENTS = ("email_clicked", "email_replied")


def kind_rank(kind: Any) -> ColumnElement[int]:
    """A touch kind's place when two touches share a moment (creation first, manual last)."""
    return case(KIND_ORDER, value=kind, else_=9)


def _key(value: Any) -> ColumnElement[str]:
    """A key as stored in ``channel_sources`` and ``campaigns``: trimmed, lower-case, NULL if empty."""
    return func.nullif(func.lower(func.trim(value)), "")


def _no_id() -> ColumnElement[int]:
    # Typed NULLs: PostgreSQL refuses a UNION of untyped NULLs with bigint columns.
    return cast(null(), BigInteger)


def _no_text() -> ColumnElement[str]:
    return cast(null(), String)


def by_type(contact_id: Any) -> ColumnElement[int]:
    """``contact_id + 0``: a filter on it that no index on the contact can serve, so the events of a
    few types are read through the (workspace, type, time) index, not every event of each lead
    through the per-contact one (a lead has dozens of events and a click or two)."""
    shifted: ColumnElement[int] = contact_id + 0
    return shifted


def _only(column: Any, contact_ids: Any | None) -> list[ColumnElement[bool]]:
    return [] if contact_ids is None else [column.in_(contact_ids)]


def _created(workspace_id: int, moment: Any, contact_ids: Any | None) -> Select[*tuple[Any, ...]]:
    return select(
        Contact.id.label("contact_id"),
        Contact.created_at.label("occurred_at"),
        literal("created").label("kind"),
        Contact.id.label("touch_id"),
        _key(Contact.source).label("source_key"),
        _no_text().label("campaign_key"),
        _no_id().label("channel_id"),
        _no_id().label("campaign_id"),
    ).where(
        Contact.workspace_id == workspace_id,
        _key(Contact.source).is_not(None),
        Contact.created_at < moment,
        *_only(Contact.id, contact_ids),
    )


def _forms(workspace_id: int, moment: Any, contact_ids: Any | None) -> Select[*tuple[Any, ...]]:
    utm_source = _key(FormSubmission.utm["utm_source"].as_string())
    return (
        select(
            FormSubmission.contact_id,
            FormSubmission.submitted_at,
            literal("form"),
            FormSubmission.id,
            func.coalesce(utm_source, literal("form:") + func.lower(Form.slug)),
            _key(FormSubmission.utm["utm_campaign"].as_string()),
            _no_id(),
            _no_id(),
        )
        .join(Form, Form.id == FormSubmission.form_id)
        .where(
            FormSubmission.workspace_id == workspace_id,
            FormSubmission.submitted_at < moment,
            *_only(FormSubmission.contact_id, contact_ids),
        )
    )


def _emails(workspace_id: int, moment: Any, contact_ids: Any | None) -> Select[*tuple[Any, ...]]:
    campaign = func.coalesce(
        Event.properties["sequence"].as_string(), Event.properties["broadcast"].as_string()
    )
    return select(
        Event.contact_id,
        Event.occurred_at,
        literal("email"),
        Event.id,
        literal("email"),
        _key(campaign),
        _no_id(),
        _no_id(),
    ).where(
        Event.workspace_id == workspace_id,
        Event.type.in_(EMAIL_EVENTS),
        Event.contact_id.is_not(None),
        Event.occurred_at < moment,
        *_only(by_type(Event.contact_id), contact_ids),
    )


def _manual(workspace_id: int, moment: Any, contact_ids: Any | None) -> Select[*tuple[Any, ...]]:
    return select(
        ManualTouch.contact_id,
        ManualTouch.occurred_at,
        literal("manual"),
        ManualTouch.id,
        _no_text(),
        _no_text(),
        ManualTouch.channel_id,
        ManualTouch.campaign_id,
    ).where(
        ManualTouch.workspace_id == workspace_id,
        ManualTouch.occurred_at < moment,
        *_only(ManualTouch.contact_id, contact_ids),
    )


def _raw(workspace_id: int, now: datetime, contact_ids: Any | None) -> Subquery:
    """The four kinds of touches before ``now`` as one union, not yet mapped to channels."""
    moment = literal(now, UTCDateTime())
    kinds = (_created, _forms, _emails, _manual)
    return union_all(*(kind(workspace_id, moment, contact_ids) for kind in kinds)).subquery("raw_touches")


def touches(workspace_id: int, now: datetime, *, contact_ids: Any | None = None) -> Subquery:
    """Every touch of the workspace's contacts before ``now``: ``contact_id``, ``occurred_at``,
    ``kind``, ``touch_id`` (the row it came from), ``source_key``, ``campaign_key``, ``channel_id``
    and ``campaign_id`` (NULL when the key maps to none).

    ``contact_ids`` (a select of ids) restricts every branch to those contacts, so a report reads
    the touches of its leads only, through the per-contact indexes."""
    raw = _raw(workspace_id, now, contact_ids)
    source = ChannelSource.__table__.alias("touch_source")
    campaign = Campaign.__table__.alias("touch_campaign")
    channel_id = func.coalesce(raw.c.channel_id, source.c.channel_id)
    return (
        select(
            raw.c.contact_id,
            raw.c.occurred_at,
            raw.c.kind,
            raw.c.touch_id,
            raw.c.source_key,
            raw.c.campaign_key,
            channel_id.label("channel_id"),
            func.coalesce(raw.c.campaign_id, campaign.c.id).label("campaign_id"),
        )
        .select_from(raw)
        .outerjoin(
            source,
            and_(
                source.c.workspace_id == workspace_id,
                raw.c.channel_id.is_(None),
                source.c.key == raw.c.source_key,
            ),
        )
        .outerjoin(
            campaign,
            and_(
                raw.c.campaign_id.is_(None),
                campaign.c.channel_id == source.c.channel_id,
                campaign.c.key == raw.c.campaign_key,
            ),
        )
        .subquery("touches")
    )
