"""Slugs of sequences and segments: lowercase words joined by '-', at most 64 characters."""

from __future__ import annotations

import re

from leadwell.capture.values import slug_from
from leadwell.errors import InvalidInput

MAX_SLUG = 64
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
# Paths of the editors themselves (/outreach/sequences/new): nothing may be called that.
RESERVED = frozenset({"new", "preview", "count"})


def checked_slug(value: str | None, made_from: str, field: str = "slug") -> str:
    """``value`` checked as a slug, or one made from ``made_from`` when ``value`` is blank."""
    slug = (value or "").strip().lower()
    if not slug:
        made = slug_from(made_from)[:MAX_SLUG].strip("-") or "untitled"
        return f"{made[: MAX_SLUG - 2]}-1" if made in RESERVED else made
    if slug in RESERVED:
        raise InvalidInput(f"{field}: {slug!r} is reserved; choose another", field=field)
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            f"{field}: lowercase letters, digits and '-' only (at most {MAX_SLUG}, not starting or "
            "ending with '-')",
            field=field,
        )
    return slug
