"""The SQL grader agrees with the Python grader, on each database, for generated contacts,
organizations and profiles; and so do their building blocks (numbers with units, patterns, case)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from leadwell.db import migrate as migrations
from leadwell.db.models import Contact, Fit, Organization
from leadwell.db.session import Database
from leadwell.icp.definition import parse_definition
from leadwell.icp.evaluate import grade_contact, values_of
from leadwell.icp.grading import grade_all
from leadwell.icp.reading import fold
from leadwell.icp.regex import check_pattern
from leadwell.icp.store import apply_definition
from leadwell.icp.units import POSTGRES_PATTERN, text_quantity
from tests import factories

EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXTS = [
    "CTO",
    "cto",
    "Chief Technology Officer",
    "VP Sales",
    "vp sales\n",
    "ÉTOILE",
    "étoile",
    "",
    "a.b",
    "x]y",
]
COUNTRIES = ["DE", "AT", "FR", "de", ""]
INDUSTRIES = ["Software", "SOFTWARE", "Consulting", "", "Éducation"]
TAG_POOL: list[Any] = ["vip", "VIP", "b", "", "Ünï", 3]
CUSTOM_VALUES: list[Any] = [
    "3 months", "12 weeks", " 90 days ", "1 year", "4", "n/a", 3, 0, -1, 3.5, 0.1, True, False, "",
    ["a"], [], {}, "1,200", "1.2k", "2 Months", "3 mo", "7d", "10\n", "٣", 12345678901, "2.5 yrs",
]  # fmt: skip
PATTERNS = [
    "(?i)cto|chief technology", "^vp", "sales$", "a.b", "(?i)é", r"\w{3}", "[^a-z]", r"(?i)[a-f]+\d?",
    r"x\]", "^$", "(?i)^(?:vp|cto)", "s{2,}",
]  # fmt: skip

optional = st.one_of
maybe_text = st.sampled_from([*TEXTS, None])
heads = st.integers(0, 400)
employees = st.one_of(
    st.builds(lambda n: {"employees": n}, heads),
    st.builds(lambda a, b: {"employees_min": min(a, b), "employees_max": max(a, b)}, heads, heads),
    st.builds(lambda a: {"employees_min": a}, heads),
    st.builds(lambda b: {"employees_max": b}, heads),
    st.just({}),
)
customs = st.dictionaries(
    st.sampled_from(["roi_months", "segment"]), st.sampled_from(CUSTOM_VALUES), max_size=2
)
organizations = st.fixed_dictionaries(
    {"size": employees, "industry": st.sampled_from([*INDUSTRIES, None]), "custom": customs}
)
contacts = st.fixed_dictionaries(
    {
        "title": maybe_text,
        "country": st.sampled_from([*COUNTRIES, None]),
        "tags": st.lists(st.sampled_from(TAG_POOL), max_size=3),
        "custom": customs,
        "organization": st.one_of(st.none(), st.integers(0, 2)),
    }
)


def _criterion(field: Any, op: Any, value: Any = None, **extra: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A criterion strategy from strategies (or plain values) for its parts."""

    def part(thing: Any) -> st.SearchStrategy[Any]:
        return thing if isinstance(thing, st.SearchStrategy) else st.just(thing)

    def build(f: str, o: str, v: Any) -> dict[str, Any]:
        return {"field": f, "op": o, **({} if v is None else {"value": v}), **extra}

    return st.builds(build, part(field), part(op), part(value))


def _criteria() -> st.SearchStrategy[dict[str, Any]]:
    size = "organization.employees"
    threshold = st.sampled_from([1, 50, 99.5, 100, 250, "1.2k", "0.1k"])
    duration = st.sampled_from(["3 months", "2 weeks", "90 days", "1 year", 3, 0.5])
    texts = st.sampled_from(["contact.title", "contact.country", "organization.industry"])
    custom = st.sampled_from(["custom.roi_months", "custom.segment", "organization.custom.segment"])
    any_text = st.one_of(texts, custom)
    set_fields = st.sampled_from(
        [size, "contact.title", "contact.tags", "custom.roi_months", "organization.custom.segment"]
    )
    pair = st.lists(st.integers(0, 300), min_size=2, max_size=2).map(sorted)
    words = st.lists(
        st.sampled_from(["cto", "DE", "software", "4", "true", "vp sales", 3]), min_size=1, max_size=3
    )
    tags = st.lists(st.sampled_from(["vip", "B", "ünï"]), min_size=1, max_size=2)
    compare = st.sampled_from(["gte", "lte"])
    return st.one_of(
        _criterion(size, compare, threshold),
        _criterion(size, "between", pair),
        _criterion(set_fields, "is_set"),
        _criterion(custom, compare, duration),
        _criterion(custom, compare, st.sampled_from([1, 3, 0.5]), unit="months"),
        _criterion(custom, "between", st.sampled_from([[0, "1 year"], ["1 week", 400]])),
        _criterion(any_text, "matches", st.sampled_from(PATTERNS)),
        _criterion(any_text, st.sampled_from(["in", "not_in"]), words),
        _criterion(any_text, "contains", st.sampled_from(["o", "month", "ÉT", "soft"])),
        _criterion("contact.tags", st.sampled_from(["in", "not_in"]), tags),
        _criterion("contact.tags", "contains", st.sampled_from(["vip", "Ünï"])),
    )


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(_criteria(), min_size=1, max_size=6))
    kinds = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    must = [c for c, is_must in zip(chosen, kinds, strict=True) if is_must]
    nice = [
        {**c, "weight": draw(st.integers(1, 50))}
        for c, is_must in zip(chosen, kinds, strict=True)
        if not is_must
    ]
    cuts = sorted(draw(st.sets(st.integers(0, 100), min_size=4, max_size=4)), reverse=True)
    return {
        "slug": "gen",
        "name": "Generated",
        "grades": dict(zip("ABCD", cuts, strict=True)),
        "must": must,
        "nice": nice,
    }


