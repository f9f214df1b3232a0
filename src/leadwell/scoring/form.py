"""The scoring settings editor's form: a settings document as rows of inputs, and back.

The editor shows the settings as plain inputs (a row per rule with its conditions and cap, a row per
stage rule, the queue's numbers, the pipeline's stages) sent back as flat form fields
(``rule-3-points``, ``rule-3-cond-1-value``, ``stage-0-grades``, ``queue-prob-A``…). This module
turns a stored document into a :class:`Draft` of texts, a submitted form into a draft, and a draft
into the document :func:`~leadwell.scoring.settings.from_document` checks. An error's path
(``rules[1].when[0].value``, counting the rows that were sent) is mapped back to the row it came
from, so the page shows it there with what the user typed kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadwell.errors import InvalidInput
from leadwell.events.types import EVENT_TYPES
from leadwell.icp.form import list_text, split_list
from leadwell.scoring.points import event_property
from leadwell.scoring.settings import DEFAULT_PROBABILITY, DEFAULT_RETRY_DAYS, GRADES, RETRY_OUTCOMES

MAX_ROWS = 100
CONDITION_PARTS = ("property", "op", "value")
RULE_PARTS = ("key", "label", "event", "points", "cap_points", "cap_days", "cap_per")
STAGE_PARTS = ("key", "label", "to", "from", "grades", "min_engagement", "max_engagement")
QUEUE_NUMBERS = ("deal_value", "engagement_midpoint", "engagement_floor", "resurface_points")
PROBABILITY_KEYS = (*GRADES, "unknown")
_RULE_NAME = re.compile(r"^rule-(\d{1,3})-(key|label|event|points|cap_points|cap_days|cap_per)$")
_CONDITION_NAME = re.compile(r"^rule-(\d{1,3})-cond-(\d{1,2})-(property|op|value)$")
_STAGE_NAME = re.compile(r"^stage-(\d{1,2})-(key|label|to|from|grades|min_engagement|max_engagement)$")
_ERROR_PATH = re.compile(r"^(rules|stage_rules)\[(\d+)\]")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


@dataclass
class ConditionRow:
    """One condition's texts: the property's ``name``, the operator, the value."""

    name: str = ""
    op: str = "eq"
    value: str = ""

    @property
    def blank(self) -> bool:
        return not self.name.strip()


@dataclass
class RuleRow:
    """One rule as the form holds it (texts as typed); ``error`` is shown under it."""

    key: str = ""
    label: str = ""
    event: str = ""
    points: str = ""
    cap_points: str = ""
    cap_days: str = ""
    cap_per: str = ""
    conditions: list[ConditionRow] = field(default_factory=list)
    error: str | None = None

    @property
    def blank(self) -> bool:
        return not any(getattr(self, part).strip() for part in RULE_PARTS) and all(
            condition.blank for condition in self.conditions
        )


@dataclass
class StageRow:
    key: str = ""
    label: str = ""
    to: str = "mql"
    from_: str = ""
    grades: str = ""
    min_engagement: str = ""
    max_engagement: str = ""
    error: str | None = None

    @property
    def blank(self) -> bool:
        return not any(
            text.strip()
            for text in (
                self.key,
                self.label,
                self.from_,
                self.grades,
                self.min_engagement,
                self.max_engagement,
            )
        )


@dataclass
class Draft:
    """Everything the editor shows, as texts, and the error found in it (``error_at``: a rule or
    stage row's number, or ``half_life_days``, ``queue``, ``pipeline``, ``toml``)."""

    half_life_days: str = "30"
    rules: list[RuleRow] = field(default_factory=list)
    stage_rules: list[StageRow] = field(default_factory=list)
    queue: dict[str, str] = field(default_factory=dict)
    probability: dict[str, str] = field(default_factory=dict)
    retry_days: dict[str, str] = field(default_factory=dict)
    pipeline: str = ""
    toml: str = ""
    error: str | None = None
    error_at: str | None = None


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return list_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def draft_of(document: Mapping[str, Any]) -> Draft:
    """A stored settings document as the editor's texts."""
    rules = [
        RuleRow(
            key=rule["key"],
            label=rule.get("label") or "",
            event=rule["event"],
            points=_number_text(rule["points"]),
            cap_points=_number_text((rule.get("cap") or {}).get("points")),
            cap_days=_number_text((rule.get("cap") or {}).get("days")),
            cap_per=(rule.get("cap") or {}).get("per") or "",
            conditions=[
                ConditionRow(c["property"], c["op"], _value_text(c.get("value")))
                for c in rule.get("when") or []
            ],
        )  # fmt: skip
        for rule in document.get("rules", [])
    ]
    stages = [
        StageRow(
            key=rule["key"],
            label=rule.get("label") or "",
            to=rule["to"],
            from_=", ".join(rule["from"]),
            grades=", ".join(rule.get("grades") or []),
            min_engagement=_number_text(rule.get("min_engagement")),
            max_engagement=_number_text(rule.get("max_engagement")),
        )  # fmt: skip
        for rule in document.get("stage_rules", [])
    ]
    queue = document.get("queue", {})
    return Draft(
        half_life_days=_number_text(document.get("half_life_days", 30)),
        rules=rules,
        stage_rules=stages,
        queue={key: _number_text(queue.get(key)) for key in QUEUE_NUMBERS}
        | {"currency": queue.get("currency", "")},
        probability={
            k: _number_text(v) for k, v in (queue.get("grade_probability") or DEFAULT_PROBABILITY).items()
        },
        retry_days={k: _number_text(v) for k, v in (queue.get("retry_days") or DEFAULT_RETRY_DAYS).items()},
        pipeline=", ".join((document.get("pipeline") or {}).get("stages", [])),
    )


# --- from a submitted form to texts -----------------------------------------------------------------


def _rows(values: Mapping[str, str], pattern: re.Pattern[str]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for name, value in values.items():
        match = pattern.match(name)
        if match and int(match.group(1)) < MAX_ROWS:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return found


def draft_from_form(values: Mapping[str, str]) -> Draft:
    """The editor's fields (flat names) as a draft, rows in the order of their numbers."""
    conditions: dict[int, dict[int, dict[str, str]]] = {}
    for name, value in values.items():
        match = _CONDITION_NAME.match(name)
        if match and int(match.group(1)) < MAX_ROWS:
            rule, number, part = int(match.group(1)), int(match.group(2)), match.group(3)
            conditions.setdefault(rule, {}).setdefault(number, {})[part] = value
    rules = []
    for number, parts in sorted(_rows(values, _RULE_NAME).items()):
        text = {part: parts.get(part, "") for part in RULE_PARTS}
        row = RuleRow(
            text["key"], text["label"], text["event"], text["points"],
            text["cap_points"], text["cap_days"], text["cap_per"],
        )  # fmt: skip
        row.conditions = [
            ConditionRow(c.get("property", ""), c.get("op", "eq"), c.get("value", ""))
            for _, c in sorted(conditions.get(number, {}).items())
        ]
        rules.append(row)
    stages = [
        StageRow(**{("from_" if part == "from" else part): parts.get(part, "") for part in STAGE_PARTS})
        for _, parts in sorted(_rows(values, _STAGE_NAME).items())
    ]
    return Draft(
        half_life_days=values.get("half_life_days", ""),
        rules=rules,
        stage_rules=stages,
        queue={key: values.get(f"queue-{key}", "") for key in (*QUEUE_NUMBERS, "currency")},
        probability={key: values.get(f"queue-prob-{key}", "") for key in PROBABILITY_KEYS},
        retry_days={key: values.get(f"queue-retry-{key}", "") for key in RETRY_OUTCOMES},
        pipeline=values.get("pipeline", ""),
        toml=values.get("toml", ""),
    )


# --- from texts to a document -------------------------------------------------------------------


def _number(text: str, where: str, whole: bool = False) -> float | int | None:
    """A typed number, None when left empty; :class:`InvalidInput` at ``where`` otherwise."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    if not _NUMBER.match(cleaned):
        raise InvalidInput(f"{where}: {text.strip()[:40]!r} is not a number", field=where)
    number = float(cleaned)
    if whole or number.is_integer() and "." not in cleaned and "e" not in cleaned.lower():
        if not number.is_integer():
            raise InvalidInput(f"{where}: {text.strip()[:40]!r} is not a whole number", field=where)
        return int(number)
    return number


def _typed(kind: str, text: str, where: str) -> Any:
    """One condition value as the property's kind wants it (text stays text, as typed)."""
    if kind == "number":
        number = _number(text, where)
        return text.strip() if number is None else number
    if kind == "bool" and text.strip().lower() in ("true", "false", "yes", "no"):
        return text.strip().lower() in ("true", "yes")
    return text.strip()


def _condition(event: str, row: ConditionRow, where: str) -> dict[str, Any]:
    condition: dict[str, Any] = {"property": row.name.strip(), "op": row.op}
    if row.op == "exists":
        return condition
    try:
        kind = event_property(event, row.name.strip()).kind if event in EVENT_TYPES else "text"
    except InvalidInput:
        kind = "text"  # the settings check names the unknown property
    if row.op in ("in", "not_in"):
        condition["value"] = [_typed(kind, item, f"{where}.value") for item in split_list(row.value)]
    else:
        condition["value"] = _typed(kind, row.value, f"{where}.value")
    return condition


def _rule(row: RuleRow, index: int) -> dict[str, Any]:
    where = f"rules[{index}]"
    rule: dict[str, Any] = {"key": row.key.strip(), "event": row.event.strip()}
    if row.label.strip():
        rule["label"] = row.label.strip()
    points = _number(row.points, f"{where}.points")
    rule["points"] = points if points is not None else ""
    conditions = [c for c in row.conditions if not c.blank]
    if conditions:
        rule["when"] = [_condition(rule["event"], c, f"{where}.when[{n}]") for n, c in enumerate(conditions)]
    if any(text.strip() for text in (row.cap_points, row.cap_days, row.cap_per)):
        cap: dict[str, Any] = {
            "points": _number(row.cap_points, f"{where}.cap.points"),
            "days": _number(row.cap_days, f"{where}.cap.days", whole=True),
        }
        if row.cap_per.strip():
            cap["per"] = row.cap_per.strip()
        rule["cap"] = cap
    return rule


def _stage_rule(row: StageRow, index: int) -> dict[str, Any]:
    where = f"stage_rules[{index}]"
    rule: dict[str, Any] = {
        "key": row.key.strip(),
        "to": row.to.strip(),
        "from": [part.strip() for part in row.from_.split(",") if part.strip()],
    }
    if row.label.strip():
        rule["label"] = row.label.strip()
    grades = [part.strip().upper() for part in row.grades.split(",") if part.strip()]
    if grades:
        rule["grades"] = grades
    for bound in ("min_engagement", "max_engagement"):
        number = _number(getattr(row, bound), f"{where}.{bound}")
        if number is not None:
            rule[bound] = number
    return rule


def _queue(draft: Draft) -> dict[str, Any]:
    queue: dict[str, Any] = {"currency": draft.queue.get("currency", "").strip().upper()}
    for key in QUEUE_NUMBERS:
        number = _number(draft.queue.get(key, ""), f"queue.{key}")
        if number is not None:
            queue[key] = number
    chances = {k: _number(v, f"queue.grade_probability.{k}") for k, v in draft.probability.items()}
    queue["grade_probability"] = {k: v for k, v in chances.items() if v is not None}
    retries = {k: _number(v, f"queue.retry_days.{k}", whole=True) for k, v in draft.retry_days.items()}
    queue["retry_days"] = {k: v for k, v in retries.items() if v is not None}
    return queue


def document_of(draft: Draft) -> dict[str, Any]:
    """The draft as a settings document (rows left blank are dropped); :class:`InvalidInput`
    naming the document's path when a number cannot be read."""
    rules = [row for row in draft.rules if not row.blank]
    stages = [row for row in draft.stage_rules if not row.blank]
    half_life = _number(draft.half_life_days, "half_life_days")
    document: dict[str, Any] = {
        "rules": [_rule(row, n) for n, row in enumerate(rules)],
        "stage_rules": [_stage_rule(row, n) for n, row in enumerate(stages)],
        "queue": _queue(draft),
        "pipeline": {"stages": [part.strip() for part in draft.pipeline.split(",") if part.strip()]},
    }
    if half_life is not None:
        document["half_life_days"] = half_life
    return document


def place_error(draft: Draft, error: InvalidInput) -> None:
    """Attach ``error`` to the row or part of the form its path names."""
    where = error.field or ""
    draft.error = error.detail
    match = _ERROR_PATH.match(where)
    if match:
        rows: list[Any] = draft.rules if match.group(1) == "rules" else draft.stage_rules
        kept = [row for row in rows if not row.blank]
        index = int(match.group(2))
        if index < len(kept):
            kept[index].error = error.detail
            draft.error_at = f"{match.group(1)}-{rows.index(kept[index])}"
            return
    draft.error_at = where.split(".")[0].split("[")[0] or "settings"
