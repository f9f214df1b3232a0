"""The shared regular-expression subset: what is refused (naming the field), and how Python reads
what is accepted (PostgreSQL's reading is checked against it in test_agreement.py)."""

from __future__ import annotations

import pytest

from leadwell.errors import InvalidInput
from leadwell.icp.regex import check_pattern, sqlite_regexp


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty"),
        ("(?m)^cto", "leading (?i)"),
        ("(?i)(?s)x", "leading (?i)"),
        ("cto(?=x)", "leading (?i)"),
        ("(?P<n>x)", "leading (?i)"),
        (r"\bcto\b", r"\b is not supported"),
        (r"(a)\1", r"\1 is not supported"),
        (r"\A", r"\A is not supported"),
        ("[[:alpha:]]", "POSIX"),
        ("[a&&b]", "doubled"),
        ("[]", "empty class"),
        ("[abc", "never closed"),
        ("(abc", "never closed"),
        ("abc)", "has no '('"),
        ("a||b", "empty alternative"),
        ("()", "empty alternative"),
        ("*cto", "nothing to repeat"),
        ("a**", "nothing to repeat"),
        ("a{2,1}", "low to high"),
        ("a{300}", "0 to 255"),
        ("a{x}", "'{'"),
        ("a}", "lone '}'"),
        ("(a+)+$", "take forever"),
        ("[z-a]", "not a valid pattern"),
        (r"[\d-z]", "cannot end a range"),
        ("x" * 501, "at most 500"),
    ],
)
def test_refused_patterns_name_the_field(pattern: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_pattern(pattern, "nice[2].value")
    assert caught.value.field == "nice[2].value"
    assert caught.value.detail.startswith("nice[2].value: ")
    assert message in caught.value.detail


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("(?i)cto|chief technology", "Acting CTO", True),
        ("(?i)cto|chief technology", "Chief Technology Officer", True),
        ("cto", "CTO", False),
        ("^vp", "vp sales", True),
        ("^vp", "svp", False),
        ("sales$", "vp sales\n", False),  # $ is the very end, as in PostgreSQL
        ("a.b", "a\nb", True),  # . matches a newline, as in PostgreSQL
        ("(?i)é", "É", False),  # case folds in ASCII only
        (r"\w", "éß", False),  # \w is ASCII
        (r"^\d{3}-\d{4}$", "555-0100", True),
        ("colou?r", "color", True),
        (r"a\.b", "axb", False),
        ("[^a-c]x", "dx", True),
        ("(?:ab)+?c", "ababc", True),
    ],
)
def test_accepted_patterns_search_anywhere(pattern: str, text: str, found: bool) -> None:
    checked = check_pattern(pattern, "value")
    assert checked.search(text) is found
    assert bool(sqlite_regexp(checked.python, text)) is found


def test_forms_for_each_engine() -> None:
    checked = check_pattern("(?i)^cto$", "value")
    assert checked.insensitive and checked.postgres == "^cto$"
    assert checked.python == r"(?asi)^cto\Z"
    assert sqlite_regexp(checked.python, None) is None
