"""Grading in the database on each backend: versions, fits, incremental re-grading and its events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import Session

from leadwell.contacts import organizations, service
from leadwell.contacts.merge import merge_contacts
from leadwell.contacts.schemas import ContactCreate, ContactUpdate, OrganizationUpdate
from leadwell.db.models import Event, Fit, Icp, IcpVersion, Workspace
from leadwell.db.session import Database
from leadwell.icp.definition import parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.regrade import regrade_after_import, regrade_contacts
from leadwell.icp.store import apply_definition, grade_counts
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant

PROFILE: dict[str, Any] = {
    "slug": "consulting",
    "name": "Complex consulting projects",
    "must": [
        {"field": "organization.employees", "op": "gte", "value": 100},
        {"field": "custom.roi_months", "op": "lte", "value": "3 months"},
    ],
    "nice": [
        {"field": "contact.title", "op": "matches", "value": "(?i)cto|chief technology", "weight": 30},
        {"field": "contact.tags", "op": "contains", "value": "vip", "weight": 10},
    ],
}


def apply(session: Session, workspace: Workspace, **changes: Any) -> Icp:
    return apply_definition(session, workspace.id, parse_definition({**PROFILE, **changes})).icp


def fit_of(session: Session, contact_id: int, icp: Icp) -> Fit:
    fit = session.get(Fit, (contact_id, icp.id), populate_existing=True)
    assert fit is not None
    return fit


def fit_events(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Event.properties).where(Event.type == "fit_changed").order_by(Event.id))
    return list(rows)


def test_grade_all_stores_scores_grades_and_reasons(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        big = factories.make_organization(session, ws, employees=120)
        range_ = factories.make_organization(session, ws, employees_min=50, employees_max=250)
        small = factories.make_organization(session, ws, employees=20)
        fits = factories.make_contact(
            session, ws, organization_id=big.id, title="CTO", tags=["VIP"], custom={"roi_months": "2 months"}
        )
        straddles = factories.make_contact(session, ws, organization_id=range_.id, custom={"roi_months": 2})
        out = factories.make_contact(session, ws, organization_id=small.id, title="CTO")
        merged = factories.make_contact(session, ws, organization_id=big.id, merged_into_id=fits.id)
        icp = apply(session, ws)
        run = grade_all(session, ws.id, icp)
        assert run.graded == 3 and run.changed == 0
        assert run.counts == {"A": 1, "B": 0, "C": 0, "D": 0, "E": 1, "F": 1}
        best = fit_of(session, fits.id, icp)
        assert (best.score, best.grade, best.qualified_out, best.version) == (100, "A", False, 1)
        assert best.reasons == ["met", "120", "met", "2 months", "met", "CTO", "met", "VIP"]
        unknown = fit_of(session, straddles.id, icp)
        assert (unknown.score, unknown.grade, unknown.qualified_out) == (0, "E", False)
        assert unknown.unknown == ["organization.employees", "contact.title", "contact.tags"]
        assert unknown.reasons[:2] == ["unknown", "50–250"]
        failed = fit_of(session, out.id, icp)
        assert (failed.score, failed.grade, failed.qualified_out) == (0, "F", True)
        assert failed.unknown == ["custom.roi_months", "contact.tags"]
        assert session.get(Fit, (merged.id, icp.id)) is None


def test_applying_the_same_definition_adds_no_version(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        first = apply_definition(session, ws.id, parse_definition(PROFILE))
        # Defaults written out mean the same thing: still no new version.
        explicit = {**PROFILE, "grades": {"A": 80, "B": 65, "C": 50, "D": 35}}
        again = apply_definition(session, ws.id, parse_definition(explicit))
        assert (first.outcome, again.outcome, again.version) == ("created", "unchanged", 1)
        changed = apply_definition(session, ws.id, parse_definition({**PROFILE, "name": "Renamed"}))
        assert (changed.outcome, changed.version, changed.icp.name) == ("new version", 2, "Renamed")
        versions = session.scalars(select(IcpVersion.version).where(IcpVersion.icp_id == first.icp.id))
        assert sorted(versions) == [1, 2]


def test_fits_record_the_version_and_a_new_version_writes_events(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        org = factories.make_organization(session, ws, employees=150)
        contact = factories.make_contact(session, ws, organization_id=org.id, custom={"roi_months": 1})
        icp = apply(session, ws)
        grade_all(session, ws.id, icp)
        assert fit_of(session, contact.id, icp).grade == "E"
        icp = apply(session, ws, must=[{"field": "organization.employees", "op": "gte", "value": 200}])
        run = grade_all(session, ws.id, icp)
        fit = fit_of(session, contact.id, icp)
        assert (fit.version, fit.grade, run.changed) == (2, "F", 1)
        assert fit_events(session) == [
            {
                "icp": "consulting",
                "from_grade": "E",
                "to_grade": "F",
                "version": 2,
                "score": 0,
                "why": "ICP consulting changed to version 2: now grade F (was E)",
            }
        ]
        assert grade_all(session, ws.id, icp).changed == 0  # nothing moved: no event


def test_organization_changes_regrade_its_people_with_a_plain_reason(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    ws = tenant.workspace
    with db.session() as session:
        apply(session, ws, must=[{"field": "organization.employees", "op": "gte", "value": 100}])
        icp = session.scalars(select(Icp)).one()
        org = factories.make_organization(session, ws, employees=80)
        person = factories.make_contact(session, ws, organization_id=org.id, title="CTO")
        grade_all(session, ws.id, icp)
        assert fit_of(session, person.id, icp).grade == "F"
        organizations.update_organization(session, ws.id, org.id, OrganizationUpdate(employees=120))
        assert fit_of(session, person.id, icp).grade == "B"  # 30 of 40
        organizations.update_organization(session, ws.id, org.id, OrganizationUpdate(industry="Software"))
        assert [e["why"] for e in fit_events(session)] == [
            "organization employees changed from 80 to 120: now grade B (was F)"
        ]
        organizations.delete_organization(session, ws.id, org.id)
        assert fit_of(session, person.id, icp).grade == "B"  # unknown size is not a failure
        assert len(fit_events(session)) == 1  # same grade: no event


def test_contact_create_and_update_grade_through_the_service(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    ws = tenant.workspace
    with db.session() as session:
        icp = apply(session, ws, must=[{"field": "contact.country", "op": "in", "value": ["DE"]}])
        grade_all(session, ws.id, icp)
        created = service.create_contact(session, codec, ws.id, ContactCreate(first_name="Ada", country="FR"))
        assert fit_of(session, created.id, icp).grade == "F"
        assert fit_events(session) == []  # a first grading is not a change
        service.update_contact(
            session, codec, ws.id, created.id, ContactUpdate(country="DE", title="CTO"), "t"
        )
        assert fit_of(session, created.id, icp).grade == "B"
        assert [e["why"] for e in fit_events(session)] == [
            "country changed from FR to DE; title changed from nothing to CTO: now grade B (was F)"
        ]
        service.update_contact(session, codec, ws.id, created.id, ContactUpdate(last_name="Lovelace"), "t")
        assert len(fit_events(session)) == 1


def test_merging_drops_the_merged_contacts_fit(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        icp = apply(session, ws)
        first = factories.make_contact(session, ws)
        second = factories.make_contact(session, ws, title="CTO")
        grade_all(session, ws.id, icp)
        merge_contacts(session, ws.id, first.id, second.id)
        assert session.get(Fit, (second.id, icp.id), populate_existing=True) is None
        assert fit_of(session, first.id, icp).reasons[4:6] == ["met", "CTO"]  # the title came across


def test_regrade_is_scoped_to_the_workspace_and_the_ids(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    with db.session() as session:
        mine = factories.make_contact(session, tenant.workspace)
        theirs = factories.make_contact(session, other_tenant.workspace)
        icp = apply(session, tenant.workspace)
        assert regrade_contacts(session, tenant.workspace.id, [mine.id, theirs.id]) == 0
        assert session.get(Fit, (theirs.id, icp.id)) is None
        assert fit_of(session, mine.id, icp).workspace_id == tenant.workspace.id
        assert regrade_contacts(session, other_tenant.workspace.id, [theirs.id]) == 0  # it has no profile


def test_regrade_after_import_works_in_chunks(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        icp_id = apply(session, ws).id
        ids = [factories.make_contact(session, ws).id for _ in range(3)]
    assert regrade_after_import(db, ws.id, ids) == 0
    with db.session() as session:
        assert grade_counts(session, ws.id, icp_id)["F"] == 0
        assert sum(grade_counts(session, ws.id, icp_id).values()) == 3


def test_grading_in_two_halves_on_own_connections_matches_one_statement(db: Database, tenant: Tenant) -> None:
    """On PostgreSQL ``engine`` splits the upsert by contact id over two connections; the fits must
    be exactly those of one statement (on SQLite the engine is ignored)."""
    ws = tenant.workspace
    with db.session() as session:
        big = factories.make_organization(session, ws, employees=120)
        small = factories.make_organization(session, ws, employees=20)
        for number in range(9):
            factories.make_contact(
                session,
                ws,
                organization_id=(big.id, small.id, None)[number % 3],
                title="CTO" if number % 2 else "Buyer",
                custom={"roi_months": f"{number} months"},
            )
        icp = apply(session, ws)

    def fits() -> list[tuple[object, ...]]:
        with db.session() as session:
            rows = session.execute(
                select(Fit.contact_id, Fit.score, Fit.grade, Fit.qualified_out, Fit.unknown, Fit.reasons)
                .where(Fit.icp_id == icp.id)
                .order_by(Fit.contact_id)
            )
            return [tuple(row) for row in rows]

    with db.session() as session:
        grade_all(session, ws.id, session.get(Icp, icp.id), db.engine)  # type: ignore[arg-type]
    halves = fits()
    with db.session() as session:
        session.execute(delete(Fit))
    with db.session() as session:
        grade_all(session, ws.id, session.get(Icp, icp.id))  # type: ignore[arg-type]
    assert halves == fits() and len(halves) == 9 and {row[2] for row in halves} >= {"B", "F"}


def test_a_regrade_turns_jit_off_for_itself_only(db: Database, tenant: Tenant) -> None:
    """PostgreSQL: JIT is off while a few contacts are re-graded, then back as it was in the
    transaction; SQLite, which has no JIT, is sent nothing about it."""
    postgres = db.dialect == "postgresql"
    sent: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace, title="CTO")
        apply(session, tenant.workspace)
        if postgres:
            session.execute(text("SET LOCAL jit = on"))
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            regrade_contacts(session, tenant.workspace.id, [contact.id])
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        toggles = [statement for statement in sent if "jit" in statement]
        if postgres:
            assert len(toggles) == 2 and session.execute(text("SHOW jit")).scalar() == "on"
        else:
            assert toggles == []
