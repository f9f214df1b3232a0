"""The import pipeline against a real database: matching, idempotence, resume, organizations, export."""

from __future__ import annotations

import csv
import io
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.pool import QueuePool
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.contacts.export import export_contacts
from leadwell.contacts.importing import pipeline, writer
from leadwell.contacts.importing.people import PeopleWrites
from leadwell.contacts.importing.pipeline import ImportOptions, import_file
from leadwell.contacts.importing.reader import UnreadableFile, sha256_of
from leadwell.contacts.importing.writer import Tally
from leadwell.db.models import Contact, ContactEmail, Engagement, Fit, Import, ImportIssue, Organization
from leadwell.db.session import Database
from leadwell.errors import Conflict
from leadwell.icp.definition import parse_definition
from leadwell.icp.store import apply_definition
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Company",
    "Website",
    "# Employees",
    "Job Title",
    "Shoe Size",
]
ROWS = [
    [
        "Ada",
        "Lovelace",
        "Ada@Analytical.io",
        "+44 20 7946 0958",
        "Analytical Engines",
        "analytical.io",
        "120",
        "CTO",
        "38",
    ],
    ["Grace", "Hopper", "grace@navy.example.com", "", "US Navy", "", "1,200", "Rear Admiral", ""],
    ["Alan", "Turing", "alan.turing@gmail.com", "", "", "", "", "Mathematician", "44"],
    ["Charles", "Babbage", "charles@analytical.io", "", "Analytical Engines", "", "100-250", "Founder", ""],
    ["", "", "", "", "Nameless Inc", "", "", "", ""],
    ["Ada", "Lovelace", " ADA@analytical.io ", "", "", "", "", "", ""],
    ["Phone", "Only", "", "+1 415 555 0100", "", "", "", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_creates_people_and_organizations(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", ROWS)
    summary = import_file(db, tenant.workspace.id, path, ImportOptions(list_name="Conference 2026"))
    assert (summary.rows_read, summary.rejected) == (7, 1)
    assert summary.created == 5 and summary.duplicates_in_file == 1
    with db.session() as session:
        ada = session.scalars(select(Contact).where(Contact.email == "ada@analytical.io")).one()
        assert ada.first_name == "Ada" and ada.title == "CTO" and ada.source == "Conference 2026"
        assert ada.phones == ["+442079460958"] and ada.custom.get("shoe_size") == "38"
        assert ada.import_id == summary.import_id
        orgs = {o.name: o for o in session.scalars(select(Organization))}
        assert set(orgs) == {"Analytical Engines", "US Navy"}  # gmail.com makes no organization
        assert orgs["Analytical Engines"].domain == "analytical.io"
        assert orgs["Analytical Engines"].employees == 120
        charles = session.scalars(select(Contact).where(Contact.first_name == "Charles")).one()
        assert charles.organization_id == ada.organization_id
        alan = session.scalars(select(Contact).where(Contact.first_name == "Alan")).one()
        assert alan.organization_id is None
        phone_only = session.scalars(select(Contact).where(Contact.first_name == "Phone")).one()
        assert phone_only.identity_key == "phone:+14155550100"
        rejected = session.scalars(select(ImportIssue).where(ImportIssue.severity == "rejected")).one()
        assert rejected.line == 6
        record = session.get(Import, summary.import_id)
        assert record is not None and record.status == "done" and record.summary["created"] == 5


def test_importing_the_same_file_twice_creates_nothing(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", ROWS)
    import_file(db, tenant.workspace.id, path)
    before = (count(db, Contact), count(db, ContactEmail), count(db, Organization))
    again = import_file(db, tenant.workspace.id, path)
    assert again.created == 0 and again.updated == 0 and again.unchanged == 5
    assert (count(db, Contact), count(db, ContactEmail), count(db, Organization)) == before


def test_known_people_are_filled_in_never_overwritten(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    with db.session() as session:
        factories.make_contact(
            session,
            tenant.workspace,
            first_name="Ada",
            last_name="King",
            email="ada@analytical.io",
            title=None,
        )
    summary = import_file(db, tenant.workspace.id, write_csv(tmp_path / "p.csv", ROWS[:1]))
    assert summary.updated == 1 and summary.created == 0
    with db.session() as session:
        ada = session.scalars(select(Contact).where(Contact.email == "ada@analytical.io")).one()
        assert ada.last_name == "King"  # kept
        assert ada.title == "CTO" and ada.phones == ["+442079460958"]  # filled


def test_an_address_of_someone_else_is_not_stolen(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    with db.session() as session:
        first = factories.make_contact(session, tenant.workspace, first_name="First", email="first@acme.io")
        factories.make_contact(session, tenant.workspace, first_name="Second", email="second@acme.io")
        first_id = first.id
    header = ["Name", "Email", "Email 2", "Email 3"]
    rows = [["First Person", "first@acme.io", "second@acme.io", "new@acme.io"]]
    summary = import_file(db, tenant.workspace.id, write_csv(tmp_path / "p.csv", rows, header))
    assert (summary.created, summary.updated) == (0, 1)  # matched by its first address
    assert any("second@acme.io already belongs" in issue.reason for issue in summary.issues)
    with db.session() as session:
        owners = dict(session.execute(select(ContactEmail.email, ContactEmail.contact_id)).all())
    assert owners["new@acme.io"] == first_id and owners["second@acme.io"] != first_id


def test_an_interrupted_import_resumes_and_completes(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    rows = [[f"P{i}", f"L{i}", f"p{i}@example.com", "", "", "", "", "", ""] for i in range(2500)]
    path = write_csv(tmp_path / "big.csv", rows)

    def crash(read: int) -> None:
        if read >= 1500:
            raise KeyboardInterrupt

    options = ImportOptions(chunk_rows=500)
    with pytest.raises(KeyboardInterrupt):
        import_file(db, tenant.workspace.id, path, options, progress=crash)
    stored = count(db, Contact)
    assert 0 < stored < 2500 and stored % 500 == 0  # whole chunks only
    with db.session() as session:
        emails = count(db, ContactEmail)
        assert emails == stored
    resumed = import_file(db, tenant.workspace.id, path, options)
    assert resumed.resumed_after_line == stored + 1  # the header is line 1
    assert count(db, Contact) == 2500 and count(db, ContactEmail) == 2500
    with db.session() as session:
        assert session.scalars(select(Import.status)).all() == ["done"]


def test_a_failed_import_with_companies_resumes_without_duplicating_them(
    db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a chunk's organizations commit just before its people, so a failure while
    writing the people leaves organizations nobody works for yet: the next run finds and uses them."""
    rows = [
        [f"P{i}", f"L{i}", f"p{i}@firm{i // 2}.example", "", f"Firm {i // 2}", f"firm{i // 2}.example"]
        + ["", "", ""]
        for i in range(2000)
    ]
    path = write_csv(tmp_path / "firms.csv", rows)
    original, calls = PeopleWrites.apply, []

    def third_fails(self: PeopleWrites, connection: Connection, tally: Tally) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("server went away")
        original(self, connection, tally)

    monkeypatch.setattr(PeopleWrites, "apply", third_fails)
    options = ImportOptions(chunk_rows=400)
    with pytest.raises(RuntimeError, match="server went away"):
        import_file(db, tenant.workspace.id, path, options)
    assert count(db, Contact) == 800
    apart = db.engine.dialect.name == "postgresql"
    # The third chunk's 200 firms, and the fourth's, planned while the third was being written.
    assert count(db, Organization) == (800 if apart else 400)
    monkeypatch.setattr(PeopleWrites, "apply", original)
    import_file(db, tenant.workspace.id, path, options)
    assert count(db, Contact) == 2000 and count(db, Organization) == 1000
    with db.session() as session:
        people_per_firm = set(
            session.scalars(select(func.count()).select_from(Contact).group_by(Contact.organization_id))
        )
    assert people_per_firm == {2}  # nobody without a firm, no firm twice


def test_import_settings_do_not_outlive_the_import(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    """SQLite's rarer checkpoints and PostgreSQL's asynchronous commits last only while importing:
    every connection the pool hands out afterwards has the usual settings."""
    import_file(db, tenant.workspace.id, write_csv(tmp_path / "p.csv", ROWS), ImportOptions(chunk_rows=2))
    sqlite = db.engine.dialect.name == "sqlite"
    question = "PRAGMA wal_autocheckpoint" if sqlite else "SHOW synchronous_commit"
    with ExitStack() as stack:
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        connections = [stack.enter_context(db.engine.connect()) for _ in range(pool.size())]
        answers = {connection.exec_driver_sql(question).scalar() for connection in connections}
    assert answers == ({1000} if sqlite else {"on"})


def test_dry_run_stores_nothing(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    summary = import_file(
        db, tenant.workspace.id, write_csv(tmp_path / "p.csv", ROWS), ImportOptions(dry_run=True)
    )
    assert summary.created == 5 and summary.import_id is None
    assert count(db, Contact) == 0 and count(db, Organization) == 0 and count(db, Import) == 0


def test_a_file_without_identifying_columns_is_refused(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["red", "big"]], ["Colour", "Size"])
    with pytest.raises(UnreadableFile) as error:
        import_file(db, tenant.workspace.id, path)
    assert "identify a person" in error.value.detail
    assert count(db, Import) == 0


def test_export_carries_every_field_and_round_trips(
    db: Database, tenant: Tenant, other_tenant: Tenant, tmp_path: Path, codec: IdCodec
) -> None:
    import_file(db, tenant.workspace.id, write_csv(tmp_path / "p.csv", ROWS))
    out = io.StringIO()
    with db.session() as session:
        written = export_contacts(session.connection(), codec, tenant.workspace.id, out)
    assert written == 5
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    ada = next(row for row in table if row["email"] == "ada@analytical.io")
    assert ada["organization"] == "Analytical Engines" and ada["custom.shoe_size"] == "38"
    assert ada["phones"] == "+442079460958" and ada["id"].startswith("ct_")
    exported = tmp_path / "exported.csv"
    exported.write_text(out.getvalue(), encoding="utf-8")
    again = import_file(db, other_tenant.workspace.id, exported)
    assert again.created == 5 and again.rejected == 0


def test_cli_import_reports_and_exits_by_outcome(
    db_url: str, db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    runner = CliRunner()
    path = write_csv(tmp_path / "p.csv", ROWS)
    errors = tmp_path / "errors.csv"
    base = ["--database-url", db_url, "-w", tenant.workspace.slug]
    result = runner.invoke(app, ["import", "contacts", str(path), *base, "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    assert "created: 5" in result.output and "rejected: 1" in result.output
    with errors.open(encoding="utf-8") as handle:
        issues = list(csv.DictReader(handle))
    assert any(row["line"] == "6" and row["severity"] == "rejected" for row in issues)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    refused = runner.invoke(app, ["import", "contacts", str(empty), *base])
    assert refused.exit_code == 2 and "error:" in refused.output
    missing = runner.invoke(app, ["import", "contacts", str(tmp_path / "nope.csv"), *base])
    assert missing.exit_code == 2
    out = tmp_path / "all.csv"
    exported = runner.invoke(app, ["export", "contacts", "--out", str(out), *base])
    assert exported.exit_code == 0 and "5 contacts" in exported.output


def test_a_file_being_imported_is_not_taken_over(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ROWS)
    with db.session() as session:
        live = Import(
            workspace_id=tenant.workspace.id,
            file_name="p.csv",
            list_name="p.csv",
            sha256=sha256_of(path),
            status="running",
            mapping={},
            options={},
            summary={},
        )
        session.add(live)
    with pytest.raises(Conflict) as error:
        import_file(db, tenant.workspace.id, path)
    assert "being imported right now" in error.value.detail
    assert count(db, Contact) == 0
    with db.session() as session:  # once its heartbeat is stale, the next run takes it over
        record = session.scalars(select(Import)).one()
        record.heartbeat_at = record.heartbeat_at - timedelta(minutes=5)
    taken = import_file(db, tenant.workspace.id, path)
    assert taken.import_id == record.id and taken.created == 5


def test_a_failure_midway_marks_the_import_failed_and_a_rerun_completes(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    rows = [[f"P{i}", f"L{i}", f"p{i}@example.com", "", "", "", "", "", ""] for i in range(1200)]
    path = write_csv(tmp_path / "big.csv", rows)

    def fail(read: int) -> None:
        if read >= 1000:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        import_file(db, tenant.workspace.id, path, ImportOptions(chunk_rows=400), progress=fail)
    with db.session() as session:
        record = session.scalars(select(Import)).one()
        assert record.status == "failed" and "disk on fire" in record.summary["error"]
    import_file(db, tenant.workspace.id, path, ImportOptions(chunk_rows=400))
    assert count(db, Contact) == 1200


def test_a_row_joining_two_people_of_the_same_chunk_keeps_addresses_unique(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    header = ["Name", "Email", "Email 2"]
    rows = [["Ann One", "a@acme.io", ""], ["Bea Two", "b@acme.io", ""], ["Ann One", "a@acme.io", "b@acme.io"]]
    summary = import_file(db, tenant.workspace.id, write_csv(tmp_path / "p.csv", rows, header))
    assert summary.created == 2 and summary.duplicates_in_file == 1
    assert any("b@acme.io already belongs" in issue.reason for issue in summary.issues)
    with db.session() as session:
        owners = dict(session.execute(select(ContactEmail.email, ContactEmail.contact_id)).all())
        names = dict(session.execute(select(Contact.id, Contact.first_name)).all())
    assert names[owners["a@acme.io"]] == "Ann" and names[owners["b@acme.io"]] == "Bea"


@pytest.mark.parametrize("full_scan_from", [50_000, 1])
def test_imported_people_are_graded_against_every_profile(
    db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_scan_from: int
) -> None:
    """A few people are graded by id, many in one pass over the workspace: the grades agree."""
    monkeypatch.setattr(pipeline, "FULL_SCAN_FROM", full_scan_from)
    with db.session() as session:
        icp = apply_definition(
            session,
            tenant.workspace.id,
            parse_definition(
                {
                    "slug": "big",
                    "name": "Big organizations",
                    "must": [{"field": "organization.employees", "op": "gte", "value": 100}],
                }
            ),
        ).icp
        icp_id = icp.id
    import_file(db, tenant.workspace.id, write_csv(tmp_path / "people.csv", ROWS))
    with db.session() as session:
        grades = dict(
            session.execute(
                select(Contact.first_name, Fit.grade)
                .join(Fit, Fit.contact_id == Contact.id)
                .where(Fit.icp_id == icp_id)
            ).all()
        )
    # Ada and Charles work for a 120-person firm, Grace for 1,200; Alan's size is unknown.
    assert grades["Ada"] == grades["Charles"] == grades["Grace"] == "A"
    assert grades["Alan"] != "F" and set(grades) == {"Ada", "Grace", "Alan", "Charles", "Phone"}


@pytest.mark.parametrize("preload", [200_000, 0], ids=["preloaded", "looked-up"])
def test_known_organizations_are_matched_by_domain_or_name_and_filled_in(
    db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preload: int
) -> None:
    """Whether the workspace's organizations are read at once or looked up chunk by chunk."""
    monkeypatch.setattr(writer, "PRELOAD_ORGANIZATIONS", preload)
    with db.session() as session:
        engines = factories.make_organization(
            session, tenant.workspace, name="Engines Ltd", domain="analytical.io"
        )
        navy = factories.make_organization(
            session, tenant.workspace, name="US NAVY", domain=None, employees=None
        )
        known = {engines.id, navy.id}
    rows = [*ROWS[:4], ["Nina", "Name", "nina@gmail.com", "", "us navy", "", "1,200", "Captain", ""]]
    import_file(
        db, tenant.workspace.id, write_csv(tmp_path / "people.csv", rows), ImportOptions(chunk_rows=2)
    )
    with db.session() as session:
        orgs = {o.id: o for o in session.scalars(select(Organization))}
        # Analytical Engines by its domain, US Navy by name; Grace's navy.example.com is a new one.
        assert known < set(orgs) and len(orgs) == 3
        assert orgs[navy.id].employees == 1200 and orgs[engines.id].employees == 120  # filled in
        people = dict(session.execute(select(Contact.first_name, Contact.organization_id)).all())
        assert people["Ada"] == people["Charles"] == engines.id and people["Nina"] == navy.id
        assert people["Grace"] not in known


def test_people_repeated_in_the_next_chunk_match_while_it_is_being_written(
    db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL chunk n + 1 is matched while chunk n is still being written: someone created,
    or given an address, by the chunk in flight is found all the same (here every write waits long
    enough for the next chunk to be matched first)."""
    original = PeopleWrites.apply

    def slow_apply(self: PeopleWrites, connection: Connection, tally: Tally) -> None:
        time.sleep(0.3)
        original(self, connection, tally)

    monkeypatch.setattr(PeopleWrites, "apply", slow_apply)
    monkeypatch.setattr(pipeline, "ANALYZE_FIRST", 2)  # statistics refreshed between chunks too
    with db.session() as session:
        known = factories.make_contact(session, tenant.workspace, email="kim@known.io").id
    header = ["First Name", "Last Name", "Email", "Email 2", "Phone"]
    rows = [
        ["Ann", "One", "ann@acme.io", "", ""],
        ["Kim", "Known", "kim@known.io", "kim@home.example", ""],  # gives Kim a second address
        ["Phil", "Lip", "", "", "+1 415 555 0100"],  # no address: known by the phone
        ["Ann", "One", "ann@acme.io", "", ""],
        ["Kim", "", "kim@home.example", "", ""],  # her address from the chunk in flight
        ["Phil", "Lip", "", "", "(415) 555-0100"],
    ]
    path = write_csv(tmp_path / "people.csv", rows, header)
    summary = import_file(db, tenant.workspace.id, path, ImportOptions(chunk_rows=3, default_region="US"))
    assert (summary.created, summary.duplicates_in_file) == (2, 3)
    assert count(db, Contact) == 3
    with db.session() as session:
        owners = dict(session.execute(select(ContactEmail.email, ContactEmail.contact_id)).all())
        phones = session.scalars(select(Contact.phones).where(Contact.first_name == "Phil")).all()
    assert owners["kim@home.example"] == owners["kim@known.io"] == known
    assert phones == [["+14155550100"]]


def test_imported_people_get_a_place_in_the_queue(db: Database, tenant: Tenant, tmp_path: Path) -> None:
    """New people get their engagement row (zero score, the queue state of their stage) as they are
    written; a known person without one (an older contact) gets it when filled in."""
    with db.session() as session:
        known = factories.make_contact(session, tenant.workspace, email="known@acme.io", stage="nurture").id
        session.execute(delete(Engagement).where(Engagement.contact_id == known))
    header = ["Email", "Lifecycle Stage"]
    rows = [["lead@acme.io", "Lead"], ["won@acme.io", "Customer"], ["known@acme.io", "Lead"]]
    summary = import_file(db, tenant.workspace.id, write_csv(tmp_path / "stages.csv", rows, header))
    assert (summary.created, summary.updated) == (2, 1)
    with db.session() as session:
        placed = session.execute(
            select(Contact.email, Engagement.queue_state, Engagement.score, Engagement.version)
            .join(Engagement, Engagement.contact_id == Contact.id)
            .order_by(Contact.email)
        ).all()
    assert [tuple(row) for row in placed] == [
        ("known@acme.io", "parked", 0.0, 0),
        ("lead@acme.io", "open", 0.0, 0),
        ("won@acme.io", "closed", 0.0, 0),
    ]