def _seed(
    session: Session, orgs: list[dict[str, Any]], people: list[dict[str, Any]]
) -> tuple[int, list[int]]:
    workspace = factories.make_workspace(session)
    made = [
        factories.make_organization(
            session, workspace, **org["size"], industry=org["industry"], custom=org["custom"]
        )
        for org in orgs
    ]
    ids = []
    for person in people:
        index = person["organization"]
        organization_id = made[index].id if index is not None and index < len(made) else None
        fields = {key: person[key] for key in ("title", "country", "tags", "custom")}
        ids.append(factories.make_contact(session, workspace, organization_id=organization_id, **fields).id)
    return workspace.id, ids


@EXAMPLES
@given(
    profile=profiles(),
    orgs=st.lists(organizations, max_size=3),
    people=st.lists(contacts, min_size=1, max_size=6),
)
def test_sql_and_python_graders_agree(
    db: Database, profile: dict[str, Any], orgs: list[dict[str, Any]], people: list[dict[str, Any]]
) -> None:
    definition = parse_definition(profile)
    with db.sessions() as session:
        try:
            workspace_id, ids = _seed(session, orgs, people)
            icp = apply_definition(session, workspace_id, definition).icp
            grade_all(session, workspace_id, icp)
            session.expire_all()  # read back what the database stores, as the SQL grader saw it
            for contact_id in ids:
                contact = session.get_one(Contact, contact_id)
                organization = (
                    session.get(Organization, contact.organization_id) if contact.organization_id else None
                )
                expected = grade_contact(definition, values_of(contact, organization))
                fit = session.get_one(Fit, (contact_id, icp.id))
                got = (fit.score, fit.grade, fit.qualified_out, fit.unknown, fit.reasons)
                assert got == (
                    expected.score,
                    expected.grade,
                    expected.qualified_out,
                    expected.unknown,
                    expected.stored,
                )
        finally:
            session.rollback()


def _quantity_sql(session: Session, value: str, bare: int, durations: bool) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        query = text("SELECT leadwell_quantity(:v, :b, :d)")
        return session.execute(query, {"v": value, "b": bare, "d": durations}).scalar()
    query = text("SELECT leadwell_quantity(:v, :b, :d)")
    return session.execute(query, {"v": json.dumps(value), "b": bare, "d": int(durations)}).scalar()


WRITTEN = ["1,200.5 K days", "3 Mos", "-0.5y", "12,34", "1.2k", "90 days"]
amount_text = st.text(alphabet=list("0123456789,.- \t\nkKmMdaysweekmonthyrDAYSx٣"), max_size=14)


@EXAMPLES
@given(
    values=st.lists(st.one_of(amount_text, st.sampled_from(WRITTEN)), min_size=1, max_size=20),
    bare=st.sampled_from([1, 7, 30, 365]),
    durations=st.booleans(),
)
def test_numbers_with_units_agree(db: Database, values: list[str], bare: int, durations: bool) -> None:
    with db.sessions() as session:
        for value in values:
            assert _quantity_sql(session, value, bare, durations) == text_quantity(value, bare, durations), (
                value
            )


@EXAMPLES
@given(
    pattern=st.sampled_from(PATTERNS),
    subjects=st.lists(
        st.text(alphabet=list("abcdefstvpxyz ÉéSVC.]\n5"), max_size=10), min_size=1, max_size=20
    ),
)
def test_patterns_and_case_folding_agree(db: Database, pattern: str, subjects: list[str]) -> None:
    checked = check_pattern(pattern, "value")
    with db.sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        for subject in subjects:
            if postgres:
                operator = "~*" if checked.insensitive else "~"
                query = text(f'SELECT (:s COLLATE "C") {operator} :p, lower(:s COLLATE "C")')
                found, lowered = session.execute(query, {"s": subject, "p": checked.postgres}).one()
            else:
                query = text("SELECT :s REGEXP :p, lower(:s)")
                found, lowered = session.execute(query, {"s": subject, "p": checked.python}).one()
            assert (bool(found), lowered) == (checked.search(subject), fold(subject)), subject


def test_the_migration_freezes_the_same_number_grammar() -> None:
    path = Path(migrations.__file__).parent / "migrations" / "versions" / "0003_icp.py"
    spec = importlib.util.spec_from_file_location("revision_0003", path)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    assert revision.QUANTITY_PATTERN == POSTGRES_PATTERN
