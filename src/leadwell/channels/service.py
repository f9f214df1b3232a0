"""Channels, their source keys and campaigns; unmapped sources; people tagged by hand; typed-in spend.

Every function takes the workspace id and touches that workspace's rows only. Refusals are
:class:`~leadwell.errors.InvalidInput` naming the field (and, for a key mapped elsewhere, the
channel that has it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import String, cast, delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from leadwell.channels.values import normalize_key, parse_currency
from leadwell.db.models import (
    CHANNEL_KINDS,
    Campaign,
    Channel,
    ChannelSource,
    Contact,
    Form,
    FormSubmission,
    ManualTouch,
    Spend,
)
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound

NAME_MAX = 120
KEY_MAX = 200


@dataclass
class ChannelView:
    """A channel as the pages and the CLI list it."""

    id: int
    name: str
    kind: str
    keys: list[str] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)


@dataclass(frozen=True)
class UnmappedSource:
    key: str
    contacts: int


def _clean_name(name: str, field_name: str = "name", limit: int = NAME_MAX) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput(f"{field_name}: give a name", field_name)
    if len(cleaned) > limit:
        raise InvalidInput(f"{field_name}: at most {limit} characters", field_name)
    return cleaned


def _check_kind(kind: str) -> str:
    if kind not in CHANNEL_KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(CHANNEL_KINDS)}", "kind")
    return kind


def get_channel(session: Session, workspace_id: int, channel_id: int) -> Channel:
    """The channel, or NotFound."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.workspace_id != workspace_id:
        raise NotFound("No such channel in this workspace.", "channel")
    return channel


def find_channel(session: Session, workspace_id: int, name: str) -> Channel | None:
    """The channel named ``name`` (case and extra spaces ignored), if any."""
    wanted = " ".join(name.split()).lower()
    return session.scalars(
        select(Channel).where(Channel.workspace_id == workspace_id, func.lower(Channel.name) == wanted)
    ).first()


def channel_named(session: Session, workspace_id: int, name: str, field_name: str = "channel") -> Channel:
    """The channel named ``name``, or InvalidInput naming ``field_name``."""
    channel = find_channel(session, workspace_id, name)
    if channel is None:
        raise InvalidInput(f"{field_name}: no channel named {name.strip()!r}", field_name)
    return channel


def create_channel(
    session: Session, workspace_id: int, name: str, kind: str = "other", keys: tuple[str, ...] = ()
) -> Channel:
    """A new channel (name unique in the workspace, case ignored) with optional source keys."""
    cleaned = _clean_name(name)
    _check_kind(kind)
    if find_channel(session, workspace_id, cleaned) is not None:
        raise InvalidInput(f"name: a channel named {cleaned!r} exists already", "name")
    channel = Channel(workspace_id=workspace_id, name=cleaned, kind=kind)
    session.add(channel)
    session.flush()
    for key in keys:
        add_source(session, workspace_id, channel.id, key)
    return channel


def rename_channel(
    session: Session, workspace_id: int, channel_id: int, name: str, kind: str | None = None
) -> Channel:
    """Give the channel a new name (and kind)."""
    channel = get_channel(session, workspace_id, channel_id)
    cleaned = _clean_name(name)
    other = find_channel(session, workspace_id, cleaned)
    if other is not None and other.id != channel.id:
        raise InvalidInput(f"name: a channel named {cleaned!r} exists already", "name")
    channel.name = cleaned
    if kind is not None:
        channel.kind = _check_kind(kind)
    session.flush()
    return channel


def delete_channel(session: Session, workspace_id: int, channel_id: int) -> None:
    """Delete the channel with its keys, campaigns, spend and manual touches."""
    session.delete(get_channel(session, workspace_id, channel_id))
    session.flush()


