"""The channels a workspace starts with, and the source keys that mean each of them.

``ensure_channels`` only adds what is missing. A default counts as present when a channel has its
name, or when one of its source keys is mapped already (the user renamed "Facebook" to "Meta ads":
no second Facebook appears), or — for a default without keys — when a channel of its kind exists.
It never renames, deletes or remaps anything, so the user's choices always win."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Channel, ChannelSource


class DefaultChannel(NamedTuple):
    name: str
    kind: str
    keys: tuple[str, ...]


DEFAULT_CHANNELS: tuple[DefaultChannel, ...] = (
    DefaultChannel("Facebook", "paid_social", ("facebook", "fb", "meta", "facebook.com", "m.facebook.com")),
    DefaultChannel("Instagram", "paid_social", ("instagram", "ig")),
    DefaultChannel("LinkedIn", "paid_social", ("linkedin", "linkedin.com", "lnkd.in")),
    DefaultChannel("Google", "paid_search", ("google", "adwords", "googleads", "cpc")),
    DefaultChannel("Email outreach", "email", ("email", "newsletter", "outreach")),
    DefaultChannel("Events & speaking", "events", ()),
    DefaultChannel("Referrals", "referral", ("referral",)),
    DefaultChannel("Affiliates", "affiliate", ("affiliate",)),
    DefaultChannel("Organic search", "organic", ("organic", "seo")),
    DefaultChannel("Direct", "direct", ("direct",)),
)


def _present(default: DefaultChannel, names: set[str], kinds: set[str], mapped: set[str]) -> bool:
    if default.name in names:
        return True
    if default.keys:
        return any(key in mapped for key in default.keys)
    return default.kind in kinds


def ensure_channels(session: Session, workspace_id: int) -> int:
    """Create the default channels (with their source keys) that the workspace lacks; how many were
    created. Safe to call on every use: the second call creates nothing."""
    rows = session.execute(
        select(Channel.name, Channel.kind).where(Channel.workspace_id == workspace_id)
    ).all()
    names = {name for name, _ in rows}
    kinds = {kind for _, kind in rows}
    mapped = set(session.scalars(select(ChannelSource.key).where(ChannelSource.workspace_id == workspace_id)))
    created = 0
    for default in DEFAULT_CHANNELS:
        if _present(default, names, kinds, mapped):
            continue
        channel = Channel(workspace_id=workspace_id, name=default.name, kind=default.kind)
        session.add(channel)
        session.flush()
        for key in default.keys:
            session.add(ChannelSource(workspace_id=workspace_id, channel_id=channel.id, key=key))
            mapped.add(key)
        names.add(default.name)
        kinds.add(default.kind)
        created += 1
    session.flush()
    return created
