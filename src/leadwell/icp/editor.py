"""What the profile editor offers: the fields a criterion may test (the workspace's custom fields
included, as found in its data), the operators with their words, and the units."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from leadwell.errors import InvalidInput
from leadwell.icp.fields import ALLOWED, CONTACT_TEXT, CUSTOM_KEY, ORGANIZATION_TEXT, Kind, resolve
from leadwell.icp.form import Draft

OPERATORS = (
    ("gte", "≥ at least"),
    ("lte", "≤ at most"),
    ("between", "between"),
    ("in", "is one of"),
    ("not_in", "is none of"),
    ("contains", "contains"),
    ("matches", "matches"),
    ("is_set", "is set"),
)
UNITS = ("days", "weeks", "months", "years")
MAX_CUSTOM_KEYS = 300
# The avatar's inputs: key, label, hint.
AVATAR_FIELDS = (
    ("roles", "Roles", "CTO, Head of IT"),
    ("industries", "Industries", "Software, Consulting"),
    ("company_sizes", "Company sizes", "100-250, 1000+"),
    ("locations", "Locations", "DE, Zurich, CH"),
    ("interests", "Interests", "cloud migration"),
    ("pains", "Pains", "projects that overrun"),
    ("goals", "Goals", "a predictable delivery partner"),
    ("objections", "Objections", "we do it in house"),
    ("channels", "Where they spend time", "LinkedIn, industry conferences"),
)
# Which operators fit each kind of field, for the page's script (the server checks again).
ALLOWED_JSON = json.dumps({kind.value: list(ops) for kind, ops in ALLOWED.items()})


@dataclass(frozen=True)
class FieldChoice:
    path: str
    label: str
    kind: str


@dataclass(frozen=True)
class FieldGroup:
    label: str
    choices: list[FieldChoice]


def _choice(path: str, label: str) -> FieldChoice:
    return FieldChoice(path, label, resolve(path, "field").kind.value)


def custom_keys(connection: Connection, table: str, workspace_id: int) -> list[str]:
    """The custom field names used in ``table`` ("contacts" or "organizations") of the workspace,
    found by the database (a DISTINCT over the JSON keys), not by reading every row here."""
    assert table in ("contacts", "organizations")
    if connection.dialect.name == "postgresql":
        query = f"SELECT DISTINCT jsonb_object_keys(custom) FROM {table} WHERE workspace_id = :ws"
    else:
        query = f"SELECT DISTINCT j.key FROM {table}, json_each({table}.custom) AS j WHERE workspace_id = :ws"
    keys = connection.execute(text(query), {"ws": workspace_id}).scalars()
    return sorted(key for key in keys if isinstance(key, str) and CUSTOM_KEY.fullmatch(key))[:MAX_CUSTOM_KEYS]


def field_groups(connection: Connection, workspace_id: int, drafts: Iterable[Draft] = ()) -> list[FieldGroup]:
    """The field select's options: contact, organization, then the custom fields seen in data (and
    any field a draft already uses, so editing never loses one)."""
    contact = [*CONTACT_TEXT, "tags"]
    organization = [*ORGANIZATION_TEXT, "employees"]
    groups = [
        FieldGroup("Contact", [_choice(f"contact.{n}", n.replace("_", " ")) for n in contact]),
        FieldGroup("Organization", [_choice(f"organization.{n}", n.replace("_", " ")) for n in organization]),
        FieldGroup(
            "Contact custom fields",
            [_choice(f"custom.{k}", k) for k in custom_keys(connection, "contacts", workspace_id)],
        ),
        FieldGroup(
            "Organization custom fields",
            [
                _choice(f"organization.custom.{k}", k)
                for k in custom_keys(connection, "organizations", workspace_id)
            ],
        ),
    ]
    offered = {choice.path for group in groups for choice in group.choices}
    others = []
    for draft in drafts:
        for row in (*draft.must, *draft.nice):
            if row.field and row.field not in offered:
                offered.add(row.field)
                others.append(FieldChoice(row.field, row.field, _kind_of(row.field)))
    if others:
        groups.append(FieldGroup("Other", others))
    return [group for group in groups if group.choices]


def _kind_of(path: str) -> str:
    try:
        return resolve(path, "field").kind.value
    except InvalidInput:  # an unknown field: checking the draft names it
        return Kind.CUSTOM.value


def unit_choices(rows_units: Iterable[str]) -> list[str]:
    """The unit select's options, with any unit a draft already uses."""
    extra = [unit for unit in dict.fromkeys(rows_units) if unit and unit not in UNITS]
    return [*UNITS, *extra]
