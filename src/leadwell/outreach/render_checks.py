"""Checking a template part before anything is sent: syntax, merge fields, filters, what is allowed.

The parsed template (Jinja's AST) is walked once, keeping track of the names the template itself
declares (``{% set %}``, ``{% for %}``, macro arguments…) in the scope where Jinja sees them; every
other name must be a documented merge field. Each problem carries the line Jinja parsed it on.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from leadwell.outreach.render_sandbox import FILTERS, LOOP_ATTRIBUTES, TESTS, sandbox_for

# Merge fields read by name, and groups read with a dot: custom.<key>, sender.name, sender.email.
FLAT_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "title",
    "phone",
    "company",
    "website",
    "domain",
    "city",
    "country",
    "today",
    "unsubscribe_url",
    "magnet_title",
    "magnet_url",
)
SENDER_FIELDS = ("name", "email")
CUSTOM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
GROUPS = ("custom", "sender")
KNOWN_NAMES = (*FLAT_FIELDS, *(f"sender.{key}" for key in SENDER_FIELDS), "custom.<key>")
UNSUPPORTED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    # Turning autoescape off would let a contact's values write HTML into the message.
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
}


# Names that may be called are declared twice: as themselves and with this prefix (no name has it).
CALLABLE = "()"


@dataclass(frozen=True)
class Problem:
    """What is wrong on one line of one part (the public ``TemplateProblem`` is built from it)."""

    line: int
    message: str


def _unknown(name: str, line: int) -> Problem:
    close = difflib.get_close_matches(name, KNOWN_NAMES, n=1, cutoff=0.75)
    last = name.rsplit(".", 1)[-1]
    if not close and last in FLAT_FIELDS:  # contact.first_name: the fields are flat
        close = [last]
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return Problem(line, f"unknown merge field '{name}'{hint}")


def _stored_names(target: nodes.Node) -> set[str]:
    """The names an assignment or loop target binds (``a``, ``a, b``)."""
    return {node.name for node in target.find_all(nodes.Name)} | (
        {target.name} if isinstance(target, nodes.Name) else set()
    )


class _Checker:
    """Walks one part's AST, collecting problems; ``declared`` holds the template's own names."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def body(self, statements: Iterable[nodes.Node], declared: frozenset[str]) -> frozenset[str]:
        """Check statements in order; returns the names declared once they have run."""
        for statement in statements:
            declared = self.statement(statement, declared)
        return declared

    def statement(self, node: nodes.Node, declared: frozenset[str]) -> frozenset[str]:
        if type(node) in UNSUPPORTED_TAGS:
            tag = UNSUPPORTED_TAGS[type(node)]
            self.problems.append(Problem(node.lineno, f"{tag} is not available in email templates"))
            return declared
        if isinstance(node, nodes.For):
            return self._for(node, declared)
        if isinstance(node, nodes.If):
            return self._if(node, declared)
        if isinstance(node, nodes.Assign):
            self.expression(node.node, declared)
            self._store_target(node.target, declared)
            return declared | _stored_names(node.target)
        if isinstance(node, nodes.AssignBlock):
            self._filter_chain(node.filter, declared)
            self.body(node.body, declared)
            return declared | _stored_names(node.target)
        if isinstance(node, nodes.Macro | nodes.CallBlock):
            return self._callable(node, declared)
        if isinstance(node, nodes.With):
            for value in node.values:
                self.expression(value, declared)
            inner = declared.union(*(_stored_names(target) for target in node.targets))
            self.body(node.body, inner)
            return declared
        if isinstance(node, nodes.FilterBlock):
            self._filter_chain(node.filter, declared)
            self.body(node.body, declared)
            return declared
        if isinstance(node, nodes.Block | nodes.Scope):
            self.body(node.body, declared)
            return declared
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Stmt):
                declared = self.statement(child, declared)
            else:
                self.expression(child, declared)
        return declared

    def _for(self, node: nodes.For, declared: frozenset[str]) -> frozenset[str]:
        self.expression(node.iter, declared)
        inner = (
            declared
            | _stored_names(node.target)
            | {"loop"}
            | ({CALLABLE + "loop"} if node.recursive else set())
        )
        if node.test is not None:
            self.expression(node.test, inner)
        self.body(node.body, inner)
        self.body(node.else_, declared)
        return declared

    def _if(self, node: nodes.If, declared: frozenset[str]) -> frozenset[str]:
        # An {% if %} opens no scope in Jinja: what it sets is seen after it.
        self.expression(node.test, declared)
        after = self.body(node.body, declared)
        for branch in node.elif_:
            after |= self._if(branch, declared)
        return after | self.body(node.else_, declared)

    def _callable(self, node: nodes.Macro | nodes.CallBlock, declared: frozenset[str]) -> frozenset[str]:
        for default in node.defaults:
            self.expression(default, declared)
        arguments = {argument.name for argument in node.args}
        if isinstance(node, nodes.CallBlock):
            self.expression(node.call, declared)
            self.body(node.body, declared | arguments)
            return declared
        self.body(node.body, declared | arguments | {"varargs", "kwargs", "caller", CALLABLE + "caller"})
        return declared | {node.name, CALLABLE + node.name}

    def _store_target(self, target: nodes.Node, declared: frozenset[str]) -> None:
        if isinstance(target, nodes.NSRef):  # {% set ns.count = … %}
            self.expression(nodes.Name(target.name, "load", lineno=target.lineno), declared)

    def _filter_chain(self, node: nodes.Filter | None, declared: frozenset[str]) -> None:
        if node is not None:
            self.expression(node, declared)

    def expression(self, node: nodes.Node, declared: frozenset[str]) -> None:
        """Check one expression: names, dotted fields, filters, tests and calls."""
        if isinstance(node, nodes.Name):
            self._name(node, declared)
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            self._lookup(node, declared)
        elif isinstance(node, nodes.Filter | nodes.Test):
            self._filter(node, declared)
        elif isinstance(node, nodes.Call):
            self._call(node, declared)
        else:
            for child in node.iter_child_nodes():
                self.expression(child, declared)

    def _name(self, node: nodes.Name, declared: frozenset[str]) -> None:
        if node.name in declared or node.name in FLAT_FIELDS:
            return
        if node.name == "custom":
            self.problems.append(Problem(node.lineno, "'custom' needs a field name: custom.<key>"))
        elif node.name == "sender":
            self.problems.append(
                Problem(node.lineno, "'sender' needs a field name: sender.name or sender.email")
            )
        else:
            self.problems.append(_unknown(node.name, node.lineno))

    def _lookup(self, node: nodes.Getattr | nodes.Getitem, declared: frozenset[str]) -> None:
        key = _key_of(node)
        if key is not None and key.startswith("_"):
            self.problems.append(Problem(node.lineno, f"'{key}' is not available in email templates"))
            return
        base = node.node
        dotted = _field_path(base, declared)
        if dotted is None:  # the template's own value (a loop variable, a literal)
            self.expression(base, declared)
            if isinstance(node, nodes.Getitem):
                self.expression(node.arg, declared)
            elif isinstance(base, nodes.Name) and base.name == "loop" and node.attr not in LOOP_ATTRIBUTES:
                self.problems.append(Problem(node.lineno, f"'loop.{node.attr}' is not available"))
            return
        if isinstance(node, nodes.Getitem) and key is None:  # first_name[0], custom.tags[1:]
            self.expression(base, declared)
            self.expression(node.arg, declared)
            return
        self._field(dotted, key, node.lineno, declared, base)

    def _field(
        self, dotted: str, key: str | None, line: int, declared: frozenset[str], base: nodes.Node
    ) -> None:
        """``dotted.key`` where ``dotted`` names a merge field or group (``custom``, ``first_name``)."""
        if dotted == "custom" and key is not None and CUSTOM_KEY.fullmatch(key):
            return
        if dotted == "sender" and key in SENDER_FIELDS:
            return
        if dotted in GROUPS or dotted.count(".") == 0:
            self.problems.append(_unknown(f"{dotted}.{key}", line))
            return
        self.expression(base, declared)  # custom.plan.x: report the inner part if wrong, then this
        self.problems.append(_unknown(f"{dotted}.{key}", line))

    def _filter(self, node: nodes.Filter | nodes.Test, declared: frozenset[str]) -> None:
        allowed, kind = (FILTERS, "filter") if isinstance(node, nodes.Filter) else (TESTS, "test")
        if node.name not in allowed:
            self.problems.append(Problem(node.lineno, f"unknown {kind} '{node.name}'"))
        for child in node.iter_child_nodes():
            self.expression(child, declared)

    def _call(self, node: nodes.Call, declared: frozenset[str]) -> None:
        callee = node.node
        if not (isinstance(callee, nodes.Name) and CALLABLE + callee.name in declared):
            what = callee.name if isinstance(callee, nodes.Name) else "this"
            self.problems.append(
                Problem(node.lineno, f"calling '{what}' is not available: only the template's own macros")
            )
        for child in node.iter_child_nodes():
            if child is not callee:
                self.expression(child, declared)


def _key_of(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _field_path(node: nodes.Node, declared: frozenset[str]) -> str | None:
    """The dotted merge-field name an expression reads (``custom``, ``custom.plan``), or None when
    it reads one of the template's own values."""
    if isinstance(node, nodes.Name):
        return None if node.name in declared else node.name
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        key = _key_of(node)
        inner = _field_path(node.node, declared)
        if inner is None or key is None:
            return None
        return f"{inner}.{key}"
    return None


def check_part(part: str, source: str) -> list[Problem]:
    """Every problem of one part's source, in line order (a syntax error stops the check there)."""
    sandbox = sandbox_for(part)
    try:
        tree = sandbox.parse(source, name=part)
    except TemplateSyntaxError as error:
        return [Problem(error.lineno or 1, error.message or "syntax error")]
    checker = _Checker()
    checker.body(tree.body, frozenset())
    if checker.problems:
        return sorted(checker.problems, key=lambda problem: problem.line)
    try:
        sandbox.compile(source, name=part)
    except TemplateSyntaxError as error:  # assertions made while compiling (e.g. a duplicate block)
        return [Problem(error.lineno or 1, error.message or "syntax error")]
    return []
