"""Which column of a file feeds which contact field.

Headers are compared after normalisation (case, accents, spaces and punctuation ignored), so
"E-mail Address", "email_address" and "EMAIL ADDRESS" are one header. Known exports (Google, Outlook,
HubSpot, Mautic, LinkedIn, Zoom) are recognised by their tell-tale columns, which settles the few
headers they use differently ("Title" is a salutation in Outlook and Mautic, "URL" a LinkedIn
profile). A column that maps to nothing becomes a custom field: nothing in a file is dropped unless
the user says ``--map "Column=ignore"``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from leadwell.errors import InvalidInput

TARGETS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "email": "Email",
    "email_2": "Second email",
    "email_3": "Third email",
    "phone": "Phone",
    "phone_2": "Second phone",
    "phone_3": "Third phone",
    "title": "Job title",
    "company": "Company",
    "website": "Company website",
    "employees": "Company size (employees)",
    "industry": "Industry",
    "company_country": "Company country",
    "street": "Street",
    "city": "City",
    "region": "Region or state",
    "postal_code": "Postal code",
    "country": "Country",
    "timezone": "Time zone",
    "source": "Source",
    "consent": "Consent",
    "stage": "Lifecycle stage",
    "tags": "Tags",
    "notes": "Notes",
    "ignore": "Ignore (leave the column out)",
}
"""Field -> label. Besides these, ``custom:<name>`` stores a column as a custom field."""

PERSON_TARGETS = frozenset(
    {"email", "email_2", "email_3", "phone", "phone_2", "phone_3", "first_name", "last_name", "full_name"}
)
# Targets that several columns may feed at once (their values are combined); every other field
# takes one column.
SHARED_TARGETS = frozenset({"tags", "notes", "ignore"})
_SLOTS = {"email": ("email", "email_2", "email_3"), "phone": ("phone", "phone_2", "phone_3")}
_CUSTOM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

# Best alias first: when several columns could feed one field, the better-named one wins, and the
# email and phone slots fill in this order.
_ALIASES: dict[str, str] = {
    "first_name": "first name|given name|forename|first|fname|vorname|prénom|nombre|voornaam",
    "last_name": (
        "last name|surname|family name|last|lname|nachname|nom|nom de famille|apellido|apellidos|achternaam"
    ),
    "full_name": (
        "full name|name|contact name|user name (original name)|display name|attendee name|registrant name"
    ),
    "email": (
        "email|e-mail|email address|mail|e-mail 1 - value|email 1|primary email|work email|business email"
        "|email (work)|e-mail-adresse|courriel|correo|email 2|e-mail 2 address|e-mail 2 - value"
        "|secondary email|personal email|other email|alternate email|alternative email|home email"
        "|private email|email 3|e-mail 3 address|e-mail 3 - value"
    ),
    "phone": (
        "phone|phone number|telephone|telephone number|tel|telefon|telefonnummer|work phone|business phone"
        "|direct phone|direct dial|office phone|primary phone|phone 1|phone 1 - value|mobile|mobile phone"
        "|mobile phone number|mobile number|cell|cell phone|handy|mobil|mobilnummer|phone 2|phone 2 - value"
        "|business phone 2|home phone|other phone|company phone|company main phone|main phone|phone 3"
        "|phone 3 - value"
    ),
    "title": (
        "job title|title|position|role|job role|designation|organization 1 - title|organization title|job"
        "|funktion|occupation"
    ),
    "company": (
        "company|company name|organization|organisation|organization name|organisation name"
        "|organization 1 - name|account name|employer|business name|firma|unternehmen|entreprise|empresa"
        "|current company|associated company"
    ),
    "website": (
        "website|web site|website url|company website|company domain|company domain name|domain|url"
        "|web page|webpage|homepage|web|website 1 - value|company url|webseite|site web|sitio web"
    ),
    "employees": (
        "employees|number of employees|no of employees|num employees|employee count|company size|size"
        "|headcount|company headcount|staff|mitarbeiter|anzahl mitarbeiter|employees count|nb employees"
    ),
    "industry": "industry|sector|branche|vertical|company industry|industries",
    "company_country": (
        "company country|company country/region|organization country|account country|hq country"
        "|headquarters country"
    ),
    "street": (
        "street|street address|address|address 1|address line 1|business street|address 1 - street"
        "|mailing street|strasse|home street|other street"
    ),
    "city": (
        "city|town|locality|business city|address 1 - city|mailing city|ort|stadt|ville|ciudad|home city"
        "|other city"
    ),
    "region": (
        "state|region|province|state/province|state/region|county|business state|address 1 - region"
        "|mailing state|bundesland|home state|other state"
    ),
    "postal_code": (
        "postal code|zip|zip code|postcode|zip/postal code|business postal code|address 1 - postal code"
        "|mailing zip|plz|postleitzahl|code postal|home postal code|other postal code"
    ),
    "country": (
        "country|country/region|country name|country/region name|business country/region"
        "|address 1 - country|mailing country|land|pays|país|nation|country code|home country/region"
        "|other country/region"
    ),
    "timezone": "time zone|ip timezone",
    "source": "source|lead source|original source|contact source|source of lead|lead origin",
    "consent": (
        "consent|marketing consent|email consent|opt in|email opt in|marketing opt in|gdpr consent"
        "|subscribed|newsletter|accepts marketing|accepts email marketing|unsubscribed|email opt out"
        "|opt out|opted out|unsubscribed from all email|do not email|do not contact"
    ),
    "stage": "lifecycle stage|stage|lead stage|funnel stage|contact stage",
    "tags": "tags|tag|labels|label|categories|category|group membership|groups|segments|lists",
    "notes": "notes|note|comments|comment|remarks|description|bemerkung|notizen",
}

# Columns a known export uses in its own way.
_PROFILE_TARGETS = {
    "outlook": {"title": "custom:name_prefix"},
    "mautic": {"title": "custom:name_prefix"},
    "linkedin": {"url": "custom:linkedin_url"},
}
# Columns that give away which export a file is (normalised headers, space-separated).
_MARKERS = {
    "zoom": (
        "approvalstatus attended isguest jointime leavetime "
        "purchasingtimeframe registrationtime roleinpurchaseprocess timeinsessionminutes usernameoriginalname"
    ),
    "hubspot": (
        "associatedcompany contactowner hubspotscore lastactivitydate "
        "leadstatus lifecyclestage marketingcontactstatus originalsource recordid"
    ),
    "google": (
        "email1label email1type email1value fileas "
        "givennameyomi groupmembership organization1name phone1value phoneticfirstname"
    ),
    "mautic": "attributiondate dateidentified lastactive ownerid points position preferredlocale stage",
    "outlook": (
        "businesscity businesscountryregion businessphone businessstreet email2address "
        "emailaddress emaildisplayname homephone mobilephone webpage"
    ),
}


# Custom columns holding dates: their values are rewritten as ISO 8601.
_DATE_HEADER = re.compile(
    r"date|time|birthday|anniversary|created|updated|modified|joined|registered|timestamp|since"
    r"|sign(?:ed)?.?up|last.?(?:active|seen|contacted)|(?:^|\W)on$|_at$",
    re.IGNORECASE,
)
_NOT_DATE_HEADER = re.compile(
    r"minute|second|hour|duration|zone|frame|session|spent|count|number|\bid\b", re.I
)


@lru_cache(maxsize=4096)
def header_key(header: str) -> str:
    """A header reduced to lower-case letters and digits: "E-mail Address" -> "emailaddress"."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def _alias_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for target, aliases in _ALIASES.items():
        for rank, alias in enumerate(aliases.split("|")):
            if index.setdefault(header_key(alias), (target, rank))[0] != target:
                raise AssertionError(f"alias {alias!r} names two fields")  # a slip in the table above
    return index


