"""Reading and checking what the public tracking endpoints are sent: tokens' payloads and beacon bodies.

Everything here is untrusted: each check names the field at fault, and anything not described is
refused rather than ignored, so a stored hit always has the shape the worker expects.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request

from leadwell.capture.tokens import BadToken, TokenSigner

MAX_BEACON_BYTES: Final = 8 * 1024
MAX_PAGES_LISTED: Final = 5000
MAX_PAGES_TOTAL: Final = 10_000
MAX_SECONDS: Final = 86_400
MAX_SEQ: Final = 1_000_000
MAX_MESSAGE_KEY: Final = 120
MAX_URL: Final = 2000
MAX_TITLE: Final = 300
BEACON_TYPES: Final = ("text/plain", "application/json")
_SESSION = re.compile(r"[A-Za-z0-9_-]{8,32}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BeaconError(ValueError):
    """A refused request: ``field`` is what is wrong, ``status`` the HTTP answer (400, 413 or 415)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def web_url(value: Any, field: str = "u") -> str:
    """``value`` if it is an absolute http(s) URL with a host, at most 2000 characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise BeaconError(field, f"an http(s) URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise BeaconError(field, "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BeaconError(field, "must be an absolute http:// or https:// URL")
    if any(ord(char) < 33 or char == "\x7f" for char in value):
        raise BeaconError(field, "must not contain spaces or control characters")
    return value


def _ids(payload: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if not _is_int(payload.get(name)) or payload[name] < 1:
            raise BadToken("token: not a valid link")


def open_payload(signer: TokenSigner, token: str) -> dict[str, Any]:
    """The checked contents of an open-pixel token: ``w``, ``c`` and the message key ``m``."""
    return open_payload_fields(signer.verify("open", token))


def click_payload(signer: TokenSigner, token: str) -> dict[str, Any]:
    """The checked contents of a click token: an open token's fields plus the target URL ``u``."""
    payload = signer.verify("click", token)
    checked = open_payload_fields(payload)
    try:
        checked["u"] = web_url(payload.get("u"))
    except BeaconError:
        raise BadToken("token: not a valid link") from None
    return checked


def open_payload_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """``w``, ``c`` and ``m`` of a verified payload, checked."""
    _ids(payload, ("w", "c"))
    message = payload.get("m")
    if not isinstance(message, str) or not 1 <= len(message) <= MAX_MESSAGE_KEY:
        raise BadToken("token: not a valid link")
    return {"w": payload["w"], "c": payload["c"], "m": message}


def deliver_payload(signer: TokenSigner, token: str) -> dict[str, Any]:
    """``w``, ``c`` and ``a`` of a delivery token. Delivery links never expire: a reader may come
    back to a paper months later."""
    payload = signer.verify("deliver", token)
    _ids(payload, ("w", "c", "a"))
    return {"w": payload["w"], "c": payload["c"], "a": payload["a"]}


async def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, at most 8 KiB, sent as text/plain (sendBeacon) or application/json."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in BEACON_TYPES:
        raise BeaconError("content-type", "send text/plain or application/json", 415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BEACON_BYTES:
        raise BeaconError("body", f"at most {MAX_BEACON_BYTES} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BEACON_BYTES:
            raise BeaconError("body", f"at most {MAX_BEACON_BYTES} bytes", 413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BeaconError("body", "not valid JSON") from None
    if not isinstance(data, dict):
        raise BeaconError("body", "must be a JSON object")
    return data


def _only(data: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    for name in data:
        if name not in allowed:
            raise BeaconError(str(name)[:40], "unknown field")
    for name in required:
        if name not in data:
            raise BeaconError(name, "required")


def _bounded(data: dict[str, Any], name: str, low: float, high: float, whole: bool = True) -> Any:
    value = data[name]
    if not (_is_int(value) if whole else _is_number(value)):
        raise BeaconError(name, "must be a whole number" if whole else "must be a number")
    if not low <= value <= high:
        raise BeaconError(name, f"must be between {low:g} and {high:g}")
    return value


def _session_fields(data: dict[str, Any]) -> dict[str, Any]:
    session = data["s"]
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise BeaconError("s", "8 to 32 letters, digits, '-' or '_'")
    return {"s": session, "seq": _bounded(data, "seq", 0, MAX_SEQ)}


def read_progress(data: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a read beacon: ``pages`` (distinct, sorted), ``of``, ``active``, ``s``
    and ``seq``."""
    _only(data, ("pages", "of", "active", "s", "seq"), ("pages", "of", "active", "s", "seq"))
    total = _bounded(data, "of", 1, MAX_PAGES_TOTAL)
    pages = data["pages"]
    if not isinstance(pages, list) or len(pages) > MAX_PAGES_LISTED:
        raise BeaconError("pages", f"a list of at most {MAX_PAGES_LISTED} page numbers")
    for index, page in enumerate(pages):
        if not _is_int(page) or not 1 <= page <= total:
            raise BeaconError(f"pages[{index}]", f"a page number between 1 and of ({total})")
    active = _bounded(data, "active", 0, MAX_SECONDS, whole=False)
    return {"pages": sorted(set(pages)), "of": total, "active": round(active), **_session_fields(data)}


def video_progress(data: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a video beacon: ``percent``, ``seconds``, ``s``, ``seq``."""
    _only(data, ("percent", "seconds", "s", "seq"), ("percent", "seconds", "s", "seq"))
    percent = _bounded(data, "percent", 0, 100, whole=False)
    seconds = _bounded(data, "seconds", 0, MAX_SECONDS, whole=False)
    return {"percent": percent, "seconds": round(seconds), **_session_fields(data)}


def page_view(data: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a page view (``k``, ``v``, ``u``, ``t``, ``r``); the site and visitor keys
    are only checked for shape here."""
    _only(data, ("k", "v", "u", "t", "r"), ("k", "v", "u"))
    for name in ("k", "v"):
        if not isinstance(data[name], str) or not 1 <= len(data[name]) <= 40:
            raise BeaconError(name, "a key of 1 to 40 characters")
    title = data.get("t")
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        raise BeaconError("t", f"text of at most {MAX_TITLE} characters")
    if title is not None and _CONTROL.search(title):
        # PostgreSQL cannot store NUL in text or JSON; one such hit would fail its whole group commit.
        raise BeaconError("t", "must not contain control characters")
    referrer = data.get("r") or None
    if referrer is not None:
        referrer = web_url(referrer, "r")
    return {"k": data["k"], "v": data["v"], "u": web_url(data["u"]), "t": title or None, "r": referrer}


def host_allowed(host: str | None, domains: list[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (case-insensitive)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    for domain in domains:
        domain = domain.lower().strip().rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def origin_host(origin: str | None) -> str | None:
    """The host of an ``Origin`` header (``https://www.example.com:8443`` → ``www.example.com``)."""
    if not origin or origin == "null":
        return None
    try:
        parts = urlsplit(origin)
        return parts.hostname if parts.scheme in ("http", "https") else None
    except ValueError:
        return None
