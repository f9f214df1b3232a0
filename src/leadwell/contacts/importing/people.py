"""Writing people: one chunk of cleaned rows becomes new contacts or fills in known ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from leadwell.contacts.dedupe_sql import in_values
from leadwell.contacts.importing.cleaning import CleanRow, Issue
from leadwell.contacts.importing.writer import (
    CONTACTS,
    EMAILS,
    ENGAGEMENTS,
    SCALARS,
    BulkRows,
    Tally,
    bulk_rows,
    existing_contacts,
    identity_key,
    reserve_ids,
    write_bulk,
)
from leadwell.db.types import utcnow
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.rows import queue_state_for

UNIONS = ("phones", "tags")


@dataclass
class Person:
    """One person of the chunk as it will be written: rows of the file that turned out to be them."""

    contact: dict[str, Any]
    organization_id: int | None
    existing_id: int | None = None
    lines: list[int] = field(default_factory=list)


def absorb(target: dict[str, Any], extra: dict[str, Any]) -> bool:
    """Fill ``target``'s empty fields from ``extra`` and union its lists, never overwriting.

    True when ``target`` changed."""
    changed = False
    for name in SCALARS:
        if not target.get(name) and extra.get(name):
            target[name], changed = extra[name], True
    for name in ("emails", *UNIONS):
        have = list(target.get(name) or [])
        more = [item for item in extra.get(name) or [] if item not in have]
        if more:
            target[name], changed = have + more, True
    custom = dict(target.get("custom") or {})
    fresh = {key: value for key, value in (extra.get("custom") or {}).items() if key not in custom}
    if fresh:
        target["custom"], changed = {**custom, **fresh}, True
    return changed


@dataclass
class PeopleWrites:
    """What one chunk writes for its people: new contacts (ids reserved) with their addresses and
    places in the call queue, and the known people to fill in."""

    writer: PeopleWriter
    contacts: BulkRows
    emails: BulkRows
    places: BulkRows
    known: list[Person]

    def apply(self, connection: Connection, tally: Tally) -> None:
        for bulk in (self.contacts, self.emails, self.places):
            write_bulk(connection, bulk)
        self.writer.fill_in(connection, self.known, tally)


class PeopleWriter:
    """Matches and writes the people of each chunk for one import.

    A chunk is planned (matched, ids reserved, rows built) before it is written, and the next chunk
    may be planned while this one is still being written on another connection. So the writer
    remembers who the last planned chunk's addresses and identity keys belong to: once that chunk
    commits, the database says the same, and until then the database cannot say it yet."""

    def __init__(self, workspace_id: int, import_id: int | None, list_name: str) -> None:
        self.workspace_id = workspace_id
        self.import_id = import_id
        self.list_name = list_name
        self.in_flight_emails: dict[str, int] = {}
        self.in_flight_keys: dict[str, int] = {}

    def plan(
        self, connection: Connection, rows: Sequence[CleanRow], org_ids: list[int | None], tally: Tally
    ) -> tuple[list[Issue], PeopleWrites]:
        """Match a chunk's people and build its writes; the warnings are about emails that already
        belong to someone else. ``connection`` only reads (and reserves ids)."""
        people, owners = self._group(connection, rows, org_ids, tally)
        issues = self._drop_taken_emails(people, owners)
        known = [p for p in people if p.existing_id is not None]
        new = [p for p in people if p.existing_id is None]
        contacts, ids, emails, places = self._new_people(connection, new, tally)
        tally.touched.update(p.existing_id for p in known if p.existing_id is not None)
        # Once written, every address a person of this chunk kept is theirs, and a new person
        # without one is known by their identity key.
        self.in_flight_emails = {row["email"]: row["contact_id"] for row in emails}
        for person in known:
            assert person.existing_id is not None
            self.in_flight_emails.update((email, person.existing_id) for email in person.contact["emails"])
        self.in_flight_keys = {
            row["identity_key"]: contact_id
            for row, contact_id in zip(contacts, ids, strict=True)
            if row["identity_key"]
        }
        dialect = connection.dialect.name
        writes = PeopleWrites(
            self,
            bulk_rows(dialect, CONTACTS, contacts, ids),
            bulk_rows(dialect, EMAILS, emails),
            bulk_rows(dialect, ENGAGEMENTS, places),
            known,
        )
        return issues, writes

    def _group(
        self, connection: Connection, rows: Sequence[CleanRow], org_ids: list[int | None], tally: Tally
    ) -> tuple[list[Person], dict[str, int]]:
        """The chunk's rows grouped into people, and who already owns each of their addresses."""
        keys = [
            None if row.contact.get("emails") else identity_key(row.contact, org)
            for row, org in zip(rows, org_ids, strict=True)
        ]
        emails = [email for row in rows for email in row.contact.get("emails") or []]
        by_email, by_key = existing_contacts(connection, self.workspace_id, emails, [k for k in keys if k])
        flying_emails, flying_keys = self.in_flight_emails, self.in_flight_keys
        by_email.update((email, flying_emails[email]) for email in emails if email in flying_emails)
        by_key.update((key, flying_keys[key]) for key in keys if key and key in flying_keys)
        people: list[Person] = []
        pending: dict[str, Person] = {}
        for row, org, key in zip(rows, org_ids, keys, strict=True):
            handles = [f"e:{e}" for e in row.contact.get("emails") or []] or ([f"k:{key}"] if key else [])
            person = next((pending[h] for h in handles if h in pending), None)
            if person is None:
                existing = next((by_email[e] for e in row.contact.get("emails") or [] if e in by_email), None)
                existing = existing if existing is not None else by_key.get(key or "")
                contact = {**row.contact, "identity_key": key}
                person = Person(contact, org, existing)
                people.append(person)
                if existing is not None and existing in tally.touched:
                    tally.duplicates_in_file += 1
            else:
                absorb(person.contact, row.contact)
                person.organization_id = person.organization_id or org
                tally.duplicates_in_file += 1
            person.lines.append(row.line)
            for handle in handles:
                pending.setdefault(handle, person)
        return people, by_email

    @staticmethod
    def _drop_taken_emails(people: list[Person], owners: dict[str, int]) -> list[Issue]:
        """An address belongs to one person: one already held by someone else (stored, or earlier in
        this chunk) is left with them."""
        issues = []
        # Primary addresses are claimed first: a row that joined two people of the chunk must not
        # take away the address another of them is known by.
        claimed: dict[str, Person] = {}
        for person in people:
            emails = person.contact.get("emails") or []
            if emails and owners.get(emails[0]) in (None, person.existing_id):
                claimed.setdefault(emails[0], person)
        for person in people:
            kept = []
            for email in person.contact.get("emails") or []:
                owner = owners.get(email)
                mine = owner is None or owner == person.existing_id
                if mine and claimed.setdefault(email, person) is person:
                    kept.append(email)
                else:
                    issues.append(
                        Issue(
                            person.lines[0],
                            None,
                            "warning",
                            f"{email} already belongs to another contact; not added here",
                            email,
                        )
                    )
            person.contact["emails"] = kept
        return issues

    def _row(self, person: Person, now: datetime) -> dict[str, Any]:
        c = person.contact
        emails = c.get("emails") or []
        return {
            "workspace_id": self.workspace_id,
            "first_name": c.get("first_name") or "",
            "last_name": c.get("last_name") or "",
            "email": emails[0] if emails else None,
            "phones": c.get("phones") or [],
            "organization_id": person.organization_id,
            **{name: c.get(name) or None for name in SCALARS if name not in ("first_name", "last_name")},
            "source": c.get("source") or self.list_name,
            "consent": c.get("consent") or "unknown",
            "consent_at": now if c.get("consent") in ("opted_in", "opted_out") else None,
            "stage": c.get("stage") or "lead",
            "custom": c.get("custom") or {},
            "tags": c.get("tags") or [],
            "identity_key": c.get("identity_key") if not emails else None,
            "import_id": self.import_id,
            "owner_id": None,
            "merged_into_id": None,
            "created_at": now,
            "updated_at": now,
        }

    def _new_people(
        self, connection: Connection, people: list[Person], tally: Tally
    ) -> tuple[list[dict[str, Any]], list[int], list[dict[str, Any]], list[dict[str, Any]]]:
        """New people's contact rows, their reserved ids, their addresses and their queue places."""
        now = utcnow()
        rows = [self._row(person, now) for person in people]
        ids = reserve_ids(connection, CONTACTS, len(rows))
        email_rows = [
            {
                "workspace_id": self.workspace_id,
                "contact_id": contact_id,
                "email": email,
                "position": position,
            }
            for person, contact_id in zip(people, ids, strict=True)
            for position, email in enumerate(person.contact.get("emails") or [])
        ]
        # Each new person's place in the call queue, committed with the person: written with
        # them, by the same bulk insert, it costs a fraction of finding the people without one afterwards.
        places = [
            {
                "contact_id": contact_id,
                "workspace_id": self.workspace_id,
                "score": 0.0,
                "rank_key": ZERO_RANK,
                "version": 0,
                "queue_state": queue_state_for(row["stage"]),
                "updated_at": now,
            }
            for row, contact_id in zip(rows, ids, strict=True)
        ]
        tally.created += len(ids)
        tally.touched.update(ids)
        tally.placed.update(ids)
        return rows, ids, email_rows, places

    def fill_in(self, connection: Connection, people: list[Person], tally: Tally) -> None:
        """Fill in known people: empty fields and new emails, phones, tags and custom fields only."""
        if not people:
            return
        columns = [CONTACTS.c[name] for name in (*SCALARS, *UNIONS, "custom", "organization_id", "email")]
        current = {
            row.id: dict(row._mapping)
            for row in connection.execute(
                select(CONTACTS.c.id, *columns).where(
                    in_values(connection, CONTACTS.c.id, [p.existing_id for p in people])
                )
            )
        }
        emails_now = self._emails_of(connection, list(current))
        changes, new_emails = [], []
        for person in people:
            contact_id = person.existing_id
            assert contact_id is not None
            stored = {**current[contact_id], "emails": emails_now.get(contact_id, [])}
            before = list(stored["emails"])
            org_changed = stored["organization_id"] is None and person.organization_id is not None
            if absorb(stored, person.contact) or org_changed:
                stored["organization_id"] = stored["organization_id"] or person.organization_id
                changes.append(
                    {
                        "b_id": contact_id,
                        **{f"b_{k}": stored[k] for k in (*SCALARS, *UNIONS, "custom", "organization_id")},
                    }
                )
                new_emails += [
                    {
                        "workspace_id": self.workspace_id,
                        "contact_id": contact_id,
                        "email": e,
                        "position": len(before) + i,
                    }
                    for i, e in enumerate(x for x in stored["emails"] if x not in before)
                ]
                tally.updated += 1
            else:
                tally.unchanged += 1
        self._apply(connection, changes, new_emails)

    def _emails_of(self, connection: Connection, contact_ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        rows = connection.execute(
            select(EMAILS.c.contact_id, EMAILS.c.email)
            .where(in_values(connection, EMAILS.c.contact_id, contact_ids))
            .order_by(EMAILS.c.position)
        )
        for contact_id, email in rows:
            found.setdefault(contact_id, []).append(email)
        return found

    def _apply(
        self, connection: Connection, changes: list[dict[str, Any]], new_emails: list[dict[str, Any]]
    ) -> None:
        if changes:
            names = (*SCALARS, *UNIONS, "custom", "organization_id")
            statement = (
                update(CONTACTS)
                .where(CONTACTS.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names} | {"updated_at": utcnow()})
            )
            connection.execute(statement, changes)
        if new_emails:
            connection.execute(insert(EMAILS), new_emails)
        # A contact that had no address and now has one gets it as its primary.
        for row in new_emails:
            if row["position"] == 0:
                connection.execute(
                    update(CONTACTS)
                    .where(CONTACTS.c.id == row["contact_id"])
                    .values(email=row["email"], identity_key=None)
                )
