"""Set-based grading: one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` grades every live contact of a
workspace (or the listed ones) against a profile, in the database, with the semantics of
:mod:`leadwell.icp.evaluate`.

The SELECT is three steps, each a subquery fenced with ``OFFSET 0`` so that neither database merges
it into the next (both would then copy a criterion's expression, regular expression and all, into
every place that uses its result):

1. ``observed``: per criterion, the contact's value (text, number, or a head-count range) and the
   value as reasons show it; tags criteria are decided here.
2. ``decided``: per criterion, met / unmet / unknown.
3. the row of ``fits``: qualified out, score, grade, the unknown fields and the reasons.
"""

from __future__ import annotations

import json
from functools import lru_cache, reduce
from operator import add, or_
from typing import Any

from sqlalchemy import (
    Boolean,
    Executable,
    Integer,
    Select,
    String,
    Subquery,
    Table,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from leadwell.db.models import Base
from leadwell.db.types import UTCDateTime
from leadwell.icp.criteria import Criterion
from leadwell.icp.definition import Definition, from_document
from leadwell.icp.evaluate import grade_of
from leadwell.icp.fields import Kind
from leadwell.icp.sql_values import CONTACTS, MET, ORGANIZATIONS, UNKNOWN, UNMET, Expr, Reader, text

FITS: Table = Base.metadata.tables["fits"]
COLUMNS = ("workspace_id", "contact_id", "icp_id", "version", "score", "grade", "qualified_out")
RESULT_COLUMNS = (*COLUMNS, "unknown", "reasons", "graded_at")


def _observed(reader: Reader, definition: Definition, restricted: bool, ranged: bool = False) -> Subquery:
    columns: list[Expr] = [CONTACTS.c.id.label("contact_id")]
    for number, criterion in enumerate(definition.criteria):
        columns.extend(_observe(reader, criterion, number))
    query = (
        select(*columns)
        .select_from(CONTACTS.outerjoin(ORGANIZATIONS, ORGANIZATIONS.c.id == CONTACTS.c.organization_id))
        .where(CONTACTS.c.workspace_id == bindparam("workspace_id"), CONTACTS.c.merged_into_id.is_(None))
    )
    if restricted:
        query = query.where(CONTACTS.c.id.in_(bindparam("ids", expanding=True)))
    if ranged:  # one of several parts graded at once on connections of their own
        query = query.where(CONTACTS.c.id.between(bindparam("low"), bindparam("high")))
    return query.offset(0).subquery("observed")


def _observe(reader: Reader, criterion: Criterion, n: int) -> list[Expr]:
    """The columns step 1 gives a criterion: a{n} (and b{n} for a range), or s{n} when decided here,
    and v{n}, its value as text (for a range, made in step 2 from a{n} and b{n})."""
    field = criterion.field
    if field.kind is Kind.TAGS:
        state = reader.tags_state(criterion.op, criterion.texts)
        return [state.label(f"s{n}"), reader.tags_display().label(f"v{n}")]
    if field.kind is Kind.RANGE:
        exact = ORGANIZATIONS.c.employees
        low = func.coalesce(exact, ORGANIZATIONS.c.employees_min)
        high = func.coalesce(exact, ORGANIZATIONS.c.employees_max)
        return [low.label(f"a{n}"), high.label(f"b{n}")]  # its text is made in step 2, from these
    table = CONTACTS if field.table == "contact" else ORGANIZATIONS
    if field.kind is Kind.TEXT:
        value = func.nullif(table.c[field.column], text(""), type_=String)
        return [value.label(f"a{n}"), value.label(f"v{n}")]
    json_column = table.c.custom
    shown = reader.custom_display(json_column, field.column).label(f"v{n}")
    if criterion.op == "is_set":
        state = case((reader.custom_is_set(json_column, field.column), MET), else_=UNMET)
        return [state.label(f"s{n}"), shown]
    if criterion.numeric:
        return [reader.custom_quantity(json_column, field.column, criterion.scale).label(f"a{n}"), shown]
    return [reader.custom_text(json_column, field.column).label(f"a{n}"), shown]


def _range_text(low: Expr, high: Expr) -> Expr:
    """ "120", "50–250", "500+", "up to 9" (see reading.range_text)."""
    low_text, high_text = cast(low, String), cast(high, String)
    return case(
        (low.is_not(None) & high.is_not(None) & (low == high), low_text),
        (low.is_not(None) & high.is_not(None), low_text + text("–") + high_text),
        (low.is_not(None), low_text + text("+")),
        (high.is_not(None), text("up to ") + high_text),
    )


def _decide(reader: Reader, criterion: Criterion, observed: Subquery, n: int) -> Expr:
    """Step 2: met / unmet / unknown for criterion ``n`` from step 1's columns."""
    if f"s{n}" in observed.c:
        return observed.c[f"s{n}"]
    value = observed.c[f"a{n}"]
    if criterion.numeric:
        high = observed.c.get(f"b{n}", value)
        return _numeric_state(criterion, value, high)
    if criterion.op == "is_set":
        if f"b{n}" in observed.c:
            return case((value.is_not(None) | observed.c[f"b{n}"].is_not(None), MET), else_=UNMET)
        return case((value.is_not(None), MET), else_=UNMET)
    if criterion.op == "matches":
        assert criterion.pattern is not None
        hit = reader.matches(value, criterion.pattern)
    elif criterion.op == "contains":
        hit = reader.contains(value, criterion.texts[0])
    else:
        hit = reader.fold(value).in_(criterion.texts)
    yes, no = (UNMET, MET) if criterion.op == "not_in" else (MET, UNMET)
    return case((value.is_(None), UNKNOWN), (hit, yes), else_=no)


def _numeric_state(criterion: Criterion, low: Expr, high: Expr) -> Expr:
    """Against a value known as [low, high]; a NULL end is unbounded (see evaluate._numeric)."""
    met: list[Expr] = []
    unmet: list[Expr] = []
    if criterion.low is not None:
        floor = literal(criterion.low)
        met.append(low >= floor)
        unmet.append(high < floor)
    if criterion.high is not None:
        ceiling = literal(criterion.high)
        met.append(high <= ceiling)
        unmet.append(low > ceiling)
    return case((reduce(lambda a, b: a & b, met), MET), (reduce(or_, unmet), UNMET), else_=UNKNOWN)


def _decided(reader: Reader, definition: Definition, observed: Subquery) -> Subquery:
    columns: list[Expr] = [observed.c.contact_id]
    for n, criterion in enumerate(definition.criteria):
        columns.append(_decide(reader, criterion, observed, n).label(f"s{n}"))
        if criterion.field.kind is Kind.RANGE:
            shown = _range_text(observed.c[f"a{n}"], observed.c[f"b{n}"])
        else:
            shown = observed.c[f"v{n}"]
        columns.append(shown.label(f"v{n}"))
    return select(*columns).offset(0).subquery("decided")


def _unknown(reader: Reader, definition: Definition, decided: Subquery) -> Expr:
    """The JSON list of fields with an unknown criterion, each once, in criterion order."""
    by_field: dict[str, list[Expr]] = {}
    for n, criterion in enumerate(definition.criteria):
        by_field.setdefault(criterion.field.path, []).append(decided.c[f"s{n}"] == UNKNOWN)
    parts = [
        case((reduce(or_, conditions), text("," + json.dumps(path))), else_=text(""))
        for path, conditions in by_field.items()
    ]
    joined = reduce(add, parts, text(""))
    return reader.json_text(text("[") + func.substr(joined, 2, type_=String) + text("]"))


def _fit_row(reader: Reader, definition: Definition, decided: Subquery) -> Select[Any]:
    """Step 3: the row ``fits`` stores."""
    pairs = [(c, decided.c[f"s{n}"], decided.c[f"v{n}"]) for n, c in enumerate(definition.criteria)]
    out = [state == UNMET for c, state, _ in pairs if c.kind == "must"]
    qualified_out = reduce(or_, out) if out else false()
    met = reduce(
        add,
        [case((state == MET, c.weight or 0), else_=0) for c, state, _ in pairs if c.kind == "nice"],
        literal(0, Integer()),
    )
    total = definition.total_weight
    earned = (met * 200 + total) // (2 * total) if total else literal(100, Integer())
    score = case((qualified_out, 0), else_=earned)
    # The grade of each score 0–100 as one 101-letter text: one substr instead of up to four
    # comparisons, each of which would compute the score again.
    letters = "".join(grade_of(score, definition.grades, False) for score in range(101))
    grade = case((qualified_out, text("F")), else_=func.substr(text(letters), earned + 1, 1, type_=String))
    # One flat list (state, value, …): a nested array per criterion costs twice as much to build.
    reasons = reader.array([item for _, state, value in pairs for item in (state, value)])
    return select(
        bindparam("workspace_id", type_=Integer()),
        decided.c.contact_id,
        bindparam("icp_id", type_=Integer()),
        bindparam("version", type_=Integer()),
        score,
        grade,
        case((qualified_out, literal(True, Boolean())), else_=literal(False, Boolean())),
        _unknown(reader, definition, decided),
        reader.json_text(reasons),
        bindparam("now", type_=UTCDateTime()),
    ).where(decided.c.contact_id.is_not(None))  # SQLite's upsert needs a WHERE after INSERT … SELECT


def grading_select(
    definition: Definition, dialect: str, restricted: bool = False, ranged: bool = False
) -> Select[Any]:
    """The SELECT of :func:`grading_statement` on its own (to look at, or EXPLAIN)."""
    reader = Reader(dialect)
    observed = _observed(reader, definition, restricted, ranged)
    return _fit_row(reader, definition, _decided(reader, definition, observed))


@lru_cache(maxsize=128)
def _statement(canonical: str, dialect: str, restricted: bool, ranged: bool) -> Executable:
    definition = from_document(json.loads(canonical))
    source = grading_select(definition, dialect, restricted, ranged)
    insert: Any = postgresql.insert(FITS) if dialect == "postgresql" else sqlite.insert(FITS)
    statement = insert.from_select(list(RESULT_COLUMNS), source)
    keys = ("contact_id", "icp_id")
    changed = {name: statement.excluded[name] for name in RESULT_COLUMNS if name not in keys}
    # A fit that comes out the same is not written again: re-grading an unchanged workspace reads
    # but hardly writes, and graded_at says when the fit last changed.
    differs = [FITS.c[name] != statement.excluded[name] for name in changed if name != "graded_at"]
    upsert = statement.on_conflict_do_update(
        index_elements=[FITS.c.contact_id, FITS.c.icp_id], set_=changed, where=reduce(or_, differs)
    )
    if restricted:  # a few contacts: say which fits were written, for the change events
        returning: Executable = upsert.returning(
            FITS.c.contact_id, FITS.c.grade, FITS.c.version, FITS.c.score, FITS.c.reasons
        )
        return returning
    whole: Executable = upsert
    return whole


def grading_statement(
    definition: Definition, dialect: str, restricted: bool = False, ranged: bool = False
) -> Executable:
    """The upsert that grades with ``definition``; built once per definition and database.

    Parameters: ``workspace_id``, ``icp_id``, ``version``, ``now`` and, when ``restricted``, ``ids``;
    restricted, it returns the fits it inserted or changed (contact_id, grade, version, score,
    reasons). ``ranged`` grades contact ids from ``low`` to ``high`` only."""
    return _statement(definition.canonical(), dialect, restricted, ranged)
