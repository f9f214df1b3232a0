"""Cleaning the values the Capture section is given: slugs, names, host names, origins, URLs.

Every function returns the cleaned value or raises :class:`InvalidInput` naming the field, so the
web editors, the CLI and the tests refuse the same things with the same words.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from leadwell.errors import InvalidInput

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_SLUG = 80
# Paths of the editors themselves (/capture/forms/new): nothing may be called that.
RESERVED_SLUGS = frozenset({"new"})


def slug_from(text: str) -> str:
    """A slug made from a title: lowercase ASCII words joined by '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:MAX_SLUG].strip("-")
    return slug or "untitled"


def clean_slug(value: str | None, fallback_from: str, field: str = "slug") -> str:
    """``value`` checked as a slug, or one made from ``fallback_from`` when ``value`` is blank."""
    slug = (value or "").strip().lower()
    if not slug:
        made = slug_from(fallback_from)
        return f"{made}-1" if made in RESERVED_SLUGS else made
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"{field}: {slug!r} is reserved; choose another", field=field)
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            f"{field}: lowercase letters, digits and '-' only (at most {MAX_SLUG}, not starting or "
            "ending with '-')",
            field=field,
        )
    return slug


def clean_text(value: str | None, field: str, max_length: int, required: bool = False) -> str:
    """Trimmed text of at most ``max_length`` characters, without NUL; required means not blank."""
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise InvalidInput(f"{field}: must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field}: at most {max_length} characters (got {len(text)})", field=field)
    return text


def clean_int(value: str | int | None, field: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number between ``low`` and ``high``; blank gives ``default`` when there is one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise InvalidInput(f"{field}: a whole number is needed", field=field)
        return default
    try:
        number = int(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise InvalidInput(f"{field}: {str(value)[:20]!r} is not a whole number", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field}: between {low} and {high} (got {number})", field=field)
    return number


def clean_host(value: str, field: str) -> str:
    """A host name, lowercased, without a trailing dot; international names in their ASCII form.

    A scheme, path or port pasted along with it is dropped (``https://Example.com/x`` → ``example.com``).
    """
    text = value.strip()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/")[0].split(":")[0].rstrip(".").lower()
    try:
        host = text.encode("idna").decode("ascii") if text else ""
    except UnicodeError:
        host = ""
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise InvalidInput(f"{field}: {value[:80]!r} is not a host name (like www.example.com)", field=field)
    if len(labels) == 1 and host != "localhost":
        raise InvalidInput(f"{field}: {value[:80]!r} is not a full host name (like example.com)", field=field)
    return host


def clean_origin(value: str, field: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lowercased, default port dropped."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{field}: {value[:80]!r} has a bad port", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{field}: {value[:80]!r} is not an origin: write scheme://host[:port], like https://example.com",
            field=field,
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(
            f"{field}: {value[:80]!r} must be only scheme://host[:port], with no path, query or user",
            field=field,
        )
    host = clean_host(parts.hostname, field)
    default = 443 if parts.scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}"


def clean_web_url(value: str | None, field: str, required: bool = False) -> str | None:
    """An absolute http(s) URL of at most 2,000 characters, or None when blank and optional."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field}: must not be empty", field=field)
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 2000:
        raise InvalidInput(f"{field}: {text[:80]!r} is not an http(s) URL", field=field)
    if any(char.isspace() for char in text):
        raise InvalidInput(f"{field}: a URL has no spaces", field=field)
    return text


def split_lines(text: str | None) -> list[str]:
    """Non-blank entries of a textarea or a comma-separated list."""
    return [part.strip() for part in re.split(r"[\n,]", text or "") if part.strip()]
