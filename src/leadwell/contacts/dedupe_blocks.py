"""Which contacts share a block with someone else: the first step of a full duplicate scan.

A full scan over a million contacts cannot hold everyone's blocking keys in memory, and need not:
almost every key belongs to one contact only, and a contact alone in all its blocks has nobody to be
compared with. So the database groups the keys (:func:`leadwell.contacts.dedupe._block_keys`, built
here from the same SQL expressions the targeted scan uses) and returns only the contacts in a block
of two or more. Every member of such a block is returned, so the blocks rebuilt from these contacts
are exactly the full scan's blocks, minus the lonely ones that could never give a pair.

The one clue the database cannot compute is an organization's *core* name (without case,
punctuation or legal form, done by rapidfuzz's processor): organizations are grouped by core in
Python, and only contacts of organizations whose core another organization shares can meet there
(two people of the *same* organization are the company rule's business, not this one's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.contacts.dedupe_sql import (
    NAME_KEY,
    AnySelect,
    Query,
    concat,
    email_parts,
    in_values,
    live,
    lower_trim,
    phone_elements,
)
from leadwell.db.models import Contact, ContactEmail, Organization

# Keys of (contact id, block key) pairs, one query per kind of block.
KeyQuery = Callable[[Session, int], AnySelect]


def scan(workspace_id: int, query: Query) -> Query:
    """Like :func:`live`, for a pass over the whole workspace: reading the table straight through
    beats walking an index on ``workspace_id`` and fetching every row from it (``+ 0`` keeps the
    planner off the index)."""
    return query.where(Contact.workspace_id + 0 == workspace_id, Contact.merged_into_id.is_(None))


def _usable_name() -> ColumnElement[bool]:
    """As in :func:`leadwell.contacts.dedupe._load_rows`: a one-letter last name or no first name
    would make a name key that lumps strangers together."""
    return and_(func.length(func.trim(Contact.last_name)) > 1, func.trim(Contact.first_name) != "")


def _phone_keys(session: Session, workspace_id: int) -> AnySelect:
    phones = phone_elements(session)
    query = select(Contact.id.label("contact_id"), concat(literal("p:"), phones.c.value).label("key"))
    return scan(workspace_id, query.join(phones, true()))


def _company_keys(session: Session, workspace_id: int, free_mail: frozenset[str]) -> AnySelect:
    """``c:<company>|<first or last name>``: the company is a non-free email domain, or the
    organization's domain (``d…``), or the organization itself when it has no domain (``o…``).

    An address at the organization's own domain would name the same company twice: it is left out
    here rather than removed by a costly ``UNION``. Both name parts come from one pass (a join with
    a two-row table), not from a second scan."""
    _local, domain = email_parts(session)
    first, last = lower_trim(Contact.first_name).label("first"), lower_trim(Contact.last_name).label("last")
    by_email = (
        select(Contact.id.label("contact_id"), concat(literal("d"), domain).label("company"), first, last)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .outerjoin(Organization, Organization.id == Contact.organization_id)
        .where(~in_values(session, domain, sorted(free_mail)))
        .where(or_(Organization.domain.is_(None), Organization.domain != domain))
    )
    organization = case(
        (Organization.domain.is_not(None), concat(literal("d"), Organization.domain)),
        else_=concat(literal("o"), Contact.organization_id.cast(String)),
    )
    by_org = select(Contact.id, organization, first, last).join(
        Organization, Organization.id == Contact.organization_id
    )
    companies = union_all(scan(workspace_id, by_email), scan(workspace_id, by_org)).subquery()
    parts = union_all(select(literal(1).label("part")), select(literal(2))).subquery()
    name = case((parts.c.part == 1, companies.c.first), else_=companies.c.last)
    key = concat(literal("c:"), companies.c.company, literal("|"), name)
    return select(companies.c.contact_id, key).join(parts, true()).where(name != "")


def _local_part_keys(session: Session, workspace_id: int) -> AnySelect:
    """``n:<name key>|l:<email local part>``."""
    local, _domain = email_parts(session)
    query = select(Contact.id.label("contact_id"), concat(literal("n:"), NAME_KEY, literal("|l:"), local))
    query = query.join(ContactEmail, ContactEmail.contact_id == Contact.id)
    return scan(workspace_id, query).where(_usable_name())


def _street_keys(session: Session, workspace_id: int) -> AnySelect:
    """``n:<name key>|s:<street>``."""
    street = lower_trim(Contact.street)
    query = select(Contact.id.label("contact_id"), concat(literal("n:"), NAME_KEY, literal("|s:"), street))
    return scan(workspace_id, query).where(_usable_name(), street != "")


def _crowded(session: Session, keys: AnySelect) -> set[int]:
    """Contacts holding a key that another contact holds too.

    One sort by key with a window count, rather than grouping and then looking the keys up again.
    A contact holding the same key twice (``Lee Lee``, one local part at two domains) counts
    twice and is loaded for nothing, which costs a little time and never a pair.
    """
    pairs = keys.subquery()
    contact_id, key = pairs.c[0], pairs.c[1]
    holders = func.count().over(partition_by=key).label("holders")
    counted = select(contact_id.label("contact_id"), holders).subquery()
    return set(session.scalars(select(counted.c.contact_id).where(counted.c.holders > 1)))


def _alike_organization_members(session: Session, workspace_id: int, core: Callable[[str], str]) -> set[int]:
    """Contacts in a ``n:<name key>|g:<core>`` block with someone of *another* organization."""
    orgs_by_core: dict[str, list[int]] = defaultdict(list)
    for number, name in session.execute(
        select(Organization.id, Organization.name).where(Organization.workspace_id == workspace_id)
    ):
        key = core(name)
        if key:
            orgs_by_core[key].append(number)
    core_of = {number: key for key, numbers in orgs_by_core.items() if len(numbers) > 1 for number in numbers}
    if not core_of:
        return set()
    query = live(workspace_id, select(Contact.id, NAME_KEY, Contact.organization_id)).where(
        _usable_name(), in_values(session, Contact.organization_id, core_of)
    )
    blocks: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for number, name_key, org in session.execute(query):
        blocks[(name_key, core_of[org])].append((number, org))
    return {
        number
        for members in blocks.values()
        if len({org for _number, org in members}) > 1
        for number, _org in members
    }


def crowded_contacts(
    session: Session,
    workspace_id: int,
    free_mail: frozenset[str],
    core: Callable[[str], str],
    engine: Engine | None = None,
) -> set[int]:
    """Live contacts that share at least one block with another contact (see the module's doc).

    With ``engine`` the searches run two at a time, each on a connection of its own: the database
    works while Python waits, so both cores are busy. Only for data already committed, since other
    connections cannot see ``session``'s uncommitted rows."""
    searches: list[Callable[[Session], set[int]]] = [  # longest first, to balance two workers
        lambda s: _crowded(s, _company_keys(s, workspace_id, free_mail)),
        lambda s: _alike_organization_members(s, workspace_id, core),
        lambda s: _crowded(s, _local_part_keys(s, workspace_id)),
        lambda s: _crowded(s, _phone_keys(s, workspace_id)),
        lambda s: _crowded(s, _street_keys(s, workspace_id)),
    ]
    if engine is None:
        return set().union(*(search(session) for search in searches))

    def on_own_connection(search: Callable[[Session], set[int]]) -> set[int]:
        with Session(engine) as own:
            return search(own)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return set().union(*pool.map(on_own_connection, searches))
