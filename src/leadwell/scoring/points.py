"""Which engagement rules an event earns, and how a rule's cap limits what it grants.

Pure functions over plain values; :mod:`leadwell.scoring.sql` says the same things in SQL for the
recompute, and the two must agree exactly:

- A condition on a property the event lacks (or holds as null) is false, whatever its operator;
  ``exists`` is true exactly when the property is there.
- ``eq``/``ne``/``in``/``not_in`` compare text after lower-casing ASCII letters only (SQLite's
  ``lower`` and PostgreSQL's ``lower(… COLLATE "C")`` fold nothing else), numbers as numbers.
- ``gt``/``gte``/``lt``/``lte`` compare numbers; ``contains`` is a substring test on text, case
  folded the same way.
- A capped rule's points are counted per contact, rule and scope: the fixed period window the event
  falls in (whole days since the epoch divided by the cap's days) and, with ``per``, the value of
  that property as text. Within a scope, points are granted in event-id order until the running
  total reaches the cap: ``clamp(total + p) − clamp(total)``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadwell.events.types import EVENT_TYPES
from leadwell.scoring.decay import EPOCH
from leadwell.scoring.settings import Cap, Condition, Rule, Settings, _property_kind

ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# A scope is stored in a 240-character column; a longer ``per`` value is told apart by its start.
SCOPE_LENGTH = 240
# Whole numbers below this are written without a fraction ("80", not "80.0") in a scope.
WHOLE_LIMIT = 1e15
ONE_DAY = timedelta(days=1)


def fold(text: str) -> str:
    """``text`` with ASCII letters lower-cased and every other character kept."""
    return text.translate(ASCII_LOWER)


@dataclass(frozen=True)
class Property:
    """A property of an event type as the rules read it: the key it is stored under, its kind."""

    key: str
    kind: str  # number | text | bool | other


def event_property(event_type: str, name: str) -> Property:
    """The stored key and kind of property ``name`` (a field name or its alias) of ``event_type``."""
    kind, _ = _property_kind(event_type, name, "property")
    for field_name, info in EVENT_TYPES[event_type].model_fields.items():
        if name in (field_name, info.alias):
            return Property(info.alias or field_name, kind)
    raise AssertionError("unreachable: _property_kind found the property")


def read(properties: Mapping[str, Any], prop: Property) -> Any:
    """The property's value, or None when it is missing, null or not of its kind."""
    value = properties.get(prop.key)
    if value is None:
        return None
    if prop.kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if prop.kind == "text":
        return value if isinstance(value, str) else None
    if prop.kind == "bool":
        return value if isinstance(value, bool) else None
    return value


Test = Callable[[Mapping[str, Any]], bool]


def _comparable(kind: str, value: Any) -> Any:
    return fold(value) if kind == "text" and isinstance(value, str) else value


def condition_test(event_type: str, condition: Condition) -> Test:
    """A function telling whether an event's properties meet ``condition``."""
    prop = event_property(event_type, condition.property)
    op = condition.op
    if op == "exists":
        return lambda properties: read(properties, prop) is not None
    if op in ("in", "not_in"):
        wanted = frozenset(_comparable(prop.kind, item) for item in condition.value)
        inside = op == "in"
        return lambda properties: _member(read(properties, prop), prop.kind, wanted, inside)
    target = _comparable(prop.kind, condition.value)
    compare = _COMPARE[op]
    return lambda properties: _compare(read(properties, prop), prop.kind, target, compare)


def _member(value: Any, kind: str, wanted: frozenset[Any], inside: bool) -> bool:
    if value is None:
        return False
    return (_comparable(kind, value) in wanted) == inside


def _compare(value: Any, kind: str, target: Any, compare: Callable[[Any, Any], bool]) -> bool:
    if value is None:
        return False
    return compare(_comparable(kind, value), target)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, target: bool(value == target),
    "ne": lambda value, target: bool(value != target),
    "gt": lambda value, target: bool(value > target),
    "gte": lambda value, target: bool(value >= target),
    "lt": lambda value, target: bool(value < target),
    "lte": lambda value, target: bool(value <= target),
    "contains": lambda value, target: target in value,
}


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its conditions turned into functions and its ``per`` property resolved."""

    rule: Rule
    tests: tuple[Test, ...]
    per: Property | None

    def holds(self, properties: Mapping[str, Any]) -> bool:
        return all(test(properties) for test in self.tests)


def compile_rule(rule: Rule) -> CompiledRule:
    """``rule`` ready to be matched against many events."""
    tests = tuple(condition_test(rule.event, condition) for condition in rule.when)
    per = event_property(rule.event, rule.cap.per) if rule.cap and rule.cap.per else None
    return CompiledRule(rule, tests, per)


# Compiled rules by event type, per Settings object (kept alive here, so ids stay unique). Settings
# are themselves cached per stored document, so this stays as small as the number of documents.
_INDEXES: dict[int, tuple[Settings, dict[str, tuple[CompiledRule, ...]]]] = {}
MAX_INDEXES = 256


def rules_by_type(settings: Settings) -> dict[str, tuple[CompiledRule, ...]]:
    """The settings' rules grouped by the event type they score, in document order."""
    cached = _INDEXES.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    index: dict[str, list[CompiledRule]] = {}
    for rule in settings.rules:
        index.setdefault(rule.event, []).append(compile_rule(rule))
    frozen = {event_type: tuple(rules) for event_type, rules in index.items()}
    if len(_INDEXES) >= MAX_INDEXES:
        _INDEXES.clear()
    _INDEXES[id(settings)] = (settings, frozen)
    return frozen


def match(settings: Settings, event_type: str, properties: Mapping[str, Any]) -> list[tuple[Rule, float]]:
    """The rules of ``event_type`` whose conditions all hold for ``properties``, with their points
    (before any cap)."""
    return [
        (compiled.rule, compiled.rule.points)
        for compiled in rules_by_type(settings).get(event_type, ())
        if compiled.holds(properties)
    ]


def epoch_days(moment: datetime) -> int:
    """Whole days from the Unix epoch to ``moment`` (UTC), rounded down."""
    return (moment.astimezone(UTC) - EPOCH) // ONE_DAY


def window_of(moment: datetime, days: int) -> int:
    """The number of the ``days``-long period window ``moment`` falls in (windows start at the epoch)."""
    return epoch_days(moment) // days


def per_text(value: Any) -> str:
    """A ``per`` property's value as scope text: text as it is, whole numbers without a fraction,
    other numbers in their shortest round-trip form; nothing (missing) is the empty text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < WHOLE_LIMIT:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def scope_of(compiled: CompiledRule, occurred_at: datetime, properties: Mapping[str, Any]) -> str:
    """The scope a capped rule counts an event's points in: ``"<window>"`` or ``"<window>|<per value>"``."""
    cap = compiled.rule.cap
    assert cap is not None
    window = str(window_of(occurred_at, cap.days))
    if compiled.per is None:
        return window
    return f"{window}|{per_text(read(properties, compiled.per))}"[:SCOPE_LENGTH]


def clamp(value: float, limit: float) -> float:
    """``value`` held within ``[-limit, limit]``."""
    return max(-limit, min(limit, value))


def grant(awarded: float, points: float, cap: Cap) -> tuple[float, float]:
    """(points granted, the scope's new total) for ``points`` earned in a scope that has been
    awarded ``awarded`` so far."""
    total = clamp(awarded + points, cap.points)
    return total - awarded, total
