"""Defences of the public forms against bots and forgeries.

A rendered form carries a signed *render token* (which form, when it was shown, a random nonce): a
post without a genuine one was not made from a page leadwell served, one older than a day is stale,
and one younger than the form's minimum fill time came from a machine. A honeypot field, hidden from
people, catches bots that fill every input. The Origin header (or the Referer when a browser sends no
Origin) must be leadwell itself or one of the form's allowed origins. Rate limits cap the posts per
client address per hour and per form per minute; they are kept in memory, so each web process counts
on its own (with N processes a client may post N times the limit).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from leadwell.capture.tokens import BadToken, ExpiredToken, TokenSigner

TOKEN_MAX_AGE = 24 * 3600
# Named to tempt form-filling bots; hidden from people (and from screen readers).
HONEYPOT_FIELD = "lw_website"
TOKEN_FIELD = "lw_token"


class Refused(Exception):
    """A post refused before anything is stored: the status, the field at fault and why."""

    def __init__(self, status: int, field: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class RenderToken:
    """What a genuine render token says: the form, the landing page it was shown on (if any),
    whether it was shown in an embedding frame, when it was issued and its nonce."""

    form_id: int
    page_id: int | None
    framed: bool
    issued_at: float
    nonce: str


def issue_render_token(
    signer: TokenSigner, form_id: int, page_id: int | None, framed: bool, now: float | None = None
) -> str:
    """A token for one rendering of a form."""
    issued = time.time() if now is None else now
    # Rounded down: a token must never look younger than it is (a 0 s minimum would refuse it).
    payload = {"f": form_id, "p": page_id or 0, "e": int(framed), "t": math.floor(issued * 1000) / 1000}
    return signer.sign("form", {**payload, "n": secrets.token_urlsafe(16)})


def read_render_token(signer: TokenSigner, token: str, form_id: int) -> RenderToken:
    """The token's contents when genuine, fresh and made for ``form_id``; else :class:`Refused`."""
    try:
        payload = signer.verify("form", token, max_age=TOKEN_MAX_AGE)
    except ExpiredToken:
        raise Refused(400, TOKEN_FIELD, "this form expired: reload the page and send it again") from None
    except BadToken:
        raise Refused(400, TOKEN_FIELD, "this form was altered or not made here: reload the page") from None
    form, page, framed = payload.get("f"), payload.get("p"), payload.get("e")
    issued, nonce = payload.get("t"), payload.get("n")
    if (
        form != form_id
        or not isinstance(page, int)
        or framed not in (0, 1)
        or not isinstance(issued, int | float)
        or not isinstance(nonce, str)
        or not 8 <= len(nonce) <= 64
    ):
        raise Refused(400, TOKEN_FIELD, "this form was altered or not made here: reload the page")
    return RenderToken(form, page or None, bool(framed), float(issued), nonce)


def check_fill_time(token: RenderToken, min_seconds: int, now: float | None = None) -> None:
    """Refuse a form sent back sooner than a person could have filled it."""
    elapsed = (time.time() if now is None else now) - token.issued_at
    if elapsed < min_seconds:
        raise Refused(
            400, TOKEN_FIELD, "sent too quickly after the page opened: wait a moment and send again"
        )


def check_honeypot(value: str | None) -> None:
    """Refuse a post whose hidden trap field was filled (people never see it)."""
    if value:
        raise Refused(400, HONEYPOT_FIELD, "this field must stay empty")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, lowercased, without its default port;
    None when there is none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def check_origin(origin: str | None, referer: str | None, own: str, allowed: Iterable[str]) -> None:
    """Refuse a post that came from a page neither leadwell's nor one of the form's allowed origins.

    Browsers send Origin with every form post; without it the Referer's origin is used, and a post
    with neither cannot show where it came from, so it is refused too.
    """
    if origin is not None:
        claimed, field = origin_of(origin), "Origin"
    elif referer:
        claimed, field = origin_of(referer), "Referer"
    else:
        raise Refused(403, "Origin", "missing: posts must come from a page of an allowed site")
    welcome = {origin_of(own), *(origin_of(item) for item in allowed)} - {None}
    if claimed is None or claimed not in welcome:
        raise Refused(403, field, "this site may not post this form (add it to the form's allowed origins)")


class WindowLimiter:
    """Sliding-window counters whose limit and window are given with each check (forms differ)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, rules: Iterable[tuple[str, int, float]], now: float | None = None) -> int | None:
        """Count one hit against every ``(key, limit, window seconds)``, all or none.

        Returns None when every rule allowed it, else the seconds to wait before the fullest
        rule allows another (nothing is counted then).
        """
        now = time.monotonic() if now is None else now
        wanted = list(rules)
        with self._lock:
            waits = [self._wait(key, limit, window, now) for key, limit, window in wanted]
            blocked = [wait for wait in waits if wait is not None]
            if blocked:
                return max(blocked)
            for key, _limit, _window in wanted:
                self._hits.setdefault(key, deque()).append(now)
            if len(self._hits) > self.max_keys:
                self._forget_idle(now, max(window for _key, _limit, window in wanted))
        return None

    def _wait(self, key: str, limit: int, window: float, now: float) -> int | None:
        hits = self._hits.get(key)
        if hits is None:
            return None if limit > 0 else math.ceil(window)
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < limit:
            return None
        if not hits:
            return math.ceil(window)
        return max(1, math.ceil(hits[len(hits) - limit] + window - now))

    def _forget_idle(self, now: float, window: float) -> None:
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - window]
        for key in idle:
            del self._hits[key]


def check_rate(limiter: WindowLimiter, form_id: int, ip: str, per_ip_per_hour: int, per_minute: int) -> None:
    """Refuse with 429 when the client or the whole form is over its limit."""
    wait = limiter.take(
        [(f"ip:{form_id}:{ip}", per_ip_per_hour, 3600.0), (f"form:{form_id}", per_minute, 60.0)]
    )
    if wait is not None:
        raise Refused(429, "rate", "too many submissions: try again later", retry_after=wait)
