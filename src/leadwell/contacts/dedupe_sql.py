"""The SQL of duplicate finding: expressions both databases run alike (``IN`` a list of any length,
string concatenation, the name key, email parts, phone elements), and the queries that find, for a
targeted scan, the contacts sharing a block with the targets.

The blocks' keys are compared with values the database computes (``lower``, ``trim``, ``substr``),
the same values :mod:`leadwell.contacts.dedupe` loads to build its blocks, so a targeted scan and a
full one agree. The queries live here, apart from the matching rules, to keep each module small
enough to read; this module does not import :mod:`leadwell.contacts.dedupe`, which imports it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    String,
    Text,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, ContactEmail, Organization

MANY_ORGS = 500  # beyond this many organizations, finding their contacts scans the table


def is_postgres(session: Session | Connection) -> bool:
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    return dialect.name == "postgresql"


def in_values(session: Session | Connection, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values in one parameter, however many there are.

    SQLite reads a JSON array with ``json_each``, PostgreSQL unnests an array; both plan it as a
    semi-join, unlike a bound list, which hits parameter limits and re-plans for every length.
    """
    items = list(values)
    if not items:
        return false()
    if is_postgres(session):
        kind = BigInteger() if all(isinstance(item, int) for item in items) else Text()
        source = select(func.unnest(literal(items, ARRAY(kind))))
    else:
        source = select(func.json_each(json.dumps(items)).table_valued("value").c.value)
    condition: ColumnElement[bool] = column.in_(source)
    return condition


def concat(*parts: Any) -> ColumnElement[str]:
    """SQL string concatenation (``||`` on both databases; NULL when any part is NULL)."""
    result = parts[0]
    for part in parts[1:]:
        result = result.op("||")(part)
    return cast(ColumnElement[str], result)


def lower_trim(column: Any) -> ColumnElement[str]:
    return cast(ColumnElement[str], func.lower(func.trim(column)))


NAME_KEY = func.lower(
    concat(func.substr(func.trim(Contact.last_name), 1, 3), func.substr(func.trim(Contact.first_name), 1, 1))
)


def email_parts(session: Session) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """The local part and the domain of ``contact_emails.email``, as the database splits them."""
    email = ContactEmail.email
    if is_postgres(session):
        return func.split_part(email, "@", 1), func.split_part(email, "@", 2)
    at = func.instr(email, "@")
    return func.substr(email, 1, at - 1), func.substr(email, at + 1)


def phone_elements(session: Session) -> Any:
    name = "jsonb_array_elements_text" if is_postgres(session) else "json_each"
    return getattr(func, name)(Contact.phones).table_valued("value")


AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns
Query = TypeVar("Query", bound=AnySelect)


def live(workspace_id: int, query: Query) -> Query:
    return query.where(Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None))


def _company_orgs(session: Session, workspace_id: int, companies: set[str]) -> set[str]:
    """The targets' company keys rewritten as ``<organization id>|<name>``, the form the contacts
    table can check without joining organizations (``d<domain>`` becomes that domain's organization)."""
    domains = {c[1:].partition("|")[0] for c in companies if c[0] == "d"}
    by_domain: dict[str, int] = {}
    if domains:
        query = select(Organization.domain, Organization.id).where(Organization.workspace_id == workspace_id)
        rows = session.execute(query.where(in_values(session, Organization.domain, domains)))
        by_domain = {domain: number for domain, number in rows if domain}
    keys = set()
    for company in companies:
        owner, _, part = company[1:].partition("|")
        number = by_domain.get(owner) if company[0] == "d" else int(owner)
        if number is not None:
            keys.add(f"{number}|{part}")
    return keys


