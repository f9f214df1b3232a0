"""SQL expressions that read contacts' values the way :mod:`leadwell.icp.reading` does, per database.

SQLite reads JSON with ``json_type``/``json_extract``/``->`` and calls the Python ``regexp`` and
``leadwell_quantity`` functions registered on each connection; PostgreSQL uses ``jsonb`` operators,
``~``/``~*`` and the ``leadwell_quantity`` SQL function of migration 0003. Text is compared after
``lower`` in ASCII (``COLLATE "C"`` on PostgreSQL, whose default collation folds more letters).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, JSONPATH

from leadwell.db.models import Base
from leadwell.icp.regex import SafePattern
from leadwell.icp.units import Scale

CONTACTS: Table = Base.metadata.tables["contacts"]
MET, UNMET, UNKNOWN = literal("met", String()), literal("unmet", String()), literal("unknown", String())
ORGANIZATIONS: Table = Base.metadata.tables["organizations"]
Expr = ColumnElement[Any]


def text(value: str) -> Expr:
    return literal(value, String())


class Reader:
    """Builds value expressions for one database (``postgresql`` or ``sqlite``)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def fold(self, expr: Expr) -> Expr:
        return func.lower(expr.collate("C") if self.pg else expr, type_=String)

    def matches(self, expr: Expr, pattern: SafePattern) -> Expr:
        if self.pg:
            operator = "~*" if pattern.insensitive else "~"
            return expr.collate("C").op(operator, return_type=Boolean)(text(pattern.postgres))
        return func.regexp(text(pattern.python), expr, type_=Integer) == 1

    def contains(self, expr: Expr, folded: str) -> Expr:
        position = func.strpos if self.pg else func.instr
        return position(self.fold(expr), text(folded), type_=Integer) > 0

    # --- custom fields (JSON objects) ---

    def _json(self, column: Expr, key: str) -> tuple[Expr, Expr, Expr, Expr]:
        """(type name, value as SQL text, the element's JSON text / jsonb, path or key)."""
        if self.pg:
            element = column.op("->", return_type=JSONB)(text(key))
            as_text = column.op("->>", return_type=String)(text(key))
            return func.jsonb_typeof(element, type_=String), as_text, element, text(key)
        path = text(f"$.{key}")
        kind = func.json_type(column, path, type_=String)
        raw = column.op("->", return_type=String)(path)
        return kind, func.json_extract(column, path, type_=String), raw, path

    # Each CASE below names the JSON type once (CASE type WHEN …): the type function parses the
    # object, and a searched CASE would call it again for every branch.

    def custom_text(self, column: Expr, key: str) -> Expr:
        """Text, whole numbers and booleans as text; anything else NULL (see reading.custom_text)."""
        kind, as_text, raw, _ = self._json(column, key)
        if self.pg:
            whole = case((as_text.op("~", return_type=Boolean)(text("^-?[0-9]+$")), as_text))
            value = case({"string": as_text, "boolean": as_text, "number": whole}, value=kind)
        else:
            value = case({"text": as_text, "integer": raw, "true": kind, "false": kind}, value=kind)
        return func.nullif(value, text(""), type_=String)

    def custom_display(self, column: Expr, key: str) -> Expr:
        """The value as reasons show it (fractions too, as their JSON text)."""
        kind, as_text, raw, _ = self._json(column, key)
        if self.pg:
            value = case({"string": as_text, "number": as_text, "boolean": as_text}, value=kind)
        else:
            value = case(
                {"text": as_text, "integer": raw, "real": raw, "true": kind, "false": kind}, value=kind
            )
        return func.nullif(value, text(""), type_=String)

    def custom_is_set(self, column: Expr, key: str) -> Expr:
        """True when the field holds non-empty text or list, a number or a boolean (reading.custom_is_set)."""
        kind, as_text, raw, where = self._json(column, key)
        yes = literal(True, Boolean())
        if self.pg:
            whens = {
                "string": as_text != text(""),
                "array": func.jsonb_array_length(raw, type_=Integer) > 0,
                "object": raw != cast(text("{}"), JSONB),
                "number": yes,
                "boolean": yes,
            }
        else:
            whens = {
                "text": as_text != text(""),
                "array": func.json_array_length(column, where, type_=Integer) > 0,
                "object": raw != text("{}"),
                **dict.fromkeys(("integer", "real", "true", "false"), yes),
            }
        return type_coerce(case(whens, value=kind, else_=literal(False, Boolean())), Boolean)

    def custom_quantity(self, column: Expr, key: str, scale: Scale) -> Expr:
        """The value as a number in the scale's base (see units.quantity), or NULL."""
        kind, as_text, raw, _ = self._json(column, key)
        bare = literal(scale.bare, Integer())
        if self.pg:
            number = cast(cast(as_text, Numeric) * bare, Float)
            parsed = func.leadwell_quantity(as_text, bare, literal(scale.durations, Boolean()), type_=Float)
            return case({"number": number, "string": parsed}, value=kind)
        return func.leadwell_quantity(raw, bare, literal(int(scale.durations), Integer()), type_=Float)

    # --- the contact's tags (a JSON list) ---

    def _tags(self) -> tuple[Any, Expr, Expr]:
        """(each tag as a row, its text, the condition that it is a non-empty text)."""
        if self.pg:
            rows = (
                func.jsonb_array_elements(CONTACTS.c.tags)
                .table_valued("value", with_ordinality="position", name="tag")
                .render_derived()
            )
            value = rows.c.value.op("#>>", return_type=String)(literal_column("'{}'"))
            return rows, value, and_(func.jsonb_typeof(rows.c.value) == "string", value != text(""))
        rows = func.json_each(CONTACTS.c.tags).table_valued("value", "type", name="tag")
        return rows, rows.c.value, and_(rows.c.type == "text", rows.c.value != text(""))

    def _no_tags(self) -> Expr:
        """The common case, checked without opening the list: no tags at all."""
        empty = cast(text("[]"), JSONB) if self.pg else text("[]")
        return CONTACTS.c.tags == empty

    def tags_state(self, op: str, folded: tuple[str, ...]) -> Expr:
        """met / unmet / unknown for in, not_in, contains (membership) and is_set, in one pass over
        the list: how many usable tags, and whether one of them is wanted."""
        rows, value, usable = self._tags()
        if op == "is_set":
            present = select(literal(1)).select_from(rows).where(usable).exists()
            return case((self._no_tags(), UNMET), (present, MET), else_=UNMET)
        hit, miss = (UNMET, MET) if op == "not_in" else (MET, UNMET)
        if self.pg:
            return self._pg_tags_state(folded, hit, miss)
        wanted = func.max(case((self.fold(value).in_(folded), 1), else_=0))
        verdict = case((func.count() == 0, UNKNOWN), (wanted == 1, hit), else_=miss)
        decided = select(verdict).select_from(rows).where(usable).scalar_subquery()
        return case((self._no_tags(), UNKNOWN), else_=decided)

    def _pg_tags_state(self, folded: tuple[str, ...], hit: Expr, miss: Expr) -> Expr:
        """PostgreSQL without opening the list row by row: a JSON path for "any usable tag", and
        ``?|`` (string elements equal to any of these) on the list's text folded to lower case, which
        is still valid JSON since JSON's own escapes are lower case or hexadecimal."""
        usable = CONTACTS.c.tags.op("@?", return_type=Boolean)(
            cast(text('$[*] ? (@.type() == "string" && @ != "")'), JSONPATH)
        )
        lowered = cast(func.lower(cast(CONTACTS.c.tags, String).collate("C")), JSONB)
        wanted = lowered.op("?|", return_type=Boolean)(
            cast(literal(list(folded), ARRAY(String())), ARRAY(Text))
        )
        return case((self._no_tags(), UNKNOWN), (~usable, UNKNOWN), (wanted, hit), else_=miss)

    def tags_display(self) -> Expr:
        rows, value, usable = self._tags()
        separator = text("; ")
        if self.pg:
            # Rows come out of the function scan in list order, and one pass keeps that order.
            joined = func.string_agg(value, separator, type_=String)
        else:
            joined = func.group_concat(value, separator, type_=String)
        listed = select(joined).select_from(rows).where(usable).scalar_subquery()
        return case((self._no_tags(), None), else_=listed)

    # --- results ---

    def array(self, items: list[Expr]) -> Expr:
        return (func.jsonb_build_array if self.pg else func.json_array)(*items)

    def json_text(self, expr: Expr) -> Expr:
        """JSON built as text, stored as the column's JSON type."""
        return cast(expr, JSONB) if self.pg else expr
