"""Qualification settings in plain sentences, for the editor page and ``leadwell score show``.

"+25 when Read: percent ≥ 80, at most 25 per 365 days per asset".
"""

from __future__ import annotations

from typing import Any

from leadwell.events.types import EVENT_LABELS
from leadwell.scoring.settings import Cap, Condition, QueueSettings, Rule, Settings, StageRule
from leadwell.scoring.stages import STAGE_LABELS

OPERATOR_WORDS = {
    "eq": "is",
    "ne": "is not",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "exists": "is given",
}


def number(value: float) -> str:
    """A number as people write it: 25, 2.5, 5,000."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.6g}"


def points(value: float) -> str:
    """Points with their sign: +25, -50."""
    return ("+" if value > 0 else "-") + number(abs(value))


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    return f"“{value}”"


def condition(item: Condition) -> str:
    """``percent ≥ 80``, ``url contains “/pricing”``, ``note is given``."""
    words = OPERATOR_WORDS[item.op]
    if item.op == "exists":
        return f"{item.property} {words}"
    return f"{item.property} {words} {_value(item.value)}"


def cap(limit: Cap) -> str:
    """``at most 25 per 365 days per asset``."""
    period = "day" if limit.days == 1 else f"{limit.days} days"
    return f"at most {number(limit.points)} per {period}" + (f" per {limit.per}" if limit.per else "")


def rule(item: Rule) -> str:
    """``+25 when Read: percent ≥ 80, at most 25 per 365 days per asset``."""
    text = f"{points(item.points)} when {EVENT_LABELS.get(item.event, item.event)}"
    if item.when:
        text += ": " + " and ".join(condition(c) for c in item.when)
    if item.cap is not None:
        text += ", " + cap(item.cap)
    return text


def _stages(names: frozenset[str] | tuple[str, ...]) -> str:
    labels = [STAGE_LABELS.get(name, name) for name in sorted(names, key=_stage_order)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _stage_order(name: str) -> int:
    order = list(STAGE_LABELS)
    return order.index(name) if name in order else len(order)


def stage_rule(item: StageRule) -> str:
    """``Move Subscriber or Lead to MQL when the grade is A or B and engagement ≥ 40``."""
    tests = []
    if item.grades is not None:
        grades = sorted(item.grades)
        tests.append("the grade is " + (grades[0] if len(grades) == 1 else " or ".join(grades)))
    if item.min_engagement is not None:
        tests.append(f"engagement ≥ {number(item.min_engagement)}")
    if item.max_engagement is not None:
        tests.append(f"engagement ≤ {number(item.max_engagement)}")
    target = STAGE_LABELS.get(item.to, item.to)
    return f"Move {_stages(item.from_stages)} to {target} when " + " and ".join(tests)


def queue(settings: QueueSettings) -> list[str]:
    """The call queue's settings, one sentence each."""
    chances = ", ".join(f"{grade} {value:.0%}" for grade, value in settings.grade_probability.items())
    retries = ", ".join(
        f"{outcome.replace('_', ' ')} {days} day{'' if days == 1 else 's'}"
        for outcome, days in settings.retry_days.items()
    )
    return [
        f"A won deal is worth {number(float(settings.deal_value))} {settings.currency}.",
        f"Chance of a sale by fit grade: {chances}.",
        f"Engagement lifts that chance from {settings.engagement_floor:.0%} of it (no engagement) "
        f"to half-way to all of it at {number(settings.engagement_midpoint)} points.",
        f"A nurture contact comes back to the queue after {number(settings.resurface_points)} new points.",
        f"Call again after: {retries}.",
    ]


def half_life(days: float) -> str:
    return f"Points lose half their worth every {number(days)} day{'' if days == 1 else 's'}."


def summary(settings: Settings) -> dict[str, list[str]]:
    """Every part of the settings in sentences: decay, rules, stage rules, queue, pipeline."""
    return {
        "decay": [half_life(settings.half_life_days)],
        "rules": [f"{r.label}: {rule(r)}" for r in settings.rules],
        "stage_rules": [f"{r.label}: {stage_rule(r)}" for r in settings.stage_rules],
        "queue": queue(settings.queue),
        "pipeline": ["Deal stages: " + " → ".join(settings.pipeline_stages) + "."],
    }
