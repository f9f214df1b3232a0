"""A workspace's qualification settings as written (TOML or JSON), checked and compiled.

One document holds the engagement rules and their decay, the automatic stage moves, the call
queue's settings and the pipeline's deal stages. Rules name event types and properties from the
closed list in :mod:`leadwell.events.types`; an unknown type or property, or an operator that does
not suit the property's type, is refused naming the key at fault (``rules[2].when[0].property``).
"""

from __future__ import annotations

import json
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from leadwell.db.models import LIFECYCLE_STAGES
from leadwell.errors import InvalidInput
from leadwell.events.types import EVENT_TYPES
from leadwell.icp.definition import location
from leadwell.inputs import Input

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists"]
NUMERIC_OPS = frozenset({"gt", "gte", "lt", "lte"})
TEXT_OPS = frozenset({"contains"})
GRADES = ("A", "B", "C", "D", "E", "F")
RETRY_OUTCOMES = ("no_answer", "voicemail", "conversation")
MAX_RULES = 100
Scalar = str | int | float | bool


class ConditionIn(Input):
    property: str = Field(min_length=1, max_length=64)
    op: Op
    value: Scalar | list[Scalar] | None = None


class CapIn(Input):
    points: float = Field(gt=0, le=100_000)
    days: int = Field(ge=1, le=3650, strict=True)
    per: str | None = Field(default=None, min_length=1, max_length=64)


class RuleIn(Input):
    key: Key
    label: str | None = Field(default=None, min_length=1, max_length=200)
    event: str = Field(min_length=1, max_length=40)
    points: float = Field(ge=-100_000, le=100_000)
    when: list[ConditionIn] = Field(default_factory=list, max_length=10)
    cap: CapIn | None = None


class StageRuleIn(Input):
    key: Key
    label: str | None = Field(default=None, min_length=1, max_length=200)
    to: str
    from_: list[str] = Field(alias="from", min_length=1)
    grades: list[str] | None = None
    min_engagement: float | None = None
    max_engagement: float | None = None


class QueueIn(Input):
    deal_value: Decimal = Field(default=Decimal("5000"), ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    grade_probability: dict[str, float] = Field(default_factory=dict)
    engagement_midpoint: float = Field(default=40, gt=0, le=100_000)
    engagement_floor: float = Field(default=0.25, ge=0, le=1)
    resurface_points: float = Field(default=25, gt=0, le=100_000)
    retry_days: dict[str, int] = Field(default_factory=dict)


class PipelineIn(Input):
    stages: list[Key] = Field(default_factory=lambda: ["discovery", "proposal", "negotiation"], min_length=1)


class SettingsIn(Input):
    half_life_days: float = Field(default=30, ge=1, le=3650)
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)
    stage_rules: list[StageRuleIn] = Field(default_factory=list, max_length=20)
    queue: QueueIn = Field(default_factory=QueueIn)
    pipeline: PipelineIn = Field(default_factory=PipelineIn)


DEFAULT_PROBABILITY = {"A": 0.30, "B": 0.18, "C": 0.08, "D": 0.04, "E": 0.02, "F": 0.0, "unknown": 0.05}
DEFAULT_RETRY_DAYS = {"no_answer": 1, "voicemail": 2, "conversation": 14}


@dataclass(frozen=True)
class Condition:
    property: str
    op: str
    value: Any


@dataclass(frozen=True)
class Cap:
    points: float
    days: int
    per: str | None


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    event: str
    points: float
    when: tuple[Condition, ...]
    cap: Cap | None


@dataclass(frozen=True)
class StageRule:
    key: str
    label: str
    to: str
    from_stages: frozenset[str]
    grades: frozenset[str] | None
    min_engagement: float | None
    max_engagement: float | None


@dataclass(frozen=True)
class QueueSettings:
    deal_value: Decimal
    currency: str
    grade_probability: Mapping[str, float]
    engagement_midpoint: float
    engagement_floor: float
    resurface_points: float
    retry_days: Mapping[str, int]

    def probability(self, grade: str | None, engagement: float) -> float:
        """P(sale) from fit and engagement: the grade's base rate, scaled from ``engagement_floor``
        (no engagement) towards 1 as engagement grows (half-way at ``engagement_midpoint``).
        Increasing in engagement for every grade, which the queue's ordering relies on."""
        base = self.grade_probability.get(grade or "unknown", self.grade_probability["unknown"])
        engaged = max(engagement, 0.0)
        floor = self.engagement_floor
        return base * (floor + (1 - floor) * engaged / (engaged + self.engagement_midpoint))


