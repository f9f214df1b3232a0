"""Reasons: why a contact got its grade, criterion by criterion.

The database stores them compactly, a flat JSON list of ``state, value`` per criterion in the
definition's order (``["met", "120", "unknown", null, …]``), next to the definition version they were
graded with; everything else a reason says (the field, the
criterion's text, must or nice, the weight, a note on a straddled range) comes from that version.
At a million contacts this keeps ``fits`` several times smaller, and it is the same on both
databases by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from leadwell.icp.fields import Kind

if TYPE_CHECKING:
    from leadwell.icp.criteria import Criterion
    from leadwell.icp.definition import Definition


@dataclass(frozen=True)
class Reason:
    """One criterion's verdict for one contact."""

    field: str
    criterion: str
    kind: str  # must | nice
    value: str | None  # the contact's value as text
    state: str  # met | unmet | unknown
    weight: int | None  # nice-to-haves only
    note: str | None = None  # why an unknown is unknown, when there was a value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """ "employees ≥ 100: met", "employees ≥ 100: unknown (range 50–250 straddles 100)"."""
        return f"{self.criterion}: {self.state}" + (f" ({self.note})" if self.note else "")


def note_for(criterion: Criterion, state: str, value: str | None) -> str | None:
    """Why a criterion is unknown although the contact has a value."""
    if state != "unknown" or value is None:
        return None
    if criterion.field.kind is Kind.RANGE:
        return f"range {value} straddles {criterion.threshold}"
    if criterion.numeric:
        return f"{value!r} is not a {'duration' if criterion.scale.durations else 'number'}"
    return f"{value!r} is not text"


Stored = Sequence[str | None]


def pairs(stored: Stored) -> list[tuple[str | None, str | None]]:
    """(state, value) per criterion from the stored flat list."""
    return list(zip(stored[::2], stored[1::2], strict=True))


def expand_reasons(definition: Definition, stored: Stored) -> list[Reason]:
    """The stored state/value pairs spelled out with the definition they were graded with."""
    if len(stored) != 2 * len(definition.criteria):
        raise ValueError("stored reasons do not match the definition's criteria")
    reasons = []
    for criterion, (state, value) in zip(definition.criteria, pairs(stored), strict=True):
        assert state is not None
        reasons.append(
            Reason(
                criterion.field.path,
                criterion.label,
                criterion.kind,
                value,
                state,
                criterion.weight,
                note_for(criterion, state, value),
            )
        )
    return reasons


def reasons_text(reasons: Sequence[Reason]) -> str:
    """One line: "employees ≥ 100: met; roi ≤ 90 days: unknown"."""
    return "; ".join(reason.text() for reason in reasons)


@dataclass(frozen=True)
class Graded:
    """A stored grading of one contact: enough to say what changed between two of them."""

    version: int
    grade: str
    definition: Definition
    stored: Stored


def change_reason(slug: str, before: Graded, after: Graded) -> str:
    """Plain words for a grade change: "organization employees changed from 80 to 120: now grade A
    (was C)"; a new profile version is named as the cause instead."""
    if before.version != after.version:
        causes = [f"ICP {slug} changed to version {after.version}"]
    else:
        causes = _value_changes(after.definition, before.stored, after.stored)
    cause = "; ".join(causes) or "regraded"
    return f"{cause}: now grade {after.grade} (was {before.grade})"


def _value_changes(definition: Definition, old: Stored, new: Stored) -> list[str]:
    """For each field whose criteria changed state, how its value changed (each field once)."""
    changes: dict[str, str] = {}
    for criterion, (old_state, old_value), (new_state, new_value) in zip(
        definition.criteria, pairs(old), pairs(new), strict=True
    ):
        noun = criterion.field.noun
        if old_state != new_state and old_value != new_value and noun not in changes:
            changes[noun] = f"{noun} changed from {old_value or 'nothing'} to {new_value or 'nothing'}"
    return list(changes.values())
