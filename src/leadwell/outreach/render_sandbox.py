"""The Jinja2 sandbox email templates render in.

Templates are written by the workspace's marketers, and the values merged into them come from
prospects, so the environment is locked down beyond Jinja's own sandbox:

- no globals (no ``range``, ``lipsum``, ``namespace``…), a short allow-list of filters and tests;
- attribute access only on the merge context's plain mappings and a loop's counters: anything else
  (``first_name.__class__``, ``"x".format``) is undefined, so no Python object is reachable;
- string and list repetition and powers are capped, so a template cannot exhaust memory;
- a merge field without a value renders as "" and is recorded as *missing*, unless a filter such
  as ``default("there")`` gives it one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import ChainableUndefined, Undefined, filters, tests
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Loop counters a template may read (``loop.index``); the loop's methods are not offered.
LOOP_ATTRIBUTES = frozenset(
    {
        "index",
        "index0",
        "revindex",
        "revindex0",
        "first",
        "last",
        "length",
        "depth",
        "depth0",
        "previtem",
        "nextitem",
    }
)
MAX_REPEAT = 10_000  # "-" * 60 is a rule line; "x" * 10**9 is an attack
MAX_POWER = 64
MAX_DATE_FORMAT = 100


class Missing(ChainableUndefined):
    """A known merge field without a value: renders as "" and tells ``sink`` it was printed.

    Filters like ``default`` see an undefined value and replace it, so a field with a fallback is
    never recorded; ``{% if first_name %}`` tests it without printing it, and is not recorded either.
    """

    __slots__ = ("_sink",)

    def __init__(self, name: str, sink: list[str]) -> None:
        super().__init__(name=name)
        self._sink = sink

    def __str__(self) -> str:
        if self._undefined_name is not None and self._undefined_name not in self._sink:
            self._sink.append(self._undefined_name)
        return ""

    def __html__(self) -> str:
        return str(self)


class ValueList(list[Any]):
    """A list value (a multi-valued custom field): printed as "a, b, c", iterable and joinable."""

    def __str__(self) -> str:
        return ", ".join(str(item) for item in self)


class FieldGroup(Mapping[str, Any]):
    """A group of merge fields read with a dot (``custom.plan``, ``sender.name``); a key without
    a value reads as :class:`Missing` under its dotted name."""

    def __init__(self, prefix: str, values: Mapping[str, Any], sink: list[str]) -> None:
        self._prefix = prefix
        self._values = dict(values)
        self._sink = sink

    def __getitem__(self, key: str) -> Any:
        value = self._values.get(key)
        if value is None or value == "" or value == []:
            return Missing(f"{self._prefix}.{key}", self._sink)
        return ValueList(value) if isinstance(value, list) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:  # a group printed by itself shows nothing rather than a dict
        return ""


def date_filter(value: Any, format: str = "%d %B %Y") -> Any:
    """``{{ custom.renewal | date("%d %B %Y") }}``: a date, a datetime or an ISO 8601 text, formatted.

    A missing value stays missing (so ``| default(...)`` after it still applies).
    """
    if isinstance(value, Undefined):
        return value
    if not isinstance(format, str) or len(format) > MAX_DATE_FORMAT:
        raise FilterArgumentError(f"date: the format must be text of at most {MAX_DATE_FORMAT} characters")
    if isinstance(value, datetime | date):
        return value.strftime(format)
    text = str(value).strip()
    try:
        moment: date = (
            datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
        )
    except ValueError:
        raise FilterArgumentError(f"date: {text[:40]!r} is not a date (YYYY-MM-DD)") from None
    return moment.strftime(format)


FILTERS: dict[str, Callable[..., Any]] = {
    "default": filters.do_default,
    "d": filters.do_default,
    "upper": filters.do_upper,
    "lower": filters.do_lower,
    "title": filters.do_title,
    "capitalize": filters.do_capitalize,
    "trim": filters.do_trim,
    "truncate": filters.do_truncate,
    "replace": filters.do_replace,
    "join": filters.do_join,
    "first": filters.do_first,
    "date": date_filter,
}
_JINJA_TESTS: dict[str, Any] = tests.TESTS
TESTS: dict[str, Callable[..., Any]] = {
    name: _JINJA_TESTS[name]
    for name in (
        "defined",
        "undefined",
        "none",
        "number",
        "string",
        "even",
        "odd",
        "divisibleby",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "in",
        "true",
        "false",
        "boolean",
        "integer",
        "float",
        "lower",
        "upper",
    )
}


def _checked_repeat(left: Any, right: Any) -> Any:
    sequence, count = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, str | list | tuple) and isinstance(count, int) and count > MAX_REPEAT:
        raise SecurityError(f"repeating text more than {MAX_REPEAT} times is not allowed")
    return operator.mul(left, right)


def _checked_power(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and right > MAX_POWER:
        raise SecurityError(f"powers above {MAX_POWER} are not allowed")
    return operator.pow(left, right)


class EmailSandbox(ImmutableSandboxedEnvironment):
    """The sandbox: attributes of mappings and loop counters only, capped repetition and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, autoescape: bool) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.globals.clear()
        self.filters = dict(FILTERS)
        self.tests = dict(TESTS)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute``: a key of a mapping, a loop counter, else undefined."""
        if isinstance(obj, Mapping):
            return self.getitem(obj, attribute)
        if isinstance(obj, LoopContext) and attribute in LOOP_ATTRIBUTES:
            return getattr(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``obj[argument]``: a mapping's text key, or a position or slice of text and lists."""
        if isinstance(obj, Mapping) and isinstance(argument, str):
            if argument.startswith("_"):
                return self.undefined(obj=obj, name=argument)
            try:
                return obj[argument]
            except KeyError:
                return self.undefined(obj=obj, name=argument)
        if isinstance(obj, str | list | tuple) and isinstance(argument, int | slice):
            try:
                return obj[argument]
            except IndexError:
                return self.undefined(obj=obj, name=str(argument))
        return self.undefined(obj=obj, name=str(argument)[:40])

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            return _checked_repeat(left, right)
        if operator_name == "**":
            return _checked_power(left, right)
        return super().call_binop(context, operator_name, left, right)


TEXT_SANDBOX = EmailSandbox(autoescape=False)
HTML_SANDBOX = EmailSandbox(autoescape=True)


def sandbox_for(part: str) -> EmailSandbox:
    """The HTML body escapes merged values; the subject and the plain text keep them as they are."""
    return HTML_SANDBOX if part == "html" else TEXT_SANDBOX