_ALIAS_INDEX = _alias_index()


def _marker_sets() -> dict[str, frozenset[str]]:
    return {profile: frozenset(words.split()) for profile, words in _MARKERS.items()}


_marker_set = _marker_sets()


@dataclass
class Mapping:
    """Where each column goes; ``profile`` names the export it was recognised as."""

    columns: dict[str, str]  # header -> target, in the file's column order
    profile: str  # "google" | "outlook" | "hubspot" | "mautic" | "linkedin" | "zoom" | "generic"


def header_score(cells: list[str]) -> int:
    """How many cells name a known field: the reader uses it to find the header below a preamble."""
    return sum(1 for cell in cells if header_key(cell) in _ALIAS_INDEX)


def detect_profile(headers: list[str]) -> str:
    """The export the headers come from, by its tell-tale columns, else "generic"."""
    keys = {header_key(header) for header in headers}
    if "connectedon" in keys and keys & {"url", "position", "emailaddress"}:
        return "linkedin"
    for profile in ("zoom", "hubspot"):
        if len(keys & _marker_set[profile]) >= 2:
            return profile
    if keys & _marker_set["google"]:
        return "google"
    # Mautic writes its field aliases as headers: lower case, no spaces.
    if {"firstname", "lastname"} <= set(headers) and keys & _marker_set["mautic"]:
        return "mautic"
    return "outlook" if len(keys & _marker_set["outlook"]) >= 2 else "generic"


