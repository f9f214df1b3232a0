"""Finding contacts that are probably one person, for a human to merge or dismiss.

Exact email duplicates cannot exist (one contact per address, by a unique index), so this looks for
the fuzzy kind, each with reasons a person can check:

- the same phone number (E.164): strong, tempered by how alike the names are;
- names alike at the same organization, or with the same company email domain (free-mail domains
  say nothing about an employer);
- names very alike plus a second clue: the same email local part, the same street, organizations
  whose names differ only in legal form ("Acme Inc." / "ACME").

Comparing every pair would be quadratic, so contacts meet only inside *blocks* sharing a key: a
phone; a company (organization or domain) together with a first or last name; the first letters of
the last name plus the first initial together with a clue. The keys are built from values the
database computes (``lower``, ``trim``, ``substr``), so with ``contact_ids`` the database itself
finds the other members of the targets' blocks in a few scans (the queries are in
:mod:`leadwell.contacts.dedupe_sql`), and the two modes agree. The fuzzy
comparisons run in rapidfuzz's C++ loop over a block (``process.extract``), not pair by pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import cast

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Engine, Table, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadwell.contacts.dedupe_blocks import crowded_contacts
from leadwell.contacts.dedupe_sql import (
    NAME_KEY,
    Mates,
    find_mates,
    in_values,
    is_postgres,
    live,
    lower_trim,
    phone_elements,
)
from leadwell.db.models import Contact, ContactEmail, DuplicateCandidate, Organization

# Addresses anyone can get: sharing one says nothing about sharing an employer.
FREE_MAIL = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr ymail.com hotmail.com hotmail.co.uk hotmail.fr
    outlook.com live.com msn.com aol.com icloud.com me.com mac.com protonmail.com proton.me pm.me gmx.com
    gmx.de gmx.net web.de t-online.de mail.com mail.ru yandex.ru yandex.com zoho.com fastmail.com hey.com
    tutanota.com qq.com 163.com 126.com naver.com orange.fr free.fr laposte.net sfr.fr wanadoo.fr libero.it
    virgilio.it comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net sky.com
    btinternet.com virginmedia.com bigpond.com shaw.ca rogers.com example.com example.org example.net
    """.split()  # noqa: SIM905 - a word list reads better than 60 quoted strings
)
# Words that do not tell one organization from another ("Acme Inc." is "ACME").
LEGAL_FORMS = frozenset(
    "inc incorporated corp corporation co ltd limited llc llp plc gmbh ag sa sas sarl bv nv the".split()  # noqa: SIM905
)
SHARED_PHONE = 5  # a number on more contacts than this is a switchboard, not one person's phone
BIG_BLOCK = 1000  # larger blocks are split by the first letters of the name, to stay far from quadratic
NAME_ONLY_PENALTY = 5.0  # names plus a clue are weaker evidence than names at the same company
EXTRA_SIGNAL = 3.0  # each further independent signal adds a little confidence


def fuzzy_key(first_name: str, last_name: str) -> str:
    """A name as rapidfuzz's token sort sees it: lowercase words in alphabetical order."""
    return " ".join(sorted(utils.default_process(f"{first_name} {last_name}").split()))


def organization_core(name: str) -> str:
    """An organization's name without case, punctuation or legal form ("Acme, Inc." → "acme")."""
    return " ".join(word for word in utils.default_process(name).split() if word not in LEGAL_FORMS)


@dataclass
class _People:
    """The contacts under comparison, column by column (compact enough for a million rows)."""

    ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # as shown in reasons
    keys: list[str] = field(default_factory=list)  # as compared
    parts: list[tuple[str, str]] = field(default_factory=list)  # first and last name, lower and trimmed
    orgs: list[int | None] = field(default_factory=list)
    streets: list[str | None] = field(default_factory=list)
    name_keys: list[str | None] = field(default_factory=list)
    targets: list[bool] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    emails: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    phones: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    org_info: dict[int, tuple[str, str | None, str]] = field(default_factory=dict)  # name, domain, core

    def org(self, position: int) -> tuple[str, str | None, str]:
        org = self.orgs[position]
        return self.org_info.get(org, ("", None, "")) if org is not None else ("", None, "")


