"""``leadwell icp suggest`` and the suggestions page: rules mined from the workspace's won and lost
contacts, or from a CSV file, and a rule turned into an ideal client profile draft.

A workspace's examples are its decided contacts (:func:`~leadwell.predict.workspace_data.training_examples`:
won against lost or disqualified), with features known before each outcome. A file's rows are
labelled by its target column: a row is a win when its cell is the positive value (case and spaces
aside); rows with no value there are left out, since their outcome is unknown.

A rule becomes a profile's must-haves where its conditions test a contact's or an organization's
fields (``employees ≥ 100`` → ``organization.employees gte 100``, ``industry = Retail`` →
``organization.industry in ["Retail"]``, ``custom.roi_months ≤ 3`` as written). Conditions on
what a lead did (downloads, replies, days since the last visit) are engagement, which scoring rules
reward and profiles do not test: they go into the profile's description as a note. Conditions a
profile cannot test at all (the seniority read from a title's words, the fit grade a profile itself
gives) are named in the note as left out; a rule with no condition a profile can test is refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Icp
from leadwell.errors import InvalidInput
from leadwell.icp.definition import parse_definition
from leadwell.icp.fields import CUSTOM_KEY
from leadwell.predict.conditions import Condition, number_text
from leadwell.predict.csv_cli import find_column
from leadwell.predict.features import CATEGORICAL, NUMERIC, Feature, infer_features_explained
from leadwell.predict.rules import Mined, MiningOptions, Rule, mine_rules
from leadwell.predict.table import Table, read_csv_table
from leadwell.predict.workspace_data import EVENT_COLUMNS, ICP_FIELDS, training_examples

# Fewer decided wins than this, and no rule could be told from luck.
MIN_WINS = 10
ENGAGEMENT_COLUMNS = frozenset(
    {name for pair in EVENT_COLUMNS.values() for name in pair}
    | {"days to first engagement", "days since created"}
)
NOT_MAPPED = {
    "seniority": "read from the title's words, which a profile's patterns cannot match alike",
    "fit grade": "the grade a profile gives; a profile cannot test itself",
    "fit score": "the score a profile gives; a profile cannot test itself",
}
MAX_NAME = 200
MAX_DESCRIPTION = 2000


class TooFewWins(InvalidInput):
    """Too few wins to tell a rule from luck."""

    def __init__(self, wins: int, where: str) -> None:
        plural = "" if wins == 1 else "s"
        super().__init__(
            f"target: {wins} win{plural} in {where}; finding rules needs at least {MIN_WINS}", field="target"
        )
        self.wins = wins


@dataclass(frozen=True)
class Suggestion:
    """The rules mined, what from ("the workspace" or a file name), and columns left out with why."""

    mined: Mined
    source: str
    skipped: dict[str, str] = field(default_factory=dict)
    unlabelled: int = 0  # file rows without a target value, left out


def suggest(
    table: Table, labels: Sequence[int], features: Sequence[Feature], source: str, options: MiningOptions
) -> Suggestion:
    """The rules telling ``labels`` 1 from 0; :class:`TooFewWins` under :data:`MIN_WINS` wins."""
    wins = sum(1 for label in labels if label == 1)
    if 0 < wins < MIN_WINS:
        raise TooFewWins(wins, source)
    return Suggestion(mine_rules(table, labels, features, options), source)


def labelled(table: Table, target: str, positive: str) -> tuple[Table, list[int], int]:
    """The rows with a target value, their labels (1 where it is ``positive``, case and spaces
    aside, as ``leadwell model train`` reads it), and how many rows had none. :class:`InvalidInput`
    naming ``--target`` when the file has no such column."""
    at = table.columns.index(find_column(table, target, "--target"))
    wanted = positive.strip().casefold()
    cells = [(row[at] or "").strip().casefold() for row in table.rows]
    known = [position for position, cell in enumerate(cells) if cell]
    labels = [int(cells[position] == wanted) for position in known]
    return table.subset(known), labels, len(table.rows) - len(known)


def suggest_from_csv(
    content: bytes,
    name: str,
    target: str,
    positive: str,
    *,
    id_columns: Collection[str] = (),
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    options: MiningOptions | None = None,
) -> Suggestion:
    """Rules from a CSV file: every column but the target and ``id_columns`` is a feature, its kind
    inferred unless ``numeric``/``categorical`` name it."""
    table, labels, unlabelled = labelled(read_csv_table(content, name), target, positive)
    if not labels:
        raise InvalidInput(f"--target {target}: every row's target is empty", field="target")
    if all(labels) or not any(labels):
        found = "every" if all(labels) else "no"
        raise InvalidInput(
            f"--positive {positive}: {found} row has it in {target}: rules need wins and other outcomes",
            field="positive",
        )
    ids = [find_column(table, column, "--id-column") for column in id_columns]
    excluded = [find_column(table, target, "--target"), *ids]
    features, skipped = infer_features_explained(table, excluded, numeric, categorical)
    result = suggest(table, labels, features, name, options or MiningOptions())
    return Suggestion(result.mined, name, skipped, unlabelled)


def suggest_from_workspace(
    session: Session, workspace_id: int, options: MiningOptions | None = None, profile_fields: bool = False
) -> Suggestion:
    """Rules from the workspace's decided contacts: won against lost or disqualified. With
    ``profile_fields``, only from what a profile can test (who they are, not what they did)."""
    examples = training_examples(session, workspace_id)
    if examples.wins < MIN_WINS:
        raise TooFewWins(examples.wins, "this workspace")
    numeric = set(examples.numeric)
    features = [
        Feature(name, NUMERIC if name in numeric else CATEGORICAL)
        for name in examples.table.columns
        if not profile_fields or criterion_of(Condition(name, "is_set")) is not None
    ]
    return suggest(examples.table, examples.labels, features, "this workspace", options or MiningOptions())


def report_lines(suggestion: Suggestion) -> list[str]:
    """What ``leadwell icp suggest`` prints: the base rate, then a rule a line, best first."""
    mined = suggestion.mined
    head = (
        f"{mined.rows:,} leads in {suggestion.source}, {mined.positives:,} wins "
        f"(base rate {mined.base_rate:.2f})"
    )
    if suggestion.unlabelled:
        head += f"; {suggestion.unlabelled:,} rows without a target value left out"
    lines = [head]
    if suggestion.skipped:
        lines.append(
            "columns left out: " + "; ".join(f"{name} ({why})" for name, why in suggestion.skipped.items())
        )
    if not mined.rules:
        return [*lines, "no rule finds wins clearly more often than chance"]
    return [*lines, *(f"{number}. {rule.summary()}" for number, rule in enumerate(mined.rules, start=1))]


def rule_record(rank: int, rule: Rule) -> dict[str, Any]:
    """One rule as plain data (``--format json``/``csv``)."""
    low, high = rule.interval
    return {
        "rank": rank,
        "rule": rule.text,
        "conditions": len(rule.conditions),
        "leads": rule.rows,
        "wins": rule.positives,
        "support": round(rule.support, 4),
        "coverage": round(rule.coverage, 4),
        "precision": round(rule.precision, 4),
        "precision_low": round(low, 4),
        "precision_high": round(high, 4),
        "lift": round(rule.lift, 3),
        "usefulness": round(rule.usefulness, 5),
    }


# --- a rule as a profile draft --------------------------------------------------------------------


@dataclass
class ProfileDraft:
    """A profile document holding a rule's conditions as must-haves, and what could not be one."""

    document: dict[str, Any]
    criteria: list[str]
    engagement: list[str]
    left_out: list[str]