@dataclass(frozen=True)
class Settings:
    """Checked qualification settings; ``document`` is the stored form (defaults filled in)."""

    half_life_days: float
    rules: tuple[Rule, ...]
    stage_rules: tuple[StageRule, ...]
    queue: QueueSettings
    pipeline_stages: tuple[str, ...]
    document: dict[str, Any]

    @property
    def decay_rate(self) -> float:
        """λ per day."""
        from leadwell.scoring.decay import decay_rate

        return decay_rate(self.half_life_days)

    def rules_for(self, event_type: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.event == event_type)

    def canonical(self) -> str:
        return json.dumps(self.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _property_kind(event_type: str, name: str, where: str) -> tuple[str, tuple[Any, ...]]:
    """ "number", "text", "bool" or "other" for a property of an event type, with the allowed
    values when it is a choice; :class:`InvalidInput` at ``where`` when there is no such property."""
    model: type[BaseModel] = EVENT_TYPES[event_type]
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return _kind_of(info.annotation)
    known = ", ".join(sorted((info.alias or n) for n, info in model.model_fields.items()))
    raise InvalidInput(f"{where}: {event_type} has no property {name!r} (it has {known})", field=where)


def _kind_of(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind_of(args[0])
    if typing.get_origin(annotation) is Literal:
        return "text", tuple(typing.get_args(annotation))
    if annotation is bool:
        return "bool", ()
    if annotation in (int, float):
        return "number", ()
    if annotation is str or getattr(annotation, "__name__", "") in ("HttpUrl", "AnyUrl"):
        return "text", ()
    return "other", ()


def _check_value(kind: str, choices: tuple[Any, ...], condition: ConditionIn, where: str) -> Any:
    op, value = condition.op, condition.value
    if op == "exists":
        if value not in (None, True):
            raise InvalidInput(f"{where}.value: exists takes no value", field=f"{where}.value")
        return None
    if kind == "other":
        raise InvalidInput(
            f"{where}.op: {condition.property} can only be tested with exists", field=f"{where}.op"
        )
    if op in NUMERIC_OPS and kind != "number":
        raise InvalidInput(
            f"{where}.op: {op} needs a number property; {condition.property} is {kind}", field=f"{where}.op"
        )
    if op in TEXT_OPS and kind != "text":
        raise InvalidInput(
            f"{where}.op: {op} needs a text property; {condition.property} is {kind}", field=f"{where}.op"
        )
    values = value if isinstance(value, list) else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        raise InvalidInput(f"{where}.value: {op} needs a non-empty list", field=f"{where}.value")
    if op not in ("in", "not_in") and isinstance(value, list):
        raise InvalidInput(f"{where}.value: {op} takes one value, not a list", field=f"{where}.value")
    for item in values:
        _check_one(kind, choices, item, f"{where}.value")
    return list(values) if op in ("in", "not_in") else value


def _check_one(kind: str, choices: tuple[Any, ...], item: Any, where: str) -> None:
    expected = {"number": (int, float), "text": (str,), "bool": (bool,)}[kind]
    if item is None or not isinstance(item, expected) or (kind == "number" and isinstance(item, bool)):
        raise InvalidInput(f"{where}: {item!r} is not a {kind}", field=where)
    if choices and item not in choices:
        raise InvalidInput(f"{where}: {item!r} is not one of {', '.join(map(str, choices))}", field=where)


def _compile_rule(index: int, raw: RuleIn) -> Rule:
    where = f"rules[{index}]"
    if raw.event not in EVENT_TYPES:
        raise InvalidInput(f"{where}.event: unknown event type {raw.event!r}", field=f"{where}.event")
    if raw.points == 0:
        raise InvalidInput(f"{where}.points: a rule must give or take points", field=f"{where}.points")
    conditions = []
    for position, condition in enumerate(raw.when):
        at = f"{where}.when[{position}]"
        kind, choices = _property_kind(raw.event, condition.property, f"{at}.property")
        conditions.append(
            Condition(condition.property, condition.op, _check_value(kind, choices, condition, at))
        )
    cap = None
    if raw.cap is not None:
        if raw.cap.per is not None:
            kind, _ = _property_kind(raw.event, raw.cap.per, f"{where}.cap.per")
            if kind not in ("text", "number"):
                raise InvalidInput(
                    f"{where}.cap.per: {raw.cap.per} is not a text or number", field=f"{where}.cap.per"
                )
        cap = Cap(raw.cap.points, raw.cap.days, raw.cap.per)
    return Rule(raw.key, raw.label or raw.key, raw.event, raw.points, tuple(conditions), cap)


def _compile_stage_rule(index: int, raw: StageRuleIn) -> StageRule:
    where = f"stage_rules[{index}]"
    for name, stage in [("to", raw.to), *((f"from[{i}]", s) for i, s in enumerate(raw.from_))]:
        if stage not in LIFECYCLE_STAGES:
            raise InvalidInput(f"{where}.{name}: {stage!r} is not a lifecycle stage", field=f"{where}.{name}")
    for position, grade in enumerate(raw.grades or []):
        if grade not in GRADES:
            raise InvalidInput(
                f"{where}.grades[{position}]: {grade!r} is not a grade A–F", field=f"{where}.grades"
            )
    low, high = raw.min_engagement, raw.max_engagement
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"{where}.max_engagement: below min_engagement", field=f"{where}.max_engagement")
    if raw.grades is None and low is None and high is None:
        raise InvalidInput(f"{where}: needs grades or an engagement bound", field=where)
    grades = frozenset(raw.grades) if raw.grades is not None else None
    return StageRule(raw.key, raw.label or raw.key, raw.to, frozenset(raw.from_), grades, low, high)


def _compile_queue(raw: QueueIn) -> QueueSettings:
    probability = {**DEFAULT_PROBABILITY, **raw.grade_probability}
    for grade, value in raw.grade_probability.items():
        if grade not in (*GRADES, "unknown"):
            raise InvalidInput(
                f"queue.grade_probability.{grade}: not a grade A–F or unknown",
                field="queue.grade_probability",
            )
        if not 0 <= value <= 1:
            raise InvalidInput(
                f"queue.grade_probability.{grade}: {value} is not between 0 and 1",
                field=f"queue.grade_probability.{grade}",
            )
    retry = {**DEFAULT_RETRY_DAYS, **raw.retry_days}
    for outcome, value in raw.retry_days.items():
        if outcome not in RETRY_OUTCOMES:
            raise InvalidInput(
                f"queue.retry_days.{outcome}: not one of {', '.join(RETRY_OUTCOMES)}",
                field="queue.retry_days",
            )
        if not 0 <= value <= 365:
            raise InvalidInput(
                f"queue.retry_days.{outcome}: {value} is not 0–365 days", field=f"queue.retry_days.{outcome}"
            )
    return QueueSettings(
        raw.deal_value, raw.currency, probability, raw.engagement_midpoint, raw.engagement_floor,
        raw.resurface_points, retry,
    )  # fmt: skip


def from_document(document: Mapping[str, Any]) -> Settings:
    """Check and compile a settings document (parsed TOML or JSON)."""
    try:
        raw = SettingsIn.model_validate(dict(document))
    except ValidationError as error:
        raise _invalid(error) from None
    rules = tuple(_compile_rule(i, rule) for i, rule in enumerate(raw.rules))
    _unique([rule.key for rule in rules], "rules")
    stage_rules = tuple(_compile_stage_rule(i, rule) for i, rule in enumerate(raw.stage_rules))
    _unique([rule.key for rule in stage_rules], "stage_rules")
    _unique(list(raw.pipeline.stages), "pipeline.stages")
    queue = _compile_queue(raw.queue)
    stored = raw.model_dump(mode="json", by_alias=True)
    stored["queue"]["grade_probability"] = dict(queue.grade_probability)
    stored["queue"]["retry_days"] = dict(queue.retry_days)
    return Settings(raw.half_life_days, rules, stage_rules, queue, tuple(raw.pipeline.stages), stored)


def _unique(keys: list[str], where: str) -> None:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise InvalidInput(f"{where}[{index}]: {key!r} appears twice", field=f"{where}[{index}]")
        seen.add(key)


def _invalid(error: ValidationError) -> InvalidInput:
    first = error.errors()[0]
    where = location(tuple(first["loc"])) or "settings"
    if first["type"] == "extra_forbidden":
        message = f"unknown key {str(first['loc'][-1])!r}"
    elif first["type"] == "missing":
        message = "required"
    else:
        message = first["msg"].removeprefix("Value error, ")
    return InvalidInput(f"{where}: {message}", field=where)


def parse_toml(text: str) -> Settings:
    """Settings from TOML text; :class:`InvalidInput` naming the line for a syntax error."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"settings: not valid TOML: {error}", field="settings") from None
    return from_document(document)


DEFAULT_TOML = """\
# Engagement decays: points earned a half-life ago count half.
half_life_days = 30

[[rules]]
key = "downloaded"
label = "Downloaded a lead magnet"
event = "asset_downloaded"
points = 10
cap = { points = 10, days = 365, per = "asset" }

[[rules]]
key = "read-half"
label = "Read half of a paper"
event = "read_progress"
points = 10
when = [{ property = "percent", op = "gte", value = 50 }]
cap = { points = 10, days = 365, per = "asset" }

[[rules]]
key = "read-most"
label = "Read 80% of a paper"
event = "read_progress"
points = 25
when = [{ property = "percent", op = "gte", value = 80 }]
cap = { points = 25, days = 365, per = "asset" }

[[rules]]
key = "watched-most"
label = "Watched 75% of a video"
event = "video_progress"
points = 15
when = [{ property = "percent", op = "gte", value = 75 }]
cap = { points = 15, days = 365, per = "asset" }

[[rules]]
key = "webinar-30"
label = "Attended a webinar for 30 minutes or more"
event = "webinar_attended"
points = 30
when = [{ property = "minutes", op = "gte", value = 30 }]
cap = { points = 30, days = 365, per = "webinar" }

[[rules]]
key = "form"
label = "Submitted a form"
event = "form_submitted"
points = 15
cap = { points = 15, days = 30, per = "form" }

[[rules]]
key = "pricing"
label = "Viewed the pricing page"
event = "page_viewed"
points = 10
when = [{ property = "url", op = "contains", value = "/pricing" }]
cap = { points = 10, days = 7 }

[[rules]]
key = "page"
label = "Viewed a page"
event = "page_viewed"
points = 1
cap = { points = 5, days = 7 }

[[rules]]
key = "opened"
label = "Opened an email (unreliable: privacy proxies open mail)"
event = "email_opened"
points = 1
cap = { points = 3, days = 7 }

[[rules]]
key = "clicked"
label = "Clicked a link in an email"
event = "email_clicked"
points = 5
cap = { points = 15, days = 7 }

[[rules]]
key = "replied"
label = "Replied to an email"
event = "email_replied"
points = 40

[[rules]]
key = "meeting"
label = "Booked a meeting"
event = "meeting_booked"
points = 50

[[rules]]
key = "unsubscribed"
label = "Unsubscribed"
event = "email_unsubscribed"
points = -50

[[rules]]
key = "hard-bounce"
label = "Email hard-bounced"
event = "email_bounced"
points = -100
when = [{ property = "kind", op = "eq", value = "hard" }]

[[stage_rules]]
key = "engaged-fit"
label = "Good fit and engaged"
to = "mql"
from = ["subscriber", "lead"]
grades = ["A", "B"]
min_engagement = 40

[queue]
deal_value = 5000
currency = "USD"
engagement_midpoint = 40
resurface_points = 25

[pipeline]
stages = ["discovery", "proposal", "negotiation"]
"""


@lru_cache(maxsize=1)
def default_settings() -> Settings:
    """The settings a workspace has until it applies its own (version 0)."""
    return parse_toml(DEFAULT_TOML)


@lru_cache(maxsize=256)
def _cached(canonical: str) -> Settings:
    return from_document(json.loads(canonical))


def settings_from_stored(document: Mapping[str, Any]) -> Settings:
    """Compile a stored document, once per distinct document."""
    return _cached(json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