def _load(session: Session, workspace_id: int, people: _People, ids: Collection[int]) -> None:
    """Append the live contacts ``ids`` as targets, with addresses and phones."""
    start = _load_rows(session, workspace_id, people, ids, True)
    elements = phone_elements(session)
    # By the contacts just loaded: the index on contact_id, and never another workspace's.
    loaded = people.ids[start:]
    emails = select(ContactEmail.contact_id, ContactEmail.email)
    emails = emails.where(in_values(session, ContactEmail.contact_id, loaded))
    phones = live(workspace_id, select(Contact.id, elements.c.value).join(elements, true()))
    phones = phones.where(in_values(session, Contact.id, loaded))
    for number, address in session.execute(emails):
        people.emails[people.index[number]].append(address)
    for number, phone in session.execute(phones):
        people.phones[people.index[number]].append(phone)


def _load_mates(session: Session, workspace_id: int, people: _People, mates: Mates) -> None:
    """Append the live mates (not targets) with the addresses and phones that brought them."""
    start = _load_rows(session, workspace_id, people, mates.ids, False)
    for position in range(start, len(people.ids)):
        number = people.ids[position]
        if number in mates.emails:
            people.emails[position] = mates.emails[number]
        if number in mates.phones:
            people.phones[position] = mates.phones[number]


def _load_rows(
    session: Session, workspace_id: int, people: _People, ids: Collection[int], targets: bool
) -> int:
    """Append the contacts' own columns and organizations; returns the position of the first."""
    columns = select(
        Contact.id,
        Contact.first_name,
        Contact.last_name,
        Contact.organization_id,
        lower_trim(Contact.first_name),
        lower_trim(Contact.last_name),
        lower_trim(Contact.street),
        NAME_KEY,
    ).where(in_values(session, Contact.id, ids))
    start = len(people.ids)
    for number, first, last, org, low_first, low_last, street, name_key in session.execute(
        live(workspace_id, columns)
    ):
        people.index[number] = len(people.ids)
        people.ids.append(number)
        people.names.append(f"{first} {last}".strip())
        people.keys.append(fuzzy_key(first, last))
        people.parts.append((low_first, low_last))
        people.orgs.append(org)
        people.streets.append(street or None)
        usable = len(last.strip()) > 1 and first.strip()  # a short key would lump strangers together
        people.name_keys.append(name_key if usable else None)
        people.targets.append(targets)
    wanted = {org for org in people.orgs[start:] if org is not None} - people.org_info.keys()
    query = select(Organization.id, Organization.name, Organization.domain).where(
        Organization.workspace_id == workspace_id, in_values(session, Organization.id, wanted)
    )
    for number, name, domain in session.execute(query) if wanted else ():
        people.org_info[number] = (name, domain, organization_core(name))
    return start


def _block_keys(people: _People, position: int) -> set[str]:
    """The blocks of a contact: ``p:<phone>``, ``c:<company>|<first or last name>`` (the company
    being ``d<domain>`` or ``o<organization id>``), and ``n:<name key>|<clue>`` where the clue is
    ``l:<email local part>``, ``s:<street>`` or ``g:<organization core>``."""
    keys = {f"p:{phone}" for phone in people.phones.get(position, ())}
    addresses = [address.partition("@")[::2] for address in people.emails.get(position, ())]
    companies = {f"d{domain}" for _local, domain in addresses if domain not in FREE_MAIL}
    _name, domain, core = people.org(position)
    if people.orgs[position] is not None:
        companies.add(f"d{domain}" if domain else f"o{people.orgs[position]}")
    keys |= {f"c:{company}|{part}" for company in companies for part in people.parts[position] if part}
    name_key = people.name_keys[position]
    if name_key:
        clues = {f"l:{local}" for local, _domain in addresses}
        clues |= {f"s:{people.streets[position]}"} if people.streets[position] else set()
        clues |= {f"g:{core}"} if core else set()
        keys |= {f"n:{name_key}|{clue}" for clue in clues}
    return keys


def _blocks(people: _People) -> dict[str, list[int]]:
    """Positions grouped by shared key; only groups that contain a target and someone else."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for position in range(len(people.ids)):
        for key in _block_keys(people, position):
            blocks[key].append(position)
    return {
        key: group
        for key, group in blocks.items()
        if len(group) > 1 and any(people.targets[m] for m in group)
    }


def _core_org_ids(session: Session, workspace_id: int, cores: set[str]) -> dict[str, list[int]]:
    """The workspace's organizations whose names reduce to one of ``cores``."""
    found: dict[str, list[int]] = defaultdict(list)
    if not cores:
        return found
    rows = session.execute(
        select(Organization.id, Organization.name).where(Organization.workspace_id == workspace_id)
    )
    for number, name in rows:
        core = organization_core(name)
        if core in cores:
            found[core].append(number)
    return found


