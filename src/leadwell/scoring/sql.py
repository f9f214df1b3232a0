"""Rules in SQL, with the semantics of :mod:`leadwell.scoring.points`, per database.

SQLite reads properties with ``json_extract`` (typed SQL values; numbers keep the text Python wrote
them with under ``->``); PostgreSQL with ``->>`` on ``jsonb``. Text is folded with ``lower`` (ASCII
only in SQLite; ``COLLATE "C"`` on PostgreSQL, whose other collations fold more letters). A
missing property gives NULL, and every comparison with NULL is NULL, so the condition is false.

Times: an event's moment in seconds since the epoch is computed exactly from whole microseconds on
both databases (as :meth:`datetime.timedelta.total_seconds` does), and a cap's window from whole
days with integer arithmetic, so Python and SQL never disagree at a window's edge.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    null,
    true,
)

from leadwell.db.models import Base
from leadwell.scoring.points import WHOLE_LIMIT, CompiledRule, Property, event_property, fold
from leadwell.scoring.settings import Condition

EVENTS: Table = Base.metadata.tables["events"]
Expr = ColumnElement[Any]
MICROS = 1_000_000
EPOCH_DATE = date(1970, 1, 1)
SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECONDS_PER_DAY = 86_400


def op(left: Expr, operator: str, right: Expr, return_type: Any = None) -> Expr:
    """``left <operator> right`` for an operator SQLAlchemy has no method for."""
    built: Expr = left.op(operator, return_type=return_type)(right)
    return built


def text(value: str) -> Expr:
    return literal(value, String())


def integer(value: int) -> Expr:
    return literal(value, Integer())


def floor_div(value: Expr, divisor: Expr | int) -> Expr:
    """``value // divisor`` (a positive whole number) rounded down for negative values too: both
    databases truncate integer division towards zero."""
    step = integer(divisor) if isinstance(divisor, int) else divisor.self_group()
    remainder = (value.op("%")(step).self_group() + step).self_group().op("%")(step)
    return (value - remainder.self_group()).self_group().op("/")(step)


class EventSql:
    """Expressions over ``events`` for one database (``postgresql`` or ``sqlite``)."""

    def __init__(self, dialect: str, events: Any = EVENTS) -> None:
        self.pg = dialect == "postgresql"
        self.events = events

    # --- properties ---

    def raw(self, key: str) -> Expr:
        """The property as a SQL value (text, number), NULL when missing or null."""
        properties = self.events.c.properties
        if self.pg:
            return op(properties, "->>", text(key), String)
        return op(properties, "->>", text(_path(key)), String)

    def number(self, key: str) -> Expr:
        value = self.raw(key)
        return cast(value, Float) if self.pg else value

    def fold(self, expr: Expr) -> Expr:
        return func.lower(expr.collate("C") if self.pg else expr, type_=String)

    def bool_text(self, value: bool) -> Expr:
        """A boolean as the property reads in SQL: 'true'/'false' (PostgreSQL) or 1/0 (SQLite)."""
        if self.pg:
            return text("true" if value else "false")
        return integer(1 if value else 0)

    def _operand(self, prop: Property) -> Expr:
        if prop.kind == "number":
            return self.number(prop.key)
        if prop.kind == "text":
            return self.fold(self.raw(prop.key))
        return self.raw(prop.key)

    def _literal(self, prop: Property, value: Any) -> Expr:
        if prop.kind == "number":
            return literal(float(value), Float())
        if prop.kind == "text":
            return text(fold(value))
        return self.bool_text(bool(value))

    def condition(self, event_type: str, condition: Condition) -> Expr:
        """``condition`` on an event of ``event_type``: true, or false/NULL (not met)."""
        prop = event_property(event_type, condition.property)
        op = condition.op
        if op == "exists":
            return self.raw(prop.key).is_not(None)
        operand = self._operand(prop)
        if op in ("in", "not_in"):
            values = [self._literal(prop, item) for item in condition.value]
            return operand.in_(values) if op == "in" else operand.not_in(values)
        if op == "contains":
            position = func.strpos if self.pg else func.instr
            return position(operand, self._literal(prop, condition.value), type_=Integer) > 0
        target = self._literal(prop, condition.value)
        return {
            "eq": operand == target,
            "ne": operand != target,
            "gt": operand > target,
            "gte": operand >= target,
            "lt": operand < target,
            "lte": operand <= target,
        }[op]

    def holds(self, compiled: CompiledRule) -> Expr:
        """Every condition of the rule (true for a rule without conditions)."""
        rule = compiled.rule
        if not rule.when:
            return true()
        return and_(*(self.condition(rule.event, condition) for condition in rule.when))

    def contact(self) -> Expr:
        """``contact_id``, on SQLite as ``contact_id + 0``: without statistics its planner would
        otherwise read every event through the timeline index to get them in contact order (for a
        window or a grouping) instead of using the (workspace, type, time) index and sorting."""
        contact = self.events.c.contact_id
        return contact if self.pg else op(contact, "+", integer(0))

    # --- a capped rule's scope ---

    def per(self, prop: Property) -> Expr:
        """The ``per`` property's value as scope text, as :func:`points.per_text` writes it."""
        if prop.kind == "text":
            return func.coalesce(self.raw(prop.key), text(""))
        value = self.raw(prop.key)
        if self.pg:
            number = cast(value, Float)
            whole = and_(number == func.trunc(number), func.abs(number) < WHOLE_LIMIT)
            written = case((whole, cast(cast(number, BigInteger), String)), else_=cast(number, String))
            return func.coalesce(written, text(""))
        path = text(_path(prop.key))
        kind = func.json_type(self.events.c.properties, path)
        whole = and_(value == cast(value, Integer), func.abs(value) < WHOLE_LIMIT)
        written = case(
            (kind == text("integer"), cast(value, String)),
            (whole, cast(cast(value, Integer), String)),
            (kind == text("real"), self.events.c.properties.op("->", return_type=String)(path)),
            else_=null(),
        )
        return func.coalesce(written, text(""))

    # --- time ---

    def micros(self) -> Expr:
        """``occurred_at`` in whole microseconds since the epoch (exact, an integer)."""
        at = self.events.c.occurred_at
        if self.pg:
            return cast(extract("epoch", at) * MICROS, BigInteger)
        whole = func.unixepoch(func.substr(at, 1, 19), type_=Integer)
        return whole.op("*")(integer(MICROS)).op("+")(cast(func.substr(at, 21, 6), Integer))

    def moment(self, micros: Expr) -> Expr:
        """The timestamp ``micros`` microseconds after the epoch, as the column type stores it
        (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` text)."""
        if self.pg:
            return func.to_timestamp(0) + micros * literal_column("INTERVAL '1 microsecond'")
        seconds = floor_div(micros, MICROS)
        fraction = (micros - seconds.op("*")(integer(MICROS))).self_group()
        whole = func.strftime(text("%Y-%m-%d %H:%M:%S"), seconds, text("unixepoch"))
        return whole.op("||")(func.printf(text(".%06d"), fraction))

    def window(self, days: Expr | int) -> Expr:
        """The number of the ``days``-long window ``occurred_at`` falls in (whole days since the
        epoch, divided by ``days``, rounded down)."""
        at = self.events.c.occurred_at
        if self.pg:
            utc = at.op("AT TIME ZONE")(text("UTC"))
            elapsed = cast(utc, Date).op("-")(literal(EPOCH_DATE, Date()))
            return floor_div(elapsed, days)
        whole = func.unixepoch(func.substr(at, 1, 19), type_=Integer)
        length = SECONDS_PER_DAY * days if isinstance(days, int) else integer(SECONDS_PER_DAY) * days
        return floor_div(whole, length)

    # --- reading the whole log once ---

    def in_workspace(self, workspace_id: int) -> Expr:
        """The workspace's events; on SQLite as ``+workspace_id = …`` so that the log is read in one
        pass in storage order: through an index, every row would be a random page read."""
        column = self.events.c.workspace_id
        return (column if self.pg else op(column, "+", integer(0))) == workspace_id

    def type_key(self) -> Expr:
        """``type`` to join the rules on (``type || ''`` on SQLite, for the same reason)."""
        column = self.events.c.type
        return column if self.pg else op(column, "||", text(""))


def _path(key: str) -> str:
    """A SQLite JSON path to a top-level key (quoted only when it must be: quoting costs time)."""
    if SIMPLE_KEY.fullmatch(key):
        return f"$.{key}"
    return '$."' + key.replace('"', '\\"') + '"'
