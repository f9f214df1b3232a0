"""The avatar: a portrait of the ideal client, stored with the profile for audience exports.

Grading does not read it. It is kept as a plain JSON object in the profile's definition (only the
keys given), checked here for types and spelling so the audience export can trust its shape.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from leadwell.contacts.fields import COUNTRY_CODES
from leadwell.inputs import Input

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phrases = Annotated[list[Phrase], Field(max_length=100)]
_SIZE = re.compile(r"^(\d{1,8})\s*(?:[-–]\s*(\d{1,8})|(\+))$")
_CITY = re.compile(r"^(?P<city>[^,]{1,120}),\s*(?P<country>[A-Za-z]{2})$")


def _size(text: str) -> str:
    """ "100-250" or "500+": a company size band, tidied to "100-250"."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text[:40]!r} is not a size band like '100-250' or '500+'")
    low, high = int(match.group(1)), match.group(2)
    if high is None:
        return f"{low}+"
    if low > int(high):
        raise ValueError(f"{text[:40]!r} goes from high to low")
    return f"{low}-{int(high)}"


def _location(text: str) -> str:
    """An ISO country code ("DE") or "City, CC" ("Berlin, DE"), with the code in capitals."""
    if len(text) == 2 and text.upper() in COUNTRY_CODES:
        return text.upper()
    match = _CITY.match(text)
    if match is None or match.group("country").upper() not in COUNTRY_CODES:
        raise ValueError(f"{text[:40]!r} is not a country code (DE) or 'City, CC' (Berlin, DE)")
    return f"{match.group('city').strip()}, {match.group('country').upper()}"


SizeBand = Annotated[Phrase, AfterValidator(_size)]
Location = Annotated[Phrase, AfterValidator(_location)]
AVATAR_KEYS = (
    "roles",
    "titles",
    "industries",
    "company_sizes",
    "locations",
    "age_min",
    "age_max",
    "interests",
    "pains",
    "goals",
    "objections",
    "channels",
)


class Avatar(Input):
    """The ``[avatar]`` table: who the ideal client is, where they are and what moves them.

    Strict: a number where text belongs (or text where a number belongs) is refused, not converted."""

    model_config = ConfigDict(strict=True)

    roles: Phrases | None = None
    titles: Phrases | None = None
    industries: Phrases | None = None
    company_sizes: Annotated[list[SizeBand], Field(max_length=50)] | None = None
    locations: Annotated[list[Location], Field(max_length=200)] | None = None
    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    interests: Phrases | None = None
    pains: Phrases | None = None
    goals: Phrases | None = None
    objections: Phrases | None = None
    channels: Phrases | None = Field(default=None, description="Where they spend their time.")

    def document(self) -> dict[str, Any]:
        """The JSON object stored in the definition: only the keys that were given, with ``titles``
        (another name for ``roles``) folded into ``roles``."""
        document = self.model_dump(mode="json", exclude_none=True)
        if "titles" in document:
            document["roles"] = list(dict.fromkeys([*document.get("roles", []), *document.pop("titles")]))
        return document
