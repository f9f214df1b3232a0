"""Set-based writing of cleaned rows: organizations matched or created, people matched by email or
identity key (so a second import of the same file creates nothing), new people bulk-inserted, known
people filled in. One call handles one chunk inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, cast, delete, false, func, select, update
from sqlalchemy.dialects.postgresql import REGCLASS

from leadwell.contacts.dedupe_sql import in_values
from leadwell.contacts.importing.cleaning import CleanRow
from leadwell.db.models import Base
from leadwell.db.types import UTCDateTime, utcnow

CONTACTS: Table = Base.metadata.tables["contacts"]
EMAILS: Table = Base.metadata.tables["contact_emails"]
ENGAGEMENTS: Table = Base.metadata.tables["engagements"]
ORGS: Table = Base.metadata.tables["organizations"]
SCALARS = (
    "first_name",
    "last_name",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "timezone",
)
PRELOAD_ORGANIZATIONS = 200_000  # about 60 MB of Python dicts at most
ORG_FILLABLE = ("employees", "employees_min", "employees_max", "industry", "country")


@dataclass
class Tally:
    """What an import did, row by row, added up across chunks."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_in_file: int = 0
    organizations_created: int = 0
    touched: set[int] = field(default_factory=set)
    placed: set[int] = field(default_factory=set)  # created with their engagement rows


