"""Tracking sites by their public key, cached for a short while.

Every page view names its site; reading the site's row for each one would cost a query per hit.
Sites change rarely (a domain added in the admin), so a minute's staleness is fine, and unknown
keys are remembered too so that a stream of made-up keys cannot turn into a stream of queries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from leadwell.db.models import TrackingSite
from leadwell.db.session import Database

TTL_SECONDS = 60.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class SiteInfo:
    """What the endpoints need of a tracking site."""

    id: int
    workspace_id: int
    key: str
    domains: tuple[str, ...]


class SiteCache:
    """Look up sites by key through a small time-limited cache."""

    def __init__(self, db: Database, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.db = db
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, SiteInfo | None]] = {}

    def cached(self, key: str, now: float | None = None) -> tuple[bool, SiteInfo | None]:
        """``(found_in_cache, site)``: a fresh cache entry, or ``(False, None)`` to look it up."""
        now = time.monotonic() if now is None else now
        entry = self._entries.get(key)
        if entry is None or now - entry[0] >= self.ttl:
            return False, None
        return True, entry[1]

    def load(self, key: str, now: float | None = None) -> SiteInfo | None:
        """Read the site from the database (blocking) and remember the answer."""
        with self.db.session() as session:
            row = session.scalar(select(TrackingSite).where(TrackingSite.key == key))
            site = (
                SiteInfo(row.id, row.workspace_id, row.key, tuple(str(d) for d in row.domains or ()))
                if row is not None
                else None
            )
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() if now is None else now, site)
        return site
