"""The pure-Python grader: one contact's values in, a :class:`Fit` out.

It defines the semantics the SQL grader (:mod:`leadwell.icp.sql`) must reproduce, and a property test
holds the two to it on both databases.

- Each must-have is met, unmet or unknown. Any unmet must-have qualifies the contact out: grade F,
  score 0 (the reasons still list every criterion).
- The score is 100 × (weights of met nice-to-haves) / (all nice-to-have weights), rounded half up;
  with no nice-to-haves a contact that passes every must-have scores 100. Unknown is not a failure:
  it earns nothing, and its field is listed in ``unknown``.
- The grade is the first of A–D whose threshold the score reaches, else E.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from leadwell.icp.criteria import Criterion
from leadwell.icp.definition import Definition
from leadwell.icp.fields import CONTACT_TEXT, ORGANIZATION_TEXT, Kind
from leadwell.icp.reading import (
    custom_display,
    custom_is_set,
    custom_text,
    employee_bounds,
    fold,
    plain_text,
    range_text,
    tag_texts,
)
from leadwell.icp.reasons import Reason, expand_reasons
from leadwell.icp.units import quantity

State = Literal["met", "unmet", "unknown"]


@dataclass(frozen=True)
class Fit:
    """A contact's fit to one profile. ``stored`` is the compact reasons list the database keeps
    (state, value, state, value… one pair per criterion); ``reasons`` spells it out."""

    score: int
    grade: str
    qualified_out: bool
    unknown: list[str]
    stored: list[str | None]
    reasons: list[Reason]


def score_of(met_weight: int, total_weight: int) -> int:
    """round(100 × met / total), halves up, in integers (SQL does the same integer division)."""
    if total_weight == 0:
        return 100
    return (200 * met_weight + total_weight) // (2 * total_weight)


def grade_of(score: int, grades: Mapping[str, int], qualified_out: bool) -> str:
    if qualified_out:
        return "F"
    for letter in ("A", "B", "C", "D"):
        if score >= grades[letter]:
            return letter
    return "E"


def grade_contact(definition: Definition, contact_values: Mapping[str, Any]) -> Fit:
    """Grade one contact. ``contact_values`` maps ``contact.<column>`` and ``organization.<column>``
    (``custom`` included) to stored values; missing keys are unknown (see :func:`values_of`)."""
    observed = [observe(criterion, contact_values) for criterion in definition.criteria]
    states = [state for state, _ in observed]
    qualified_out = any(
        state == "unmet" for state, c in zip(states, definition.criteria, strict=True) if c.kind == "must"
    )
    met = sum(
        c.weight or 0
        for state, c in zip(states, definition.criteria, strict=True)
        if c.kind == "nice" and state == "met"
    )
    score = 0 if qualified_out else score_of(met, definition.total_weight)
    undecided = {
        c.field.path for state, c in zip(states, definition.criteria, strict=True) if state == "unknown"
    }
    # Each field once, in the order fields first appear in the definition.
    unknown = [path for path in dict.fromkeys(c.field.path for c in definition.criteria) if path in undecided]
    stored: list[str | None] = [item for pair in observed for item in pair]
    return Fit(
        score,
        grade_of(score, definition.grades, qualified_out),
        qualified_out,
        unknown,
        stored,
        expand_reasons(definition, stored),
    )


def observe(criterion: Criterion, values: Mapping[str, Any]) -> tuple[State, str | None]:
    """(state, the contact's value as text) for one criterion."""
    field = criterion.field
    if field.kind is Kind.TAGS:
        tags = tag_texts(values.get("contact.tags"))
        return _tags(criterion, tags), ("; ".join(tags) or None)
    if field.kind is Kind.RANGE:
        low, high = employee_bounds(values)
        return _numeric(criterion, low, high), range_text(low, high)
    if field.kind is Kind.TEXT:
        text = plain_text(values.get(field.path))
        return _text(criterion, text, text is not None), text
    raw = (values.get(f"{field.table}.custom") or {}).get(field.column)
    shown = custom_display(raw)
    if criterion.numeric:
        number = quantity(raw, criterion.scale)
        return _numeric(criterion, number, number), shown
    return _text(criterion, custom_text(raw), custom_is_set(raw)), shown


def _text(criterion: Criterion, text: str | None, is_set: bool) -> State:
    if criterion.op == "is_set":
        return "met" if is_set else "unmet"
    if text is None:
        return "unknown"
    if criterion.op == "matches":
        assert criterion.pattern is not None
        hit = criterion.pattern.search(text)
    elif criterion.op == "contains":
        hit = criterion.texts[0] in fold(text)
    else:
        hit = fold(text) in criterion.texts
    return "met" if hit != (criterion.op == "not_in") else "unmet"


def _tags(criterion: Criterion, tags: list[str]) -> State:
    if criterion.op == "is_set":
        return "met" if tags else "unmet"
    if not tags:
        return "unknown"
    hit = any(fold(tag) in criterion.texts for tag in tags)
    return "met" if hit != (criterion.op == "not_in") else "unmet"


def _numeric(criterion: Criterion, low: float | None, high: float | None) -> State:
    """Against a value known as [low, high] (None: unbounded that way; both None: not known)."""
    if criterion.op == "is_set":
        return "met" if low is not None or high is not None else "unmet"
    floor, ceiling = criterion.low, criterion.high
    met = (floor is None or (low is not None and low >= floor)) and (
        ceiling is None or (high is not None and high <= ceiling)
    )
    unmet = (floor is not None and high is not None and high < floor) or (
        ceiling is not None and low is not None and low > ceiling
    )
    return "met" if met else "unmet" if unmet else "unknown"


def values_of(contact: Any, organization: Any | None) -> dict[str, Any]:
    """The values mapping for ORM objects (or any objects with the same attributes)."""
    values = {f"contact.{name}": getattr(contact, name) for name in (*CONTACT_TEXT, "tags", "custom")}
    if organization is not None:
        for name in (*ORGANIZATION_TEXT, "employees", "employees_min", "employees_max", "custom"):
            values[f"organization.{name}"] = getattr(organization, name)
    return values