def identity_key(contact: dict[str, Any], organization_id: int | None) -> str | None:
    """How a person without an email is recognised again: first phone, else name at organization."""
    if contact.get("phones"):
        return f"phone:{contact['phones'][0]}"
    first, last = contact.get("first_name", "").lower(), contact.get("last_name", "").lower()
    if first or last:
        return f"name:{first}|{last}|{organization_id or ''}"
    return None


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """Ids for ``count`` new rows of ``table``, in order, for :func:`bulk_rows` to insert later.

    Ids are reserved rather than returned by the insert, because INSERT … RETURNING of many rows is
    slow on both databases: SQLite runs it one row at a time to keep the order, and psycopg parses
    thousands of placeholders. On PostgreSQL the sequence hands them out, on any connection (a
    sequence is not transactional, so a chunk planned on one connection may be written on another).
    On SQLite, once this transaction holds the write lock (the no-op write takes it), nobody else can
    insert, so the next ids are simply the ones after the largest, exactly what SQLite itself would
    have chosen: the rows must then be inserted in the same transaction.
    """
    if not count:
        return []
    if connection.dialect.name == "postgresql":
        # The sequence's name is looked up once (a sub-select), not for every id: that look-up cost
        # nine tenths of the draw. One array comes back rather than a row per id.
        sequence = select(func.pg_get_serial_sequence(table.name, "id")).scalar_subquery()
        draw = select(func.array_agg(func.nextval(cast(sequence, REGCLASS)))).select_from(
            func.generate_series(1, count)
        )
        return sorted(connection.execute(draw).scalar_one())
    connection.execute(delete(table).where(false()))
    start = (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    return list(range(start, start + count))


def _sqlite_time(value: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (naive UTC), so the ORM reads these rows back as usual.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json_text(item: Any) -> str | None:
    if item is None:
        return None
    if not item and (type(item) is list or type(item) is dict):  # most rows' phones, tags, custom
        return "{}" if type(item) is dict else "[]"
    return json.dumps(item)


@dataclass(frozen=True)
class BulkRows:
    """Rows converted for the driver, column values in ``names`` order, ready for :func:`write_bulk`."""

    table: Table
    names: list[str]
    tuples: list[tuple[Any, ...]]


def bulk_rows(
    dialect: str, table: Table, rows: list[dict[str, Any]], ids: list[int] | None = None
) -> BulkRows:
    """Convert ``rows`` once, the way the column types would: JSON to text, times to UTC (naive text
    on SQLite). With ``ids``, they fill the ``id`` column.

    At a million rows SQLAlchemy's per-row parameter processing costs more than the database's own
    work; doing it here also lets an import convert one chunk while another is being written.
    """
    if not rows:
        return BulkRows(table, [], [])
    names = list(rows[0])
    json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
    time_columns = {name for name in names if isinstance(table.c[name].type, UTCDateTime)}
    postgres = dialect == "postgresql"

    # Column by column: a million rows make per-cell function calls the dominant cost.
    columns = [[row[name] for row in rows] for name in names]
    if ids is not None:
        names.append("id")
        columns.append(list(ids))
    for index, name in enumerate(names):
        if name in json_columns:
            columns[index] = [_json_text(item) for item in columns[index]]
        elif name in time_columns and not postgres:
            seen: dict[datetime, str] = {}  # rows of one chunk mostly share their timestamps
            columns[index] = [
                None if item is None else seen.get(item) or seen.setdefault(item, _sqlite_time(item))
                for item in columns[index]
            ]
    return BulkRows(table, names, list(zip(*columns, strict=True)))


def write_bulk(connection: Connection, bulk: BulkRows) -> None:
    """Insert converted rows straight through the driver: COPY on PostgreSQL, executemany on SQLite,
    inside ``connection``'s transaction."""
    if not bulk.tuples:
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    column_list = ", ".join(f'"{name}"' for name in bulk.names)
    if connection.dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{bulk.table.name}" ({column_list}) FROM STDIN') as copy,
        ):
            for item in bulk.tuples:
                copy.write_row(item)
        return
    marks = ", ".join("?" for _ in bulk.names)
    statement = f'INSERT INTO "{bulk.table.name}" ({column_list}) VALUES ({marks})'
    driver.cursor().executemany(statement, bulk.tuples)


class OrganizationResolver:
    """Finds or creates organizations by domain, then by name; remembers answers across chunks."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.by_domain: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        # Which of an organization's fillable fields are still empty: only those are ever updated,
        # so a file full of known organizations costs no writes.
        self.empty: dict[int, set[str]] = {}
        self.complete = False  # every organization of the workspace is in memory: no look-ups

    def preload(self, connection: Connection) -> None:
        """Read every organization of the workspace at once when there are at most
        :data:`PRELOAD_ORGANIZATIONS`.

        A big file into a new workspace then looks nothing up chunk by chunk: each look-up of 5,000
        domains that do not exist yet cost as much as inserting them. An organization someone else
        creates meanwhile with the same domain makes a chunk's insert fail on the unique index; the
        import stops there and resumes on the next run.
        """
        scope = ORGS.c.workspace_id == self.workspace_id
        total = connection.execute(select(func.count()).select_from(ORGS).where(scope)).scalar_one()
        if total > PRELOAD_ORGANIZATIONS:
            return
        fillable = [ORGS.c[name] for name in ORG_FILLABLE]
        rows = connection.execute(
            select(ORGS.c.id, ORGS.c.domain, ORGS.c.name, *fillable).where(scope).order_by(ORGS.c.id.desc())
        )
        for org_id, domain, name, *values in rows:  # the oldest of same-named organizations wins
            if domain:
                self.by_domain[domain] = org_id
            self.by_name[name.lower()] = org_id
            self._remember(org_id, values)
        self.complete = True

    def _remember(self, org_id: int, values: Sequence[Any]) -> None:
        self.empty[org_id] = {name for name, value in zip(ORG_FILLABLE, values, strict=True) if value is None}

    def resolve(
        self, connection: Connection, rows: Sequence[CleanRow], tally: Tally
    ) -> tuple[list[int | None], OrganizationWrites]:
        """The organization id of each row (None when it has none), and the writes that create the
        new ones and fill in known ones, to apply before the people that refer to them.

        The resolver remembers the new organizations at once, so the next chunk may be resolved
        before these writes are committed."""
        wanted = [row.organization for row in rows]
        self._load(connection, [org for org in wanted if org])
        missing: dict[str, dict[str, Any]] = {}
        for org in wanted:
            if org and self._known(org) is None:
                missing.setdefault(self._key(org), org)
        rows_to_create, ids = self._create(connection, list(missing.values()), tally)
        fills = self._fill([org for org in wanted if org])
        org_ids = [self._known(org) if org else None for org in wanted]
        created = bulk_rows(connection.dialect.name, ORGS, rows_to_create, ids)
        return org_ids, OrganizationWrites(created, fills)

    @staticmethod
    def _key(org: dict[str, Any]) -> str:
        return f"d:{org['domain']}" if org.get("domain") else f"n:{org['name'].lower()}"

    def _known(self, org: dict[str, Any]) -> int | None:
        if org.get("domain") and org["domain"] in self.by_domain:
            return self.by_domain[org["domain"]]
        name = (org.get("name") or "").lower()
        return self.by_name.get(name) if name and not org.get("domain") else None

    def _load(self, connection: Connection, orgs: list[dict[str, Any]]) -> None:
        if self.complete:
            return
        domains = {o["domain"] for o in orgs if o.get("domain")} - self.by_domain.keys()
        names = {
            o["name"].lower() for o in orgs if not o.get("domain") and o.get("name")
        } - self.by_name.keys()
        scope = ORGS.c.workspace_id == self.workspace_id
        fillable = [ORGS.c[name] for name in ORG_FILLABLE]
        if domains:
            found = connection.execute(
                select(ORGS.c.domain, ORGS.c.id, *fillable).where(
                    scope, in_values(connection, ORGS.c.domain, domains)
                )
            )
            for domain, org_id, *values in found:
                self.by_domain[domain] = org_id
                self._remember(org_id, values)
        if names:
            lowered = func.lower(ORGS.c.name)
            found = connection.execute(
                select(lowered, ORGS.c.id, *fillable)
                .where(scope, in_values(connection, lowered, names))
                .order_by(ORGS.c.id.desc())
            )
            for name, org_id, *values in found:  # the oldest of same-named organizations wins
                self.by_name[name] = org_id
                self._remember(org_id, values)

    def _create(
        self, connection: Connection, orgs: list[dict[str, Any]], tally: Tally
    ) -> tuple[list[dict[str, Any]], list[int]]:
        now = utcnow()
        rows = [
            {
                "workspace_id": self.workspace_id,
                "name": o.get("name") or o["domain"],
                "domain": o.get("domain"),
                "employees": o.get("employees"),
                "employees_min": o.get("employees_min"),
                "employees_max": o.get("employees_max"),
                "industry": o.get("industry"),
                "country": o.get("country"),
                "custom": {},
                "created_at": now,
                "updated_at": now,
            }
            for o in orgs
        ]
        ids = reserve_ids(connection, ORGS, len(rows))
        for org, new_id in zip(orgs, ids, strict=True):
            self._remember(new_id, [org.get(name) for name in ORG_FILLABLE])
            if org.get("domain"):
                self.by_domain[org["domain"]] = new_id
            else:
                self.by_name[org["name"].lower()] = new_id
        tally.organizations_created += len(rows)
        return rows, ids

    def _fill(self, orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Parameters that fill an existing organization's empty size, industry or country from the
        file; never overwrite."""
        updates: dict[int, dict[str, Any]] = {}
        for org in orgs:
            org_id = self._known(org)
            empty = self.empty.get(org_id, set()) if org_id is not None else set()
            given = {name for name in empty if org.get(name) is not None}
            if org_id is not None and given:
                updates[org_id] = {name: org.get(name) if name in given else None for name in ORG_FILLABLE}
                empty -= given
        return [
            {"org_id": org_id, **{f"new_{key}": value for key, value in values.items()}}
            for org_id, values in updates.items()
        ]


@dataclass
class OrganizationWrites:
    """What one chunk writes to organizations: new rows with their reserved ids, and fills."""

    created: BulkRows
    fills: list[dict[str, Any]]

    def apply(self, connection: Connection) -> None:
        write_bulk(connection, self.created)
        if not self.fills:
            return
        statement = (
            update(ORGS)
            .where(ORGS.c.id == bindparam("org_id"))
            .values({name: func.coalesce(ORGS.c[name], bindparam(f"new_{name}")) for name in ORG_FILLABLE})
        )
        connection.execute(statement, self.fills)


def existing_contacts(
    connection: Connection, workspace_id: int, emails: Iterable[str], keys: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Contact ids already holding these emails, and those with these identity keys."""
    emails, keys = set(emails), set(keys)
    by_email: dict[str, int] = {}
    by_key: dict[str, int] = {}
    if emails:
        found = connection.execute(
            select(EMAILS.c.email, EMAILS.c.contact_id).where(
                EMAILS.c.workspace_id == workspace_id, in_values(connection, EMAILS.c.email, emails)
            )
        )
        by_email = {email: contact_id for email, contact_id in found}
    if keys:
        found = connection.execute(
            select(CONTACTS.c.identity_key, CONTACTS.c.id).where(
                CONTACTS.c.workspace_id == workspace_id,
                in_values(connection, CONTACTS.c.identity_key, keys),
                CONTACTS.c.merged_into_id.is_(None),
            )
        )
        by_key = {key: contact_id for key, contact_id in found if key}
    return by_email, by_key
