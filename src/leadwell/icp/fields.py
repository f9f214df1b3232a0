"""The fields a criterion may test, what kind of value each holds, and which operators fit it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from leadwell.errors import InvalidInput


class Kind(StrEnum):
    TEXT = "text"  # a text column
    TAGS = "tags"  # the contact's list of tags
    RANGE = "range"  # a number that may be known only as a range (organization head count)
    CUSTOM = "custom"  # a key of a custom-fields JSON object: text or number, read by the operator


TEXT_OPS = ("in", "not_in", "contains", "matches", "is_set")
NUMBER_OPS = ("gte", "lte", "between")
OPERATORS = (*NUMBER_OPS, *TEXT_OPS)
ALLOWED: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: TEXT_OPS,
    Kind.TAGS: ("in", "not_in", "contains", "is_set"),
    Kind.RANGE: (*NUMBER_OPS, "is_set"),
    Kind.CUSTOM: OPERATORS,
}
CONTACT_TEXT = (
    "first_name",
    "last_name",
    "email",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "timezone",
    "source",
    "stage",
    "consent",
)
ORGANIZATION_TEXT = ("name", "domain", "industry", "country")
# Same rule as contacts' custom field names (leadwell.contacts.fields.clean_custom), which also keeps
# the SQLite JSON path ('$.key') free of quoting.
CUSTOM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class FieldRef:
    """A resolved field: ``path`` as written, where it lives, and two names for people: ``label`` in
    criteria ("employees ≥ 100") and ``noun`` in change notes ("organization employees changed…")."""

    path: str
    kind: Kind
    table: str  # "contact" or "organization"
    column: str  # the column, or the custom key
    label: str
    noun: str

    @property
    def numeric_ops(self) -> bool:
        return self.kind in (Kind.RANGE, Kind.CUSTOM)


def known_fields() -> list[str]:
    """Every fixed field path, for error messages and docs."""
    return [
        *(f"contact.{name}" for name in (*CONTACT_TEXT, "tags")),
        *(f"organization.{name}" for name in (*ORGANIZATION_TEXT, "employees")),
    ]


def resolve(path: str, where: str) -> FieldRef:
    """The field ``path`` names; :class:`InvalidInput` naming ``where`` when there is no such field."""
    table, _, rest = path.partition(".")
    found = _custom(path) if table in ("custom", "organization") else None
    if found is None and table in ("contact", "organization"):
        found = _fixed(table, rest)
    if found is not None:
        return found
    raise InvalidInput(
        f"{where}: unknown field {path[:80]!r}; use contact.<{'|'.join((*CONTACT_TEXT, 'tags'))}>, "
        f"organization.<{'|'.join((*ORGANIZATION_TEXT, 'employees'))}>, custom.<key> "
        "or organization.custom.<key>",
        field=where,
    )


def _fixed(table: str, column: str) -> FieldRef | None:
    if table == "contact" and column in CONTACT_TEXT:
        return FieldRef(f"contact.{column}", Kind.TEXT, "contact", column, column, column.replace("_", " "))
    if table == "contact" and column == "tags":
        return FieldRef("contact.tags", Kind.TAGS, "contact", "tags", "tags", "tags")
    if table == "organization" and column == "employees":
        path = "organization.employees"
        return FieldRef(path, Kind.RANGE, "organization", column, "employees", "organization employees")
    if table == "organization" and column in ORGANIZATION_TEXT:
        # "country" and "name" alone would read as the contact's own.
        label = column if column in ("industry", "domain") else f"organization {column}"
        return FieldRef(
            f"organization.{column}", Kind.TEXT, "organization", column, label, f"organization {column}"
        )
    return None


def _custom(path: str) -> FieldRef | None:
    """``custom.<key>`` (the contact's custom fields) or ``organization.custom.<key>``."""
    parts = path.split(".")
    if len(parts) == 2 and parts[0] == "custom" and CUSTOM_KEY.fullmatch(parts[1]):
        key = parts[1]
        return FieldRef(path, Kind.CUSTOM, "contact", key, key, key.replace("_", " "))
    if len(parts) == 3 and parts[:2] == ["organization", "custom"] and CUSTOM_KEY.fullmatch(parts[2]):
        key = parts[2]
        noun = f"organization {key.replace('_', ' ')}"
        return FieldRef(path, Kind.CUSTOM, "organization", key, f"organization {key}", noun)
    return None