def _target_keys(people: _People) -> dict[str, set[str]]:
    """The targets' block keys by kind (``p``, ``c``, ``n``), without the kind prefix."""
    keys: dict[str, set[str]] = defaultdict(set)
    for position in range(len(people.ids)):
        for key in _block_keys(people, position):
            keys[key[0]].add(key[2:])
    return keys


def _mates(session: Session, workspace_id: int, people: _People) -> Mates:
    """Contacts sharing a block with the targets, found by the database (see :func:`_block_keys` and
    :func:`leadwell.contacts.dedupe_sql.find_mates`); the targets themselves are left out."""
    # (name key, organization) of each target: its own organization is the company rule's, so
    # only the *other* organizations with the same core need a look.
    clues = {(people.name_keys[p], people.orgs[p], people.org(p)[2]) for p in range(len(people.ids))}
    org_ids = _core_org_ids(session, workspace_id, {core for key, _org, core in clues if key and core})
    by_org = {f"{key}|g:{n}" for key, own, core in clues if key and core for n in org_ids[core] if n != own}
    mates = find_mates(session, workspace_id, _target_keys(people), by_org)
    mates.ids -= people.index.keys()
    return mates


def _sub_blocks(people: _People, members: list[int]) -> Iterator[list[int]]:
    """A big block split by the first two letters of the sorted name (typos rarely start a word)."""
    if len(members) <= BIG_BLOCK:
        yield members
        return
    parts: dict[str, list[int]] = defaultdict(list)
    for member in members:
        parts[people.keys[member][:2]].append(member)
    yield from (part for part in parts.values() if len(part) > 1)


def _similar(people: _People, members: list[int], cutoff: float) -> Iterator[tuple[int, int, float]]:
    """Pairs of ``members`` (at least one a target) whose names are at least ``cutoff`` alike."""
    named = [m for m in members if people.keys[m]]
    ordered = [m for m in named if people.targets[m]] + [m for m in named if not people.targets[m]]
    texts = [people.keys[m] for m in ordered]
    for k, member in enumerate(ordered):
        if not people.targets[member]:
            break
        hits = process.extract(
            texts[k], texts[k + 1 :], scorer=fuzz.ratio, processor=None, score_cutoff=cutoff, limit=None
        )
        for _text, score, offset in hits:
            yield member, ordered[k + 1 + offset], score


@dataclass
class _Found:
    score: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)  # one reason per kind of signal

    def add(self, kind: str, score: float, reason: str) -> None:
        self.score = max(self.score, score)
        self.reasons.setdefault(kind, reason)

    @property
    def total(self) -> float:
        return round(min(100.0, self.score + EXTRA_SIGNAL * (len(self.reasons) - 1)), 1)


