"""Hot contacts: people who just wrote back. The call queue shows them first, with why
("Replied to "Pricing for Q1" 2 hours ago"), until the next call logged for them clears it.

The reason is stored without its age (``Engagement.hot_why``); the age is said when the queue is
read, from ``Engagement.hot_at``, so it stays true however long the contact waits.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement
from leadwell.scoring.rows import engagement_of

# A reply older than this (read late, e.g. a mailbox connected for the first time) is stored and
# stops sequences, but no longer makes its writer hot: the moment to call has passed.
HOT_WINDOW = timedelta(days=7)
SUBJECT_CHARS = 80
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|vs|antw|réf|fw|fwd|tr|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.I)


def subject_words(subject: str) -> str:
    """A subject as a reason quotes it: reply prefixes ("Re:", "AW:") dropped, shortened."""
    bare = REPLY_PREFIX.sub("", " ".join(subject.split()))
    return bare if len(bare) <= SUBJECT_CHARS else bare[: SUBJECT_CHARS - 1].rstrip() + "…"


def reply_reason(subject: str | None) -> str:
    """'Replied to "Pricing for Q1"', or 'Wrote to us' when there is no subject."""
    words = subject_words(subject or "")
    return f'Replied to "{words}"' if words else "Wrote to us"


def mark_hot(session: Session, contact: Contact, at: datetime, why: str, now: datetime) -> bool:
    """Put ``contact`` at the top of the call queue for what happened ``at``; False when it is too
    old to matter or a newer reason is already there."""
    if now - at > HOT_WINDOW:
        return False
    engagement = engagement_of(session, contact.workspace_id, contact.id, contact.stage)
    if engagement.hot_at is not None and engagement.hot_at > at:
        return False
    engagement.hot_at, engagement.hot_why = at, why
    session.flush()
    return True


def clear_hot(engagement: Engagement) -> None:
    """A call was logged: the contact's reply has been answered."""
    engagement.hot_at = None
    engagement.hot_why = None


def ago_words(moment: datetime, now: datetime) -> str:
    """ "just now", "5 minutes ago", "2 hours ago", "yesterday", "3 days ago"."""
    seconds = max((now - moment).total_seconds(), 0.0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if seconds < 24 * 3600:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = int(seconds // (24 * 3600))
    return "yesterday" if days == 1 else f"{days} days ago"


def hot_words(why: str, hot_at: datetime, now: datetime) -> str:
    """The queue's first why-now line for a hot contact: 'Replied to "Pricing" 2 hours ago'."""
    return f"{why} {ago_words(hot_at, now)}"