@dataclass
class Mates:
    """Contacts sharing a block with the targets, with the addresses and phones that matched (the
    only ones of theirs a comparison with the targets can use)."""

    ids: set[int] = field(default_factory=set)
    emails: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    phones: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def _by_contact_row(
    session: Session, workspace_id: int, keys: dict[str, set[str]], by_org: set[str]
) -> set[int]:
    """Mates through the contacts table: same organization and name, a name key plus the street or
    an organization alike (narrowed first by the indexed organization id, or by the street)."""
    companies, named = keys["c"], keys["n"]
    org_keys = _company_orgs(session, workspace_id, companies)
    orgs = {int(key.partition("|")[0]) for key in org_keys}
    streets = {n.partition("|s:")[2] for n in named if "|s:" in n}
    # SQLite has no statistics to choose with: past a few organizations one pass over the table
    # beats a lookup per row, and ``+ 0`` keeps it off the index.
    many = len(orgs) > MANY_ORGS and not is_postgres(session)
    org_column = Contact.organization_id + 0 if many else Contact.organization_id
    first, last = lower_trim(Contact.first_name), lower_trim(Contact.last_name)
    org = Contact.organization_id.cast(String)
    same_company = or_(
        in_values(session, concat(org, literal("|"), first), org_keys),
        in_values(session, concat(org, literal("|"), last), org_keys),
    )
    alike = in_values(session, Contact.organization_id, {int(key.rpartition(":")[2]) for key in by_org})
    named_alike = in_values(session, concat(NAME_KEY, literal("|g:"), org), by_org)
    street = lower_trim(Contact.street)
    same_street = in_values(session, concat(NAME_KEY, literal("|s:"), street), named)
    queries = [
        (orgs, select(Contact.id).where(in_values(session, org_column, orgs), same_company)),
        (by_org, select(Contact.id).where(alike, named_alike)),
        (
            streets,
            live(workspace_id, select(Contact.id)).where(in_values(session, street, streets), same_street),
        ),
    ]
    found: set[int] = set()
    for wanted, query in queries:
        if wanted:  # an empty key set would still cost a scan
            found.update(session.scalars(query))
    return found


def _by_email(session: Session, workspace_id: int, keys: dict[str, set[str]]) -> list[tuple[int, str]]:
    """(contact, address) pairs at a target's company domain with a target's first or last name, or
    with a target's name key and email local part."""
    companies, named = keys["c"], keys["n"]
    domains = {c[1:].partition("|")[0] for c in companies if c[0] == "d"}
    locals_ = {n.partition("|l:")[2] for n in named if "|l:" in n}
    if not (domains or locals_):
        return []
    local, domain = email_parts(session)
    first, last = lower_trim(Contact.first_name), lower_trim(Contact.last_name)
    query = (
        select(ContactEmail.contact_id, ContactEmail.email)
        .join(Contact, Contact.id == ContactEmail.contact_id)
        # Domains cannot use an index: scan the table rather than walk the (workspace, email)
        # index and fetch every row a second time (``+ 0`` keeps the planner off it).
        .where(ContactEmail.workspace_id + 0 == workspace_id)
        .where(or_(in_values(session, domain, domains), in_values(session, local, locals_)))
        .where(
            or_(
                in_values(session, concat(literal("d"), domain, literal("|"), first), companies),
                in_values(session, concat(literal("d"), domain, literal("|"), last), companies),
                in_values(session, concat(NAME_KEY, literal("|l:"), local), named),
            )
        )
    )
    return [(number, address) for number, address in session.execute(query)]


def find_mates(session: Session, workspace_id: int, keys: dict[str, set[str]], by_org: set[str]) -> Mates:
    """Contacts sharing a block with the targets, found by the database (see
    :func:`leadwell.contacts.dedupe._block_keys`).

    ``keys`` are the targets' block keys by kind (``p``, ``c``, ``n``, without the kind prefix);
    ``by_org`` their ``<name key>|g:<organization id>`` keys for the *other* organizations whose names
    are alike. Each query narrows by something cheap (an indexed organization id, an email's domain or
    local part, a street, a phone) before comparing the composite keys the blocks are made of. Queries
    starting from an organization or an address are scoped by it; the caller keeps live ones (its
    ``_load_rows``) and leaves out the targets themselves.
    """
    mates = Mates(ids=_by_contact_row(session, workspace_id, keys, by_org))
    for number, address in _by_email(session, workspace_id, keys):
        mates.ids.add(number)
        mates.emails[number].append(address)
    if keys["p"]:
        phones = phone_elements(session)
        query = select(Contact.id, phones.c.value).join(phones, true())
        query = live(workspace_id, query).where(in_values(session, phones.c.value, keys["p"]))
        for number, phone in session.execute(query):
            mates.ids.add(number)
            mates.phones[number].append(phone)
    return mates
