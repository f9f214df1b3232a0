"""Export every contact of a workspace, every field and every custom field, as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import Connection, Table, literal_column, select, text

from leadwell.db.models import Base
from leadwell.ids import IdCodec

CONTACTS: Table = Base.metadata.tables["contacts"]
ORGS: Table = Base.metadata.tables["organizations"]
USERS: Table = Base.metadata.tables["users"]
IMPORTS: Table = Base.metadata.tables["imports"]
EMAILS: Table = Base.metadata.tables["contact_emails"]
BATCH = 2000
FIXED = (
    "id",
    "first_name",
    "last_name",
    "email",
    "other_emails",
    "phones",
    "title",
    "organization",
    "organization_domain",
    "employees",
    "employees_min",
    "employees_max",
    "industry",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "timezone",
    "source",
    "import_list",
    "consent",
    "consent_at",
    "stage",
    "tags",
    "owner",
    "created_at",
    "updated_at",
)


def custom_keys(connection: Connection, workspace_id: int) -> list[str]:
    """Every custom field name used in the workspace, found in the database, not by reading every row."""
    if connection.dialect.name == "postgresql":
        query = text("SELECT DISTINCT jsonb_object_keys(custom) FROM contacts WHERE workspace_id = :ws")
    else:
        query = text(
            "SELECT DISTINCT j.key FROM contacts, json_each(contacts.custom) AS j WHERE workspace_id = :ws"
        )
    return sorted(connection.execute(query, {"ws": workspace_id}).scalars())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _rows(connection: Connection, workspace_id: int) -> Iterator[Any]:
    """Live contacts with their organization, owner and import, in id order, fetched in batches."""
    last = 0
    while True:
        query = (
            select(
                CONTACTS,
                ORGS.c.name.label("org_name"),
                ORGS.c.domain.label("org_domain"),
                ORGS.c.employees,
                ORGS.c.employees_min,
                ORGS.c.employees_max,
                ORGS.c.industry,
                USERS.c.email.label("owner_email"),
                IMPORTS.c.list_name,
            )
            .select_from(
                CONTACTS.outerjoin(ORGS, ORGS.c.id == CONTACTS.c.organization_id)
                .outerjoin(USERS, USERS.c.id == CONTACTS.c.owner_id)
                .outerjoin(IMPORTS, IMPORTS.c.id == CONTACTS.c.import_id)
            )
            .where(
                CONTACTS.c.workspace_id == workspace_id,
                CONTACTS.c.merged_into_id.is_(None),
                CONTACTS.c.id > last,
            )
            .order_by(CONTACTS.c.id)
            .limit(BATCH)
        )
        batch = connection.execute(query).all()
        if not batch:
            return
        others = _other_emails(connection, [row.id for row in batch])
        for row in batch:
            yield row, others.get(row.id, [])
        last = batch[-1].id


def _other_emails(connection: Connection, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    query = (
        select(EMAILS.c.contact_id, EMAILS.c.email)
        .where(EMAILS.c.contact_id.in_(ids), EMAILS.c.position > literal_column("0"))
        .order_by(EMAILS.c.position)
    )
    for contact_id, email in connection.execute(query):
        found.setdefault(contact_id, []).append(email)
    return found


def export_contacts(connection: Connection, codec: IdCodec, workspace_id: int, out: TextIO) -> int:
    """Write the workspace's contacts to ``out`` as CSV; returns how many. Streams: memory stays flat."""
    keys = custom_keys(connection, workspace_id)
    writer = csv.writer(out)
    writer.writerow([*FIXED, *(f"custom.{key}" for key in keys)])
    count = 0
    for row, others in _rows(connection, workspace_id):
        values = {
            "id": codec.encode("contact", row.id),
            "organization": row.org_name,
            "organization_domain": row.org_domain,
            "other_emails": others,
            "import_list": row.list_name,
            "owner": row.owner_email,
        }
        fixed = [_cell(values[name] if name in values else getattr(row, name)) for name in FIXED]
        custom = row.custom or {}
        writer.writerow([*fixed, *(_cell(custom.get(key)) for key in keys)])
        count += 1
    return count
