"""Finding probable duplicates: the rules, the blocking, and what is stored (real databases)."""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from leadwell.contacts import dedupe
from leadwell.contacts.dedupe import find_duplicates
from leadwell.contacts.merge import merge_contacts
from leadwell.db.models import Contact, ContactEmail, DuplicateCandidate, Workspace
from leadwell.db.session import Database
from tests.factories import make_contact, make_organization, make_workspace


def person(session: Session, ws: Workspace, name: str, email: str | None = None, **fields: Any) -> Contact:
    first, _, last = name.partition(" ")
    return make_contact(session, ws, first_name=first, last_name=last, email=email, **fields)


def add_email(session: Session, contact: Contact, address: str) -> None:
    session.add(
        ContactEmail(workspace_id=contact.workspace_id, contact_id=contact.id, email=address, position=1)
    )
    session.flush()


def stored(session: Session, workspace_id: int) -> dict[frozenset[int], DuplicateCandidate]:
    rows = session.scalars(select(DuplicateCandidate).where(DuplicateCandidate.workspace_id == workspace_id))
    return {frozenset((row.contact_a_id, row.contact_b_id)): row for row in rows}


def run(session: Session, ws: Workspace, ids: Collection[int] | None = None) -> dict[frozenset[int], Any]:
    find_duplicates(session, ws.id, ids)
    return stored(session, ws.id)


def pair(*contacts: Contact) -> frozenset[int]:
    return frozenset(contact.id for contact in contacts)