def criterion_of(condition: Condition) -> dict[str, Any] | None:
    """A profile criterion testing what ``condition`` tests, or None when no profile field holds it."""
    path = ICP_FIELDS.get(condition.column)
    prefix, _, key = condition.column.rpartition(".")
    if path is None and prefix in ("custom", "organization.custom") and CUSTOM_KEY.fullmatch(key):
        path = condition.column
    if path is None:
        return None
    if condition.op == "is_set":
        return {"field": path, "op": "is_set"}
    if condition.op == "eq":
        return {"field": path, "op": "in", "value": [str(condition.value)]}
    value = condition.value
    if not isinstance(value, float):
        return None
    return {"field": path, "op": condition.op, "value": int(value) if value.is_integer() else value}


def why_not(condition: Condition) -> str:
    """Why a condition is not a profile criterion, in words."""
    if condition.column in ENGAGEMENT_COLUMNS:
        return f"{condition.text} (engagement: reward it with a scoring rule)"
    reason = NOT_MAPPED.get(condition.column, "not a contact or organization field")
    return f"{condition.text} ({reason})"


def profile_draft(
    conditions: Sequence[Condition], summary: str, base: Mapping[str, Any] | None, slug: str
) -> ProfileDraft:
    """A definition document for the profile editor: ``base`` (a profile's current definition) or a
    new profile ``slug``, with the conditions as must-haves (replacing a must-have testing the same
    field the same way) and a note of the rest in its description. :class:`InvalidInput` when no
    condition is a profile criterion."""
    criteria, engagement, left_out = [], [], []
    for condition in conditions:
        criterion = criterion_of(condition)
        if criterion is not None:
            criteria.append(criterion)
        elif condition.column in ENGAGEMENT_COLUMNS:
            engagement.append(why_not(condition))
        else:
            left_out.append(why_not(condition))
    if not criteria:
        shown = "; ".join([*engagement, *left_out])
        raise InvalidInput(f"rule: no condition of it is a profile criterion: {shown}", field="rule")
    name = "Suggested: " + " and ".join(condition.text for condition in conditions)
    document: dict[str, Any] = dict(base) if base else {"slug": slug, "name": name[:MAX_NAME]}
    tested = {(item["field"], item["op"]) for item in criteria}
    kept = [item for item in document.get("must", []) if (item.get("field"), item.get("op")) not in tested]
    document["must"] = [*kept, *criteria]
    document["description"] = _note(document.get("description"), summary, engagement, left_out)
    parse_definition(document)  # a value a profile refuses is refused here, naming it
    texts = [_criterion_text(item) for item in criteria]
    return ProfileDraft(document, texts, engagement, left_out)