class _Finder:
    """Applies the rules block by block and collects the pairs, keyed by (smaller id, larger id)."""

    def __init__(self, people: _People, threshold: float) -> None:
        self.people, self.threshold = people, threshold
        self.found: dict[tuple[int, int], _Found] = defaultdict(_Found)

    def _add(self, first: int, second: int, kind: str, score: float, reason: str) -> None:
        a, b = sorted((self.people.ids[first], self.people.ids[second]))
        self.found[(a, b)].add(kind, score, reason)

    def _alike(self, first: int, second: int, score: float) -> str:
        names = self.people.names
        return f"names {int(score)}% alike ({names[first]} / {names[second]})"  # floor: "at least"

    def phone(self, phone: str, members: list[int]) -> None:
        if len(members) > SHARED_PHONE:
            return
        keys, targets = self.people.keys, self.people.targets
        for k, first in enumerate(members):
            for second in members[k + 1 :]:
                if targets[first] or targets[second]:
                    # Without both names there is nothing to temper the match with.
                    alike = fuzz.ratio(keys[first], keys[second]) if keys[first] and keys[second] else None
                    score = 90.0 if alike is None else 70.0 + 0.3 * alike
                    self._add(first, second, "phone", score, f"same phone {phone}")

    def company(self, key: str, members: list[int]) -> None:
        for part in _sub_blocks(self.people, members):
            for first, second, score in _similar(self.people, part, self.threshold):
                if (
                    self.people.orgs[first] is not None
                    and self.people.orgs[first] == self.people.orgs[second]
                ):
                    name, domain, _core = self.people.org(first)
                    where = f"at the same organization {domain or name}"
                else:
                    where = f"with the same email domain {key[1:].partition('|')[0]}"
                self._add(first, second, "company", score, f"{self._alike(first, second, score)} {where}")

    def name(self, key: str, members: list[int]) -> None:
        """Very alike names in a block that already shares a second clue (see :func:`_block_keys`)."""
        clue, value = key.partition("|")[2].split(":", 1)
        cutoff = min(100.0, self.threshold + NAME_ONLY_PENALTY)
        for part in _sub_blocks(self.people, members):
            for first, second, score in _similar(self.people, part, cutoff):
                if clue == "l":
                    hint = f"same email name {value}"
                elif clue == "s":
                    hint = f"same street address {value}"
                elif self.people.orgs[first] != self.people.orgs[second]:  # else the company rule's
                    hint = f"organizations alike ({self.people.org(first)[0]} / {self.people.org(second)[0]})"
                else:
                    continue
                reason = f"{self._alike(first, second, score)}, {hint}"
                self._add(first, second, "name", score - NAME_ONLY_PENALTY, reason)

    def run(self, blocks: dict[str, list[int]]) -> dict[tuple[int, int], _Found]:
        for key, members in blocks.items():
            if key[0] == "p":
                self.phone(key[2:], members)
            elif key[0] == "c":
                self.company(key[2:], members)
            else:
                self.name(key[2:], members)
        return {pair: found for pair, found in self.found.items() if found.total >= self.threshold}


def _store(session: Session, workspace_id: int, found: dict[tuple[int, int], _Found]) -> int:
    """Insert the pairs not recorded before, in any status (a dismissed pair stays dismissed); a
    pair another transaction stored meanwhile is skipped by the unique index."""
    known = session.execute(
        select(DuplicateCandidate.contact_a_id, DuplicateCandidate.contact_b_id).where(
            DuplicateCandidate.workspace_id == workspace_id,
            in_values(session, DuplicateCandidate.contact_a_id, {a for a, _b in found}),
        )
    )
    pairs = sorted(found.keys() - {(a, b) for a, b in known}) if found else []
    table = cast(Table, DuplicateCandidate.__table__)
    statement = (
        (pg_insert if is_postgres(session) else sqlite_insert)(table)
        .on_conflict_do_nothing(index_elements=["workspace_id", "contact_a_id", "contact_b_id"])
        .returning(table.c.id)
    )
    stored = 0
    for start in range(0, len(pairs), 1000):
        rows = [
            {
                "workspace_id": workspace_id,
                "contact_a_id": a,
                "contact_b_id": b,
                "score": found[(a, b)].total,
                "reasons": list(found[(a, b)].reasons.values()),
                "status": "open",
            }
            for a, b in pairs[start : start + 1000]
        ]
        stored += len(session.execute(statement, rows).all())
    return stored


def find_duplicates(
    session: Session,
    workspace_id: int,
    contact_ids: Collection[int] | None = None,
    threshold: float = 85.0,
    engine: Engine | None = None,
) -> int:
    """Store new :class:`DuplicateCandidate` rows for probable duplicates among live contacts.

    ``engine`` lets a full scan search the database on two connections at once (committed data
    only; see :func:`leadwell.contacts.dedupe_blocks.crowded_contacts`).

    With ``contact_ids`` (e.g. the contacts an import touched) only pairs involving one of them are
    considered. Pairs already recorded, whatever their status, are left alone. Returns how many new
    candidates were stored (each with a 0–100 score and its reasons).
    """
    if contact_ids is not None and not contact_ids:
        return 0
    people = _People()
    if contact_ids is None:
        # Everyone is a target, but only those sharing a block with someone can pair up.
        crowded = crowded_contacts(session, workspace_id, FREE_MAIL, organization_core, engine)
        _load(session, workspace_id, people, crowded)
    else:
        _load(session, workspace_id, people, set(contact_ids))
        _load_mates(session, workspace_id, people, _mates(session, workspace_id, people))
    found = _Finder(people, threshold).run(_blocks(people))
    return _store(session, workspace_id, found)
