"""Names of channels and campaigns, for labelling report rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Campaign, Channel

NO_TOUCH = "No touch recorded"


def channel_names(session: Session, workspace_id: int) -> dict[int, str]:
    """Channel id → name, for every channel of the workspace."""
    rows = session.execute(select(Channel.id, Channel.name).where(Channel.workspace_id == workspace_id))
    return {channel_id: name for channel_id, name in rows}


def campaign_names(session: Session, workspace_id: int) -> dict[int, tuple[int, str]]:
    """Campaign id → (its channel's id, its name), for every campaign of the workspace."""
    rows = session.execute(
        select(Campaign.id, Campaign.channel_id, Campaign.name).where(Campaign.workspace_id == workspace_id)
    )
    return {campaign_id: (channel_id, name) for campaign_id, channel_id, name in rows}


def channel_label(names: dict[int, str], channel_id: int | None, source_key: str | None) -> str:
    """A row's channel as people read it: its name, "Unmapped: <key>" for a key no channel claims,
    or "No touch recorded"."""
    if channel_id is not None:
        return names.get(channel_id, f"Channel {channel_id}")
    return f"Unmapped: {source_key}" if source_key else NO_TOUCH