def _note(description: Any, summary: str, engagement: list[str], left_out: list[str]) -> str:
    parts = [str(description)] if description else []
    parts.append(f"Suggested by the wins: {summary}.")
    if engagement:
        parts.append("Engagement, not criteria: " + "; ".join(engagement) + ".")
    if left_out:
        parts.append("Left out: " + "; ".join(left_out) + ".")
    return " ".join(parts)[:MAX_DESCRIPTION]


def _criterion_text(item: Mapping[str, Any]) -> str:
    value = item.get("value")
    shown = ", ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    return f"{item['field']} {item['op']} {shown}".strip()


def free_slug(session: Session, workspace_id: int, wanted: str = "suggested") -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``… whichever no profile of the workspace has."""
    taken = set(session.scalars(select(Icp.slug).where(Icp.workspace_id == workspace_id)))
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"


# --- conditions as a form carries them ------------------------------------------------------------

_OPS = frozenset({"gte", "lte", "eq", "is_set"})
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,12})?(e[-+]?\d{1,3})?$", re.IGNORECASE)
MAX_CONDITIONS = 3


def condition_fields(condition: Condition) -> tuple[str, str, str]:
    """(column, op, value) as texts, for a form's hidden inputs."""
    value = condition.value
    text = number_text(value) if isinstance(value, float) else "" if value is None else str(value)
    return condition.column, condition.op, text


def condition_from_fields(column: str, op: str, value: str, where: str) -> Condition:
    """A condition sent back by a form (never trusted: checked here); :class:`InvalidInput` naming
    ``where``."""
    if not column.strip() or len(column) > 200:
        raise InvalidInput(f"{where}.column: a column name of up to 200 characters", field=f"{where}.column")
    if op not in _OPS:
        raise InvalidInput(f"{where}.op: one of {', '.join(sorted(_OPS))}", field=f"{where}.op")
    if op in ("gte", "lte"):
        if not _NUMBER.match(value.strip()):
            raise InvalidInput(f"{where}.value: {value[:40]!r} is not a number", field=f"{where}.value")
        return Condition(column, op, float(value))
    if op == "eq":
        if not value.strip() or len(value) > 200:
            raise InvalidInput(f"{where}.value: a value of up to 200 characters", field=f"{where}.value")
        return Condition(column, op, value)
    return Condition(column, op)