def add_source(session: Session, workspace_id: int, channel_id: int, key: str) -> ChannelSource:
    """Map source key ``key`` to the channel. A key maps to one channel only: mapping it again to
    the same channel changes nothing; to another one is refused, naming the channel that has it."""
    channel = get_channel(session, workspace_id, channel_id)
    cleaned = normalize_key(key)
    if not cleaned:
        raise InvalidInput("key: give a source key (like fb or newsletter)", "key")
    if len(cleaned) > KEY_MAX:
        raise InvalidInput(f"key: at most {KEY_MAX} characters", "key")
    found = session.execute(
        select(ChannelSource, Channel.name)
        .join(Channel, Channel.id == ChannelSource.channel_id)
        .where(ChannelSource.workspace_id == workspace_id, ChannelSource.key == cleaned)
    ).first()
    if found is not None:
        source, owner = found
        if source.channel_id == channel.id:
            return source
        raise InvalidInput(f"key: source key {cleaned!r} already maps to channel {owner!r}", "key")
    source = ChannelSource(workspace_id=workspace_id, channel_id=channel.id, key=cleaned)
    session.add(source)
    session.flush()
    return source


def remove_source(session: Session, workspace_id: int, key: str) -> None:
    """Unmap source key ``key`` (NotFound when no channel has it)."""
    removed = session.execute(
        delete(ChannelSource).where(
            ChannelSource.workspace_id == workspace_id, ChannelSource.key == normalize_key(key)
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"key: no channel has source key {normalize_key(key)!r}", "key")


def list_channels(session: Session, workspace_id: int) -> list[ChannelView]:
    """Every channel by name, with its source keys and campaigns."""
    views = {
        channel.id: ChannelView(channel.id, channel.name, channel.kind)
        for channel in session.scalars(
            select(Channel).where(Channel.workspace_id == workspace_id).order_by(func.lower(Channel.name))
        )
    }
    keys = session.execute(
        select(ChannelSource.channel_id, ChannelSource.key)
        .where(ChannelSource.workspace_id == workspace_id)
        .order_by(ChannelSource.key)
    )
    for channel_id, key in keys:
        views[channel_id].keys.append(key)
    campaigns = session.scalars(
        select(Campaign).where(Campaign.workspace_id == workspace_id).order_by(func.lower(Campaign.name))
    )
    for campaign in campaigns:
        views[campaign.channel_id].campaigns.append(campaign)
    return list(views.values())


def find_campaign(session: Session, workspace_id: int, channel_id: int, name_or_key: str) -> Campaign | None:
    """The channel's campaign whose key is ``name_or_key`` lower-cased, if any."""
    return session.scalars(
        select(Campaign).where(
            Campaign.workspace_id == workspace_id,
            Campaign.channel_id == channel_id,
            Campaign.key == normalize_key(name_or_key),
        )
    ).first()


def create_campaign(
    session: Session, workspace_id: int, channel_id: int, name: str, key: str | None = None
) -> Campaign:
    """A campaign of the channel; its key (what arrives as ``utm_campaign``) defaults to the
    lower-cased name. Refused when the channel has that key already."""
    get_channel(session, workspace_id, channel_id)
    cleaned = _clean_name(name, "campaign", 200)
    campaign_key = normalize_key(key or cleaned)
    if not campaign_key or len(campaign_key) > KEY_MAX:
        raise InvalidInput(f"key: 1 to {KEY_MAX} characters", "key")
    if find_campaign(session, workspace_id, channel_id, campaign_key) is not None:
        raise InvalidInput(f"campaign: this channel has a campaign {campaign_key!r} already", "campaign")
    campaign = Campaign(workspace_id=workspace_id, channel_id=channel_id, name=cleaned, key=campaign_key)
    session.add(campaign)
    session.flush()
    return campaign


def campaign_for(session: Session, workspace_id: int, channel_id: int, name: str) -> Campaign:
    """The channel's campaign called ``name`` (by key), created when missing."""
    found = find_campaign(session, workspace_id, channel_id, name)
    return found or create_campaign(session, workspace_id, channel_id, name)


def unmapped_sources(session: Session, workspace_id: int, limit: int = 50) -> list[UnmappedSource]:
    """Source keys people arrived with that no channel maps, most contacts first: contacts'
    ``source`` and form submissions' ``utm_source`` (``form:<slug>`` when a submission had none)."""
    contact_key = func.lower(func.trim(Contact.source))
    from_contacts = select(contact_key.label("key"), Contact.id.label("contact_id")).where(
        Contact.workspace_id == workspace_id,
        Contact.merged_into_id.is_(None),
        Contact.source.is_not(None),
    )
    utm_source = func.nullif(func.lower(func.trim(FormSubmission.utm["utm_source"].as_string())), "")
    form_key = literal("form:", String) + cast(Form.slug, String)
    from_forms = (
        select(
            func.coalesce(utm_source, form_key).label("key"),
            FormSubmission.contact_id.label("contact_id"),
        )
        .join(Form, Form.id == FormSubmission.form_id)
        .where(FormSubmission.workspace_id == workspace_id)
    )
    seen = union_all(from_contacts, from_forms).subquery()
    mapped = select(ChannelSource.key).where(ChannelSource.workspace_id == workspace_id)
    contacts = func.count(func.distinct(seen.c.contact_id))
    rows = session.execute(
        select(seen.c.key, contacts)
        .where(seen.c.key.is_not(None), seen.c.key != "", seen.c.key.not_in(mapped))
        .group_by(seen.c.key)
        .order_by(contacts.desc(), seen.c.key)
        .limit(limit)
    )
    return [UnmappedSource(key, count) for key, count in rows]


def _check_campaign(session: Session, workspace_id: int, channel_id: int, campaign_id: int | None) -> None:
    if campaign_id is None:
        return
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.workspace_id != workspace_id or campaign.channel_id != channel_id:
        raise InvalidInput("campaign: not a campaign of that channel", "campaign")


def tag_contact(
    session: Session,
    workspace_id: int,
    contact_id: int,
    channel_id: int,
    campaign_id: int | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
    user_id: int | None = None,
) -> ManualTouch:
    """Record by hand that ``channel`` (and campaign) touched the person ("met at the Leeds seminar")."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.workspace_id != workspace_id:
        raise NotFound("No such contact in this workspace.", "contact")
    get_channel(session, workspace_id, channel_id)
    _check_campaign(session, workspace_id, channel_id, campaign_id)
    touch = ManualTouch(
        workspace_id=workspace_id,
        contact_id=contact_id,
        channel_id=channel_id,
        campaign_id=campaign_id,
        occurred_at=occurred_at or utcnow(),
        note=note.strip()[:2000],
        created_by_id=user_id,
    )
    session.add(touch)
    session.flush()
    return touch


@dataclass(frozen=True)
class SpendInput:
    """Typed-in spend as a person gives it (a speaking fee, an agency retainer)."""

    channel_id: int
    amount: Decimal
    currency: str
    spent_from: date
    spent_to: date | None = None
    campaign_id: int | None = None
    description: str = ""


def add_spend(session: Session, workspace_id: int, given: SpendInput, user_id: int | None = None) -> Spend:
    """Store typed-in spend: amount > 0, a 3-letter currency, from ≤ to (to defaults to from)."""
    get_channel(session, workspace_id, given.channel_id)
    if not given.amount.is_finite() or given.amount <= 0:
        raise InvalidInput("amount: must be more than 0", "amount")
    if given.amount >= Decimal("1e12"):
        raise InvalidInput("amount: too large", "amount")
    spent_to = given.spent_to or given.spent_from
    if spent_to < given.spent_from:
        raise InvalidInput("to: must not be before from", "to")
    _check_campaign(session, workspace_id, given.channel_id, given.campaign_id)
    spend = Spend(
        workspace_id=workspace_id,
        channel_id=given.channel_id,
        campaign_id=given.campaign_id,
        spent_from=given.spent_from,
        spent_to=spent_to,
        amount=given.amount.quantize(Decimal("0.01")),
        currency=parse_currency(given.currency),
        description=given.description.strip()[:2000],
        origin="manual",
        created_by_id=user_id,
    )
    session.add(spend)
    session.flush()
    return spend
