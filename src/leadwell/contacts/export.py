"""Export every contact of a workspace, every field and every custom field, as CSV, with its fit
(grade, score, qualified out, reasons) to one ideal client profile."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import Connection, Table, and_, literal_column, select, text

from leadwell.db.models import Base
from leadwell.errors import NotFound
from leadwell.icp.definition import Definition, from_document
from leadwell.icp.reasons import expand_reasons, reasons_text
from leadwell.ids import IdCodec

CONTACTS: Table = Base.metadata.tables["contacts"]
ORGS: Table = Base.metadata.tables["organizations"]
USERS: Table = Base.metadata.tables["users"]
IMPORTS: Table = Base.metadata.tables["imports"]
EMAILS: Table = Base.metadata.tables["contact_emails"]
FITS: Table = Base.metadata.tables["fits"]
ICPS: Table = Base.metadata.tables["icps"]
ICP_VERSIONS: Table = Base.metadata.tables["icp_versions"]
FIT_COLUMNS = ("grade", "fit_score", "qualified_out", "fit_reasons")
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
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def export_profile(connection: Connection, workspace_id: int, slug: str | None) -> int | None:
    """The profile whose fit is exported: ``slug``, else the workspace's first by slug (None: none)."""
    query = select(ICPS.c.id).where(ICPS.c.workspace_id == workspace_id)
    if slug is None:
        return connection.scalar(query.order_by(ICPS.c.slug).limit(1))
    found = connection.scalar(query.where(ICPS.c.slug == slug))
    if found is None:
        raise NotFound(f"--icp: no profile {slug[:64]!r} in this workspace", field="icp")
    return int(found)


class _Reasons:
    """Fit reasons as one line of text, with each profile version's definition loaded once."""

    def __init__(self, connection: Connection, icp_id: int | None) -> None:
        self.connection, self.icp_id = connection, icp_id
        self.definitions: dict[int, Definition] = {}

    def text(self, version: int | None, stored: Any) -> str | None:
        if version is None or stored is None or self.icp_id is None:
            return None
        if version not in self.definitions:
            document = self.connection.scalar(
                select(ICP_VERSIONS.c.definition).where(
                    ICP_VERSIONS.c.icp_id == self.icp_id, ICP_VERSIONS.c.version == version
                )
            )
            self.definitions[version] = from_document(document or {})
        return reasons_text(expand_reasons(self.definitions[version], stored))


def _rows(connection: Connection, workspace_id: int, icp_id: int | None) -> Iterator[Any]:
    """Live contacts with their organization, owner, import and fit, in id order, fetched in batches."""
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
                FITS.c.grade,
                FITS.c.score.label("fit_score"),
                FITS.c.qualified_out,
                FITS.c.version.label("fit_version"),
                FITS.c.reasons.label("fit_stored"),
            )
            .select_from(
                CONTACTS.outerjoin(ORGS, ORGS.c.id == CONTACTS.c.organization_id)
                .outerjoin(USERS, USERS.c.id == CONTACTS.c.owner_id)
                .outerjoin(IMPORTS, IMPORTS.c.id == CONTACTS.c.import_id)
                .outerjoin(FITS, and_(FITS.c.contact_id == CONTACTS.c.id, FITS.c.icp_id == icp_id))
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


def export_contacts(
    connection: Connection, codec: IdCodec, workspace_id: int, out: TextIO, icp: str | None = None
) -> int:
    """Write the workspace's contacts to ``out`` as CSV; returns how many. Streams: memory stays flat.

    The fit columns are for profile ``icp`` (a slug), else the workspace's first profile by slug;
    they are empty for a contact not graded yet, or when the workspace has no profile."""
    keys = custom_keys(connection, workspace_id)
    icp_id = export_profile(connection, workspace_id, icp)
    reasons = _Reasons(connection, icp_id)
    writer = csv.writer(out)
    writer.writerow([*FIXED, *FIT_COLUMNS, *(f"custom.{key}" for key in keys)])
    count = 0
    for row, others in _rows(connection, workspace_id, icp_id):
        values = {
            "id": codec.encode("contact", row.id),
            "organization": row.org_name,
            "organization_domain": row.org_domain,
            "other_emails": others,
            "import_list": row.list_name,
            "owner": row.owner_email,
        }
        fixed = [_cell(values[name] if name in values else getattr(row, name)) for name in FIXED]
        fit = [row.grade, row.fit_score, row.qualified_out, reasons.text(row.fit_version, row.fit_stored)]
        custom = row.custom or {}
        writer.writerow([*fixed, *(_cell(value) for value in fit), *(_cell(custom.get(key)) for key in keys)])
        count += 1
    return count
