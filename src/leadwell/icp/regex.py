"""The regular-expression subset a profile may use: one that Python (and so SQLite, through the
``regexp`` function registered on each connection) and PostgreSQL's ``~`` evaluate identically.

Patterns are searched for anywhere in the value. Allowed: literals, ``.``, ``^``, ``$``, ``|``,
groups ``( )`` and ``(?: )``, the quantifiers ``* + ? {n} {n,} {n,m}`` (m ≤ 255; a trailing ``?``
makes them lazy), bracket classes with ranges and ``\\d \\s \\w`` inside, ``\\d \\D \\s \\S \\w \\W``,
``\\n \\t``, escaped punctuation, and one leading ``(?i)`` for case-insensitive matching. Everything
else (word boundaries, back-references, look-arounds, other flags, POSIX classes) is refused,
because the two engines read it differently or not at all.

Both engines are made to agree on the rest: letters fold case in ASCII only, ``\\w \\d \\s`` are
ASCII classes, ``.`` matches a newline, and ``$`` is the very end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from leadwell.errors import InvalidInput

MAX_PATTERN = 500
MAX_REPEAT = 255
_CLASS_ESCAPES = frozenset("dDwWsS")
_IN_CLASS_ESCAPES = frozenset("dws")
_CONTROL_ESCAPES = frozenset("nt")
_QUANTIFIERS = frozenset("*+?")
_BOUNDS = re.compile(r"\{(\d{1,3})(,(\d{1,3})?)?\}")
# Python's flags for every pattern: ASCII classes and case folding, '.' matches newlines.
_PY_FLAGS = "as"


@dataclass(frozen=True)
class SafePattern:
    """A checked pattern: ``source`` as written, ``python`` for re (flags inline), and ``postgres``
    with ``insensitive`` choosing ``~*`` over ``~``."""

    source: str
    python: str
    postgres: str
    insensitive: bool
    compiled: re.Pattern[str] = field(compare=False, repr=False)

    def search(self, text: str) -> bool:
        return self.compiled.search(text) is not None


class _Refused(ValueError):
    pass


@dataclass
class _Group:
    """An open group: whether it holds an unbounded repeat (for the nested-repeat check)."""

    unbounded: bool = False


@dataclass
class _Scan:
    """Walks a pattern once, checking it and writing Python's version (``$`` becomes ``\\Z``)."""

    text: str
    position: int = 0
    out: list[str] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=lambda: [_Group()])
    # What the last item was: "start" (nothing to repeat), "atom", "group" (a closed group),
    # "quantifier", "lazy" (a quantifier made lazy) or "anchor".
    last: str = "start"
    closed: _Group | None = None

    def run(self) -> str:
        while self.position < len(self.text):
            self._step(self.text[self.position])
        if len(self.groups) > 1:
            raise _Refused("a '(' is never closed")
        self._end_branch()
        return "".join(self.out)

    def _step(self, char: str) -> None:
        if char == "\\":
            self._escape()
        elif char == "[":
            self._bracket()
        elif char == "(":
            self._open()
        elif char == ")":
            self._close()
        elif char == "|":
            self._end_branch()
            self._emit("|", "start", 1)
        elif char in _QUANTIFIERS or char == "{":
            self._quantifier(char)
        elif char == "}":
            raise _Refused("a lone '}' (write \\} for the character)")
        elif char in "^$":
            self._emit("\\Z" if char == "$" else "^", "anchor", 1)
        else:
            self._emit(char, "atom", 1)

    def _emit(self, text: str, kind: str, width: int) -> None:
        self.out.append(text)
        self.position += width
        self.last = kind

    def _escape(self) -> None:
        if self.position + 1 >= len(self.text):
            raise _Refused("the pattern ends with a lone backslash")
        char = self.text[self.position + 1]
        if char in _CLASS_ESCAPES or char in _CONTROL_ESCAPES or (char.isascii() and not char.isalnum()):
            self._emit("\\" + char, "atom", 2)
            return
        raise _Refused(f"\\{char} is not supported (see docs/icp.md for the allowed pattern syntax)")

    def _bracket(self) -> None:
        end, body = _bracket_body(self.text, self.position)
        self._emit(body, "atom", end - self.position)

    def _open(self) -> None:
        rest = self.text[self.position + 1 :]
        if rest.startswith("?:"):
            self.out.append("(?:")
            self.position += 3
        elif rest.startswith("?"):
            raise _Refused("only (?: ) groups and one leading (?i) are supported")
        else:
            self.out.append("(")
            self.position += 1
        self.groups.append(_Group())
        self.last = "start"

    def _close(self) -> None:
        if len(self.groups) == 1:
            raise _Refused("a ')' has no '('")
        self._end_branch()
        self.closed = self.groups.pop()
        self.groups[-1].unbounded |= self.closed.unbounded
        self.out.append(")")
        self.position += 1
        self.last = "group"

    def _end_branch(self) -> None:
        if self.last == "start":
            raise _Refused("an empty alternative or group matches everything; remove it")

    def _quantifier(self, char: str) -> None:
        if self.last == "quantifier" and char == "?":
            self._emit("?", "lazy", 1)  # lazy: finds a match exactly when the greedy form does
            return
        if self.last not in ("atom", "group"):
            raise _Refused(f"{char!r} has nothing to repeat (write \\{char} for the character)")
        width, unbounded = 1, char in "*+"
        text = char
        if char == "{":
            bounds = _BOUNDS.match(self.text, self.position)
            if bounds is None:
                raise _Refused("'{' starts no {n}, {n,} or {n,m} repeat (write \\{ for the character)")
            low, comma, high = bounds.group(1), bounds.group(2), bounds.group(3)
            top = int(high) if high else int(low)
            if int(low) > MAX_REPEAT or top > MAX_REPEAT or int(low) > top:
                raise _Refused(f"repeat counts go from 0 to {MAX_REPEAT}, low to high")
            text, width = bounds.group(0), len(bounds.group(0))
            unbounded = bool(comma) and (high is None or int(high) > 1)
        if unbounded and self.last == "group" and self.closed is not None and self.closed.unbounded:
            raise _Refused("a repeated group that itself repeats can take forever; simplify it")
        self.groups[-1].unbounded |= unbounded
        self._emit(text, "quantifier", width)


