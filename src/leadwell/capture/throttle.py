"""A per-address limit for the public tracking endpoints, cheap enough to sit on every hit.

A fixed one-minute window per client address: one dictionary lookup and an addition per hit, no
lock (the endpoints run on the event loop's thread). At a window's edge a client may get up to twice
the limit in a short stretch; for a guard against floods that is close enough. Counts are per
process, like the log-in limit.
"""

from __future__ import annotations

import time

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 100_000


class PerAddressLimit:
    """At most ``limit`` hits per address in each one-minute window."""

    def __init__(
        self, limit: int, window: float = WINDOW_SECONDS, max_addresses: int = MAX_ADDRESSES
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._counts: dict[str, tuple[float, int]] = {}

    def allow(self, address: str, now: float | None = None) -> bool:
        """Count a hit from ``address``; False when it is over the limit for the current window."""
        now = time.monotonic() if now is None else now
        started, count = self._counts.get(address, (now, 0))
        if now - started >= self.window:
            started, count = now, 0
        if count >= self.limit:
            return False
        if len(self._counts) >= self.max_addresses and address not in self._counts:
            self._forget_stale(now)
        self._counts[address] = (started, count + 1)
        return True

    def _forget_stale(self, now: float) -> None:
        stale = [key for key, (started, _) in self._counts.items() if now - started >= self.window]
        for key in stale:
            del self._counts[key]
        if len(self._counts) >= self.max_addresses:
            # Every address is busy this minute: start counting afresh rather than grow without bound.
            self._counts.clear()
