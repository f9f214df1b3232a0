"""What a draft profile would do to the workspace, without saving it: grade counts and examples.

The editor asks for this on every change, so it has to be right and quick, and it must not write.
It runs the grading SELECT of :func:`leadwell.icp.sql.grading_select` — the very query whose rows
:func:`~leadwell.icp.grading.grade_all` upserts into ``fits`` — as a plain read, in two statements:

1. One statement grades every live contact once (a CTE of contact, grade, score and "has unknowns")
   and reads it seven times: a ``GROUP BY grade`` for the counts, and for each grade the three best
   scores (a top-3 sort, not a sort of every row). At most 24 rows leave the database whatever the
   workspace's size; nothing loops over contacts in Python.
2. The reasons of those few examples come from the same SELECT restricted to their ids.

Why a read and not grading into ``fits`` inside a transaction that is rolled back: the upsert would
write, index and log a row per contact only to throw them away, take row locks that make a
concurrent import's re-grading wait, and on SQLite hold the database's one write lock meanwhile.
The counts are the same by construction, since it is the same SELECT (merged contacts left out in
both), and the tests check that a preview's counts equal what saving then stores. Only the columns
the counts need are read from the grading SELECT, so the database skips building each contact's
reasons list (PostgreSQL drops unused outputs of a subquery) except for the examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, case, func, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from leadwell.db.models import Contact
from leadwell.db.types import utcnow
from leadwell.icp.definition import Definition
from leadwell.icp.reasons import Reason, expand_reasons
from leadwell.icp.sql import RESULT_COLUMNS, grading_select
from leadwell.icp.store import GRADES

EXAMPLES = 3


@dataclass(frozen=True)
class Example:
    """A contact the draft would put in a grade, with the reasons that matter most."""

    contact_id: int
    name: str
    organization: str | None
    grade: str
    score: int
    reasons: list[Reason]


@dataclass(frozen=True)
class Ranked:
    contact_id: int
    grade: str
    score: int


@dataclass(frozen=True)
class Preview:
    """How many live contacts would get each grade, how many would have unknowns, and examples."""

    counts: dict[str, int]
    unknown: int
    examples: dict[str, list[Example]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def qualified_out(self) -> int:
        return self.counts["F"]


def _params(workspace_id: int) -> dict[str, Any]:
    # icp_id and version are only copied into the rows, which are not stored.
    return {"workspace_id": workspace_id, "icp_id": 0, "version": 0, "now": utcnow()}


def _graded(definition: Definition, dialect: str, restricted: bool = False) -> dict[str, Any]:
    """The grading SELECT as a subquery, its columns by the names ``fits`` gives them."""
    graded = grading_select(definition, dialect, restricted).subquery("graded")
    return dict(zip(RESULT_COLUMNS, graded.c, strict=True))


def _summary(definition: Definition, dialect: str) -> Any:
    """One statement: the count and the number with unknowns per grade (``kind`` "count", one
    GROUP BY), and the best three contacts of each grade (``kind`` "example", a top-3 per grade),
    all read from one grading of the workspace (a CTE used seven times is computed once)."""
    column = _graded(definition, dialect)
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    graded = select(
        column["contact_id"].label("contact_id"),
        column["grade"].label("grade"),
        column["score"].label("score"),
        case((length(column["unknown"]) > 0, 1), else_=0).label("has_unknown"),
    ).cte("grades")
    counts = select(
        literal("count", String()).label("kind"),
        graded.c.grade,
        func.count().label("a"),
        func.sum(graded.c.has_unknown, type_=Integer).label("b"),
    ).group_by(graded.c.grade)
    parts = [counts]
    for letter in GRADES:
        best = (
            select(graded.c.grade, graded.c.contact_id, graded.c.score)
            .where(graded.c.grade == letter)
            .order_by(graded.c.score.desc(), graded.c.contact_id)
            .limit(EXAMPLES)
            .subquery(f"best_{letter.lower()}")
        )
        parts.append(select(literal("example", String()), best.c.grade, best.c.contact_id, best.c.score))
    return union_all(*parts)


def _stored(value: Any) -> list[str | None]:
    """A reasons list as the driver returns it (PostgreSQL: a list; SQLite: JSON text)."""
    stored: list[str | None] = value if isinstance(value, list) else json.loads(value)
    return stored


def top_reasons(reasons: list[Reason], grade: str, limit: int = 3) -> list[Reason]:
    """The reasons that explain a grade best: for F the failed must-haves; otherwise the
    nice-to-haves met (heavier first), what is unknown, the nice-to-haves missed, the musts met."""
    if grade == "F":
        return [reason for reason in reasons if reason.kind == "must" and reason.state == "unmet"][:limit]

    def order(reason: Reason) -> tuple[int, int]:
        if reason.kind == "must":
            rank = 1 if reason.state == "unknown" else 3
        else:
            rank = {"met": 0, "unknown": 1, "unmet": 2}[reason.state]
        return rank, -(reason.weight or 0)

    return sorted(reasons, key=order)[:limit]


def display_name(contact: Contact) -> str:
    return f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"


def _examples(
    session: Session, workspace_id: int, definition: Definition, ranked: list[Ranked]
) -> dict[str, list[Example]]:
    ids = [row.contact_id for row in ranked]
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name
    column = _graded(definition, dialect, restricted=True)
    query = select(column["contact_id"], column["reasons"])
    rows = session.execute(query, {**_params(workspace_id), "ids": ids})
    reasons = {contact_id: _stored(stored) for contact_id, stored in rows}
    contacts = {
        contact.id: contact
        for contact in session.scalars(
            select(Contact).where(Contact.id.in_(ids)).options(selectinload(Contact.organization))
        )
    }
    examples: dict[str, list[Example]] = {}
    for row in ranked:
        contact = contacts[row.contact_id]
        expanded = expand_reasons(definition, reasons[row.contact_id])
        organization = contact.organization.name if contact.organization else None
        examples.setdefault(row.grade, []).append(
            Example(
                contact.id,
                display_name(contact),
                organization,
                row.grade,
                row.score,
                top_reasons(expanded, row.grade),
            )
        )
    return examples


def preview(session: Session, workspace_id: int, definition: Definition) -> Preview:
    """Grade every live contact of the workspace with ``definition`` in a read-only query."""
    dialect = session.get_bind().dialect.name
    rows = session.execute(_summary(definition, dialect), _params(workspace_id)).all()
    counts = dict.fromkeys(GRADES, 0)
    unknown = 0
    ranked: list[Ranked] = []
    for kind, grade, first, second in rows:
        if kind == "count":
            counts[grade] = first
            unknown += second or 0
        else:
            ranked.append(Ranked(first, grade, second))
    ranked.sort(key=lambda row: (row.grade, -row.score, row.contact_id))
    return Preview(counts, unknown, _examples(session, workspace_id, definition, ranked))