def custom_name(header: str, taken: set[str] | frozenset[str] = frozenset(), position: int = 0) -> str:
    """A custom-field name for a header: snake_case letters and digits, unique among ``taken``."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    ascii_text = "".join(char for char in decomposed if char.isascii())
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:56] or f"column_{position + 1}"
    if base[0].isdigit():
        base = f"col_{base}"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    return name


def auto_map(headers: list[str]) -> Mapping:
    """The mapping for these headers: known fields by alias, everything else a custom field."""
    profile = detect_profile(headers)
    special = _PROFILE_TARGETS.get(profile, {})
    assigned: dict[int, str] = {}
    candidates: dict[str, list[tuple[int, int]]] = {}
    for position, header in enumerate(headers):
        key = header_key(header)
        if key in special:
            assigned[position] = special[key]
        elif key in _ALIAS_INDEX:
            target, rank = _ALIAS_INDEX[key]
            candidates.setdefault(target, []).append((rank, position))
    for target, found in candidates.items():
        for slot, (_rank, position) in zip(_SLOTS.get(target, (target,)), sorted(found), strict=False):
            assigned[position] = slot
    taken = {target.removeprefix("custom:") for target in assigned.values() if target.startswith("custom:")}
    columns: dict[str, str] = {}
    for position, header in enumerate(headers):
        if position not in assigned:
            name = custom_name(header, taken, position)
            taken.add(name)
            assigned[position] = f"custom:{name}"
        columns[header] = assigned[position]
    return Mapping(columns, profile)


def _find_column(columns: dict[str, str], name: str) -> str:
    if name in columns:
        return name
    matches = [header for header in columns if header_key(header) == header_key(name)]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(repr(header) for header in list(columns)[:20])
    raise InvalidInput(f"--map: no column named {name!r}; the columns are {listed}", field="--map")


def _check_target(target: str) -> str:
    if target in TARGETS:
        return target
    if target.startswith("custom:") and _CUSTOM_NAME.fullmatch(target.removeprefix("custom:")):
        return target
    if target.startswith("custom:"):
        raise InvalidInput(
            f"--map: {target!r}: a custom field name has letters, digits and _ (at most 64)", field="--map"
        )
    raise InvalidInput(
        f"--map: {target!r} is not a field; use one of {', '.join(TARGETS)} or custom:<name>", field="--map"
    )


def apply_overrides(mapping: Mapping, overrides: list[str]) -> Mapping:
    """The mapping with ``--map "Source Column=field"`` choices applied.

    A field taken by an override is released by the column that had it (that column becomes a custom
    field); two overrides giving one field to two columns are an error."""
    columns = dict(mapping.columns)
    chosen: dict[str, str] = {}  # target -> header the user gave it to
    for override in overrides:
        name, equals, target = override.rpartition("=")
        if not equals or not name.strip() or not target.strip():
            raise InvalidInput(f"--map: {override!r} is not of the form 'Column=field'", field="--map")
        header, target = _find_column(columns, name.strip()), _check_target(target.strip())
        if target not in SHARED_TARGETS and chosen.get(target, header) != header:
            raise InvalidInput(
                f"--map: {target!r} is given to both {chosen[target]!r} and {header!r}", field="--map"
            )
        chosen[target] = header
        columns[header] = target
    taken = {target.removeprefix("custom:") for target in columns.values() if target.startswith("custom:")}
    for position, (header, target) in enumerate(list(columns.items())):
        if target in chosen and target not in SHARED_TARGETS and chosen[target] != header:
            name = custom_name(header, taken, position)
            taken.add(name)
            columns[header] = f"custom:{name}"
    return Mapping(columns, mapping.profile)


def identifies_a_person(mapping: Mapping) -> bool:
    """True when some column holds an email, a phone or a name."""
    return any(target in PERSON_TARGETS for target in mapping.columns.values())


def looks_like_date_column(header: str) -> bool:
    """A custom column whose values are dates ("Connected On", "Registration Time", "Create Date")."""
    return bool(_DATE_HEADER.search(header)) and not _NOT_DATE_HEADER.search(header)
