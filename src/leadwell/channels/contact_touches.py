"""Where one person came from: their touches (creation source, forms, email clicks and replies,
tags by hand) with the channel and campaign each means, as the reports count them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.reports.names import campaign_names, channel_label, channel_names
from leadwell.reports.touches import kind_rank, touches

KIND_LABELS = {"created": "Created", "form": "Form", "email": "Email", "manual": "Tagged by hand"}


@dataclass(frozen=True)
class TouchShown:
    occurred_at: datetime
    kind: str
    channel: str
    campaign: str | None
    source_key: str | None


def contact_touches(session: Session, workspace_id: int, contact_id: int, now: datetime) -> list[TouchShown]:
    """The contact's touches before ``now``, oldest first, each with its channel's name (or
    "Unmapped: <key>") and campaign."""
    touched = touches(workspace_id, now, contact_ids=[contact_id])
    rows = session.execute(
        select(
            touched.c.occurred_at,
            touched.c.kind,
            touched.c.channel_id,
            touched.c.campaign_id,
            touched.c.source_key,
        ).order_by(touched.c.occurred_at, kind_rank(touched.c.kind), touched.c.touch_id)
    ).all()
    if not rows:
        return []
    channels = channel_names(session, workspace_id)
    campaigns = campaign_names(session, workspace_id)
    return [
        TouchShown(
            occurred_at,
            KIND_LABELS.get(kind, kind),
            channel_label(channels, channel_id, source_key),
            campaigns[campaign_id][1] if campaign_id in campaigns else None,
            source_key,
        )
        for occurred_at, kind, channel_id, campaign_id, source_key in rows
    ]