def _bracket_body(text: str, start: int) -> tuple[int, str]:
    """The end of the class opening at ``start`` and its text, refusing what the engines read apart."""
    position = start + 1
    if text.startswith("^", position):
        position += 1
    items = 0
    previous = ""
    while position < len(text) and text[position] != "]":
        char = text[position]
        if char == "[":
            raise _Refused("'[' inside a class (write \\[ for it; POSIX classes are not supported)")
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped in _IN_CLASS_ESCAPES and (previous == "-" or text[position + 2 : position + 3] == "-"):
                raise _Refused(f"\\{escaped} cannot end a range in a class")
            if not (escaped in _IN_CLASS_ESCAPES or escaped in _CONTROL_ESCAPES or _punctuation(escaped)):
                raise _Refused(f"\\{escaped or ''} is not supported inside a class")
            previous = "\\" + escaped
            position += 2
        else:
            if char == previous and char in "&~|-":
                raise _Refused(f"a doubled {char!r} inside a class")
            previous = char
            position += 1
        items += 1
    if position >= len(text):
        raise _Refused("a '[' is never closed")
    if items == 0:
        raise _Refused("an empty class '[]' (write \\] for the character)")
    return position + 1, text[start : position + 1]


def _punctuation(char: str) -> bool:
    return len(char) == 1 and char.isascii() and not char.isalnum()


def check_pattern(pattern: str, field: str) -> SafePattern:
    """Check ``pattern`` against the shared subset; :class:`InvalidInput` naming ``field`` if refused."""
    if not pattern:
        raise InvalidInput(f"{field}: the pattern is empty", field=field)
    if len(pattern) > MAX_PATTERN:
        raise InvalidInput(f"{field}: patterns are at most {MAX_PATTERN} characters", field=field)
    insensitive = pattern.startswith("(?i)")
    body = pattern[4:] if insensitive else pattern
    try:
        python = _Scan(body).run()
        compiled = re.compile(f"(?{_PY_FLAGS}{'i' if insensitive else ''})" + python)
    except _Refused as error:
        raise InvalidInput(f"{field}: {error}", field=field) from None
    except re.error as error:
        raise InvalidInput(f"{field}: not a valid pattern ({error})", field=field) from None
    return SafePattern(pattern, compiled.pattern, body, insensitive, compiled)


@lru_cache(maxsize=16_384)
def sqlite_regexp(pattern: str | None, value: str | None) -> int | None:
    """SQLite's ``value REGEXP pattern`` (called as ``regexp(pattern, value)``): a search with Python's
    re. NULL in, NULL out. Remembered, because a column holds the same few values over and over
    (titles, countries) and the function is pure."""
    if pattern is None or value is None:
        return None
    return 1 if re.search(pattern, str(value)) else 0