def test_same_phone_is_a_strong_match(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        jon = person(session, ws, "Jon Smith", "jon@gmail.com", phones=["+14155550100"])
        jonathan = person(
            session, ws, "Jonathan Smith", "js@yahoo.com", phones=["+33612345678", "+14155550100"]
        )
        nameless = make_contact(session, ws, first_name="", last_name="", email="x@hotmail.com")
        nameless.phones = ["+14155550100"]
        person(session, ws, "Maria Garcia", "maria@gmail.com", phones=["+14155550111"])
        found = run(session, ws)
        assert set(found) == {pair(jon, jonathan), pair(jon, nameless), pair(jonathan, nameless)}
        candidate = found[pair(jon, jonathan)]
        assert candidate.reasons[0] == "same phone +14155550100"
        assert 85 <= candidate.score <= 100
        assert found[pair(jon, nameless)].score == 90  # no names to temper the match with


def test_same_phone_with_unrelated_names_is_not_enough(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        person(session, ws, "Jon Smith", phones=["+14155550100"])
        person(session, ws, "Priya Raman", phones=["+14155550100"])
        assert run(session, ws) == {}


def test_a_shared_switchboard_number_matches_nobody(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        names = ["Ann Lee", "Anne Lee", "Bob Stone", "Carl Ode", "Dana Fox", "Eve Moss"]
        for name in names:  # six people, one number: a switchboard, not a person's phone
            person(session, ws, name, phones=["+14155550100"])
        assert run(session, ws) == {}


def test_alike_names_at_the_same_organization(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, name="Acme", domain="acme.com")
        jon = person(session, ws, "Jon Smith", "jon@gmail.com", organization_id=acme.id)
        john = person(session, ws, "John Smith", "john@yahoo.com", organization_id=acme.id)
        person(session, ws, "Grace Hopper", "grace@gmail.com", organization_id=acme.id)
        found = run(session, ws)
        assert list(found) == [pair(jon, john)]
        assert found[pair(jon, john)].reasons == [
            "names 94% alike (Jon Smith / John Smith) at the same organization acme.com"
        ]
        assert found[pair(jon, john)].score == pytest.approx(94.7, abs=0.1)


def test_alike_names_with_the_same_company_email_domain(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, name="Acme", domain="acme.com")
        jon = person(session, ws, "Jon Smith", "jon@acme.com")  # no organization set
        john = person(session, ws, "John Smith", "jsmith@acme.com")
        johnny = person(session, ws, "Johnny Smith", "johnny@gmail.com", organization_id=acme.id)
        found = run(session, ws)
        assert found[pair(jon, john)].reasons == [
            "names 94% alike (Jon Smith / John Smith) with the same email domain acme.com"
        ]
        assert pair(john, johnny) in found  # the organization's domain counts too


def test_free_mail_domains_say_nothing(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        person(session, ws, "Jon Smith", "jon@gmail.com", city="Boston", street="1 Main St")
        person(session, ws, "John Smith", "johnsmith@gmail.com", city="Boston", street="9 Elm St")
        assert run(session, ws) == {}


def test_alike_names_need_a_second_clue_elsewhere(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        one = person(session, ws, "Jonathan Smith", "jonathan.smith@gmail.com", street="1 Main St")
        two = person(session, ws, "Jonathon Smith", "j.smith@initech.com", street=" 1 MAIN ST ")
        three = person(session, ws, "Maria Garcia", "mgarcia@gmail.com")
        four = person(session, ws, "Maria Garcia", "mgarcia@globex.com")
        person(session, ws, "Maria Garcias", "maria@hooli.com")  # nothing else in common
        found = run(session, ws)
        assert set(found) == {pair(one, two), pair(three, four)}
        assert found[pair(one, two)].reasons == [
            "names 92% alike (Jonathan Smith / Jonathon Smith), same street address 1 main st"
        ]
        assert found[pair(three, four)].reasons == [
            "names 100% alike (Maria Garcia / Maria Garcia), same email name mgarcia"
        ]


@pytest.mark.parametrize(
    ("first", "second", "alike"),
    [
        ("Globex Corp", "Globex Corp.", True),
        ("Globex Corporation", "GLOBEX", True),
        ("Acme Inc", "Acme Ltd", True),
        ("Unit 2", "Unit 9", False),
        ("Company 2", "Company 972", False),
        ("Initech", "Initrode", False),
        ("Inc", "Acme Inc", False),
    ],
)
def test_organizations_alike_differ_only_in_legal_form(first: str, second: str, alike: bool) -> None:
    core = dedupe.organization_core(first)
    assert (bool(core) and core == dedupe.organization_core(second)) is alike


def test_organizations_with_nearly_the_same_name_are_a_clue(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        first = make_organization(session, ws, name="Globex Corp", domain=None)
        second = make_organization(session, ws, name="Globex Corp.", domain="globex.example.org")
        a = person(session, ws, "Hank Scorpio", organization_id=first.id)
        b = person(session, ws, "Hank Scorpio", organization_id=second.id)
        found = run(session, ws)
        assert found[pair(a, b)].reasons == [
            "names 100% alike (Hank Scorpio / Hank Scorpio), organizations alike (Globex Corp / Globex Corp.)"
        ]


def test_only_contacts_sharing_a_block_are_compared(db: Database) -> None:
    """Same street, names 92% alike either way; only the pair whose last names start alike meets."""
    with db.session() as session:
        ws = make_workspace(session)
        smith = person(session, ws, "Jonathan Smith", street="1 Main St")
        smiht = person(session, ws, "Jonathan Smiht", street="1 Main St")  # same block: "smi" + "j"
        person(session, ws, "Jonathan Snith", street="1 Main St")  # "sni" + "j": never compared
        found = run(session, ws)
        assert list(found) == [pair(smith, smiht)]


@pytest.mark.parametrize(("big_block", "found"), [(1000, True), (3, False)])
def test_big_blocks_are_split_by_the_first_letters_of_the_name(
    db: Database, monkeypatch: pytest.MonkeyPatch, big_block: int, found: bool
) -> None:
    """The price of splitting: a typo in a name's first letters goes unseen in a big block."""
    monkeypatch.setattr(dedupe, "BIG_BLOCK", big_block)
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, domain="acme.com")
        names = ["Jon Smith", "John Smith", "Kathy Zane", "Cathy Zane", "Ada Zane", "Alan Zane"]
        people = [person(session, ws, name, organization_id=acme.id) for name in names]
        expected = {pair(people[0], people[1])} | ({pair(people[2], people[3])} if found else set())
        assert set(run(session, ws)) == expected


def test_stored_pairs_are_ordered_and_never_recreated(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, domain="acme.com")
        later = person(session, ws, "John Smith", organization_id=acme.id)
        earlier = person(session, ws, "Jon Smith", organization_id=acme.id)
        assert find_duplicates(session, ws.id) == 1
        (candidate,) = stored(session, ws.id).values()
        assert (candidate.contact_a_id, candidate.contact_b_id) == tuple(sorted((later.id, earlier.id)))
        assert candidate.status == "open"
        candidate.status = "dismissed"
        session.flush()
        assert find_duplicates(session, ws.id) == 0
        assert find_duplicates(session, ws.id, [later.id]) == 0
        assert [c.status for c in stored(session, ws.id).values()] == ["dismissed"]


def test_contact_ids_limit_the_pairs_to_those_contacts(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, domain="acme.com")
        old_a = person(session, ws, "Jon Smith", organization_id=acme.id)
        old_b = person(session, ws, "John Smith", organization_id=acme.id)
        new = person(session, ws, "Johnny Smith", "johnny@acme.com")
        assert run(session, ws, []) == {}
        found = run(session, ws, [new.id])
        assert set(found) == {pair(new, old_a), pair(new, old_b)}  # not the old pair
        assert set(run(session, ws)) == {pair(new, old_a), pair(new, old_b), pair(old_a, old_b)}


CLUES = ["organization", "org_domain", "email_domain", "phone", "street", "email_name", "orgs_alike"]


@pytest.mark.parametrize("clue", CLUES)
def test_contact_ids_find_mates_through_every_kind_of_block(db: Database, clue: str) -> None:
    """With contact_ids the database finds the other members of the blocks: each kind must lead
    there, and a bystander sharing the clue but not the name must not be paired."""
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, name="Acme", domain="acme.com")
        plain = make_organization(session, ws, name="Globex Corp", domain=None)
        twin = make_organization(session, ws, name="GLOBEX Inc.", domain=None)
        clues: dict[str, tuple[dict[str, Any], ...]] = {
            "organization": ({"organization_id": plain.id},) * 3,
            "org_domain": (
                {"organization_id": acme.id},
                {"email": "john@acme.com"},
                {"organization_id": acme.id},
            ),
            "email_domain": (
                {"email": "jsmith@acme.com"},
                {"email": "john@acme.com"},
                {"email": "zz@acme.com"},
            ),
            "phone": ({"phones": ["+14155550100"]},) * 3,
            "street": ({"street": "1 Main St"},) * 3,
            "email_name": (
                {"email": "jsmith@gmail.com"},
                {"email": "jsmith@yahoo.com"},
                {"email": "jsmith@aol.com"},
            ),
            "orgs_alike": (
                {"organization_id": plain.id},
                {"organization_id": twin.id},
                {"organization_id": twin.id},
            ),
        }
        old_fields, new_fields, other_fields = clues[clue]
        old = person(session, ws, "Jon Smith", **old_fields)
        person(session, ws, "Zed Zulu", **other_fields)
        new = person(session, ws, "John Smith", **new_fields)
        assert set(run(session, ws, [new.id])) == {pair(old, new)}


def crowd(session: Session, ws: Workspace, rng: random.Random, size: int) -> list[Contact]:
    """People from a small pool of names, with typos, shared employers, streets, phones, addresses."""
    orgs = [make_organization(session, ws, name=n, domain=d) for n, d in ORGS]
    firsts = ["Jon", "John", "Johnny", "Ann", "Anne", "Ana", "José", "JOSE"]
    lasts = ["Smith", "Smyth", "Smiht", "Lee", "Leigh", "Müller", "MÜLLER", " Muller"]
    people = []
    for number in range(size):
        org = rng.choice([*orgs, None])
        domain = rng.choice(["gmail.com", "initech.example.net", "hooli.example.net"])
        local = rng.choice(["jsmith", "alee", f"p{number}"])
        fields: dict[str, Any] = {
            "organization_id": org.id if org else None,
            "email": f"{local}{number if rng.random() < 0.7 else ''}@{domain}"
            if rng.random() < 0.8
            else None,
            "phones": [f"+1415555{rng.randrange(20):04d}"] if rng.random() < 0.3 else [],
            "street": rng.choice([None, "1 Main St", "2 Elm St"]),
        }
        if fields["email"] and session.scalar(
            select(ContactEmail.id).where(ContactEmail.email == fields["email"])
        ):
            fields["email"] = None
        people.append(person(session, ws, f"{rng.choice(firsts)} {rng.choice(lasts)}", **fields))
    return people


ORGS = [("Initech", "initech.example.net"), ("Globex Corp", None), ("Globex Inc", None), ("Hooli", None)]


@pytest.mark.parametrize("seed", range(1, 6))
def test_contact_ids_find_exactly_the_pairs_a_full_scan_finds(db: Database, seed: int) -> None:
    """The database-side search for block mates and the in-memory blocks must agree."""
    rng = random.Random(seed)
    with db.session() as session:
        ws = make_workspace(session)
        people = crowd(session, ws, rng, 80)
        targets = {c.id for c in rng.sample(people, 15)}
        find_duplicates(session, ws.id, targets)
        targeted = set(stored(session, ws.id))
        session.execute(delete(DuplicateCandidate))
        find_duplicates(session, ws.id)
        full = set(stored(session, ws.id))
        assert len(full) > 20  # the crowd is dense enough to test something
        assert targeted == {found for found in full if found & targets}


@pytest.mark.parametrize("seed", range(6, 10))
@pytest.mark.parametrize("connections", ["one", "two"])
def test_a_full_scan_finds_what_comparing_everyone_in_memory_finds(
    db: Database, seed: int, connections: str
) -> None:
    """The full scan loads only contacts the database finds in a shared block (on the session's
    connection, or on two others at once); naming every contact as a target loads them all. Both
    must store the same pairs."""
    rng = random.Random(seed)
    with db.session() as session:
        ws = make_workspace(session)
        people = crowd(session, ws, rng, 80)
        person(session, ws, "Lonely Loner", "lonely@initech.example.net")
    with db.session() as session:
        find_duplicates(session, ws.id, [c.id for c in people])
        everyone = set(stored(session, ws.id))
        session.execute(delete(DuplicateCandidate))
        find_duplicates(session, ws.id, engine=db.engine if connections == "two" else None)
        assert len(everyone) > 20
        assert set(stored(session, ws.id)) == everyone


def test_merged_contacts_and_other_workspaces_are_left_out(db: Database) -> None:
    with db.session() as session:
        ws, rival = make_workspace(session), make_workspace(session)
        a = person(session, ws, "Jon Smith", phones=["+14155550100"])
        b = person(session, ws, "John Smith", phones=["+14155550100"])
        c = person(session, ws, "Jon Smith", phones=["+14155550100"])
        theirs = person(session, rival, "Jon Smith", phones=["+14155550100"])
        merge_contacts(session, ws.id, a.id, c.id)
        assert set(run(session, ws)) == {pair(a, b)}
        assert run(session, rival, [theirs.id, a.id]) == {}


def test_scores_and_reasons_combine_signals(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, domain="acme.com")
        jon = person(session, ws, "Jon Smith", organization_id=acme.id, phones=["+14155550100"])
        john = person(session, ws, "John Smith", organization_id=acme.id, phones=["+14155550100"])
        candidate = run(session, ws)[pair(jon, john)]
        assert sorted(candidate.reasons) == [
            "names 94% alike (Jon Smith / John Smith) at the same organization acme.com",
            "same phone +14155550100",
        ]
        assert candidate.score == 100.0  # 98.4 for the phone, plus a little for the second signal


def test_threshold_controls_what_is_kept(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        acme = make_organization(session, ws, domain="acme.com")
        person(session, ws, "Jon Smith", organization_id=acme.id)
        person(session, ws, "John Smith", organization_id=acme.id)
        assert find_duplicates(session, ws.id, threshold=96) == 0
        assert find_duplicates(session, ws.id, threshold=90) == 1
