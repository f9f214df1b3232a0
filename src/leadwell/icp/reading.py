"""How a contact's stored values are read for grading, in exactly the way the SQL grader reads them.

- Text compares without case in ASCII only (A–Z and a–z), as SQLite's ``lower`` and PostgreSQL's
  ``lower(… COLLATE "C")`` do, so both databases and Python agree on every text.
- An empty text is no value at all.
- A custom field reads as text when it holds text, a whole number or a boolean ("true"/"false");
  other values (fractions, lists) are not text, and a text criterion on them is "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """``text`` with ASCII capitals made small (and nothing else changed)."""
    return text.translate(_ASCII_LOWER)


def plain_text(value: Any) -> str | None:
    """A text column's value, None when unset or empty."""
    return value if isinstance(value, str) and value != "" else None


def custom_text(value: Any) -> str | None:
    """A custom field's value as text for text operators, or None (unset, or not text-like)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return plain_text(value)


def custom_display(value: Any) -> str | None:
    """A custom field's value as shown in reasons: like :func:`custom_text`, and fractions too."""
    if isinstance(value, float):
        return repr(value)
    return custom_text(value)


def custom_is_set(value: Any) -> bool:
    """A custom field holds something: non-empty text or list, a number, a boolean."""
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return value is not None


def tag_texts(tags: Any) -> list[str]:
    """A contact's tags that are non-empty text, in order."""
    if not isinstance(tags, list):
        return []
    return [tag for tag in tags if isinstance(tag, str) and tag != ""]


def employee_bounds(values: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """An organization's head count as (low, high): an exact count is both ends; either end of a
    range may be unknown (None means unbounded that way)."""
    exact = values.get("organization.employees")
    if exact is not None:
        return exact, exact
    return values.get("organization.employees_min"), values.get("organization.employees_max")


def range_text(low: int | None, high: int | None) -> str | None:
    """ "120", "50–250", "500+", "up to 9", or None when nothing is known."""
    if low is not None and high is not None:
        return str(low) if low == high else f"{low}–{high}"
    if low is not None:
        return f"{low}+"
    if high is not None:
        return f"up to {high}"
    return None
