"""Stored qualification settings written back as TOML, in the layout docs/qualify.md shows.

Parsing the text again gives the same stored document (a test holds this for the defaults and for
generated settings), so ``leadwell score show`` output can be edited and applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# Keys whose values are read as floats: a whole number among them is written without ".0" (a
# condition's value is not one of them: there 80 and 80.0 are stored differently).
FLOAT_KEYS = frozenset(
    {
        "half_life_days", "points", "min_engagement", "max_engagement", "engagement_midpoint",
        "engagement_floor", "resurface_points", "grade_probability",
    }
)  # fmt: skip


def _plain(value: Any) -> Any:
    """A whole float as an int, anything else (and a float table's values) as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def value_text(value: Any) -> str:
    """One TOML value: booleans, numbers, strings, arrays and inline tables (``None`` is left out
    by the callers: TOML has no null)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes; \uXXXX for control characters).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_key(k)} = {_text(k, v)}" for k, v in value.items() if v is not None)
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _text(key: str, value: Any) -> str:
    return value_text(_plain(value) if key in FLOAT_KEYS else value)


def _lines(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(key)} = {_text(key, value)}" for key, value in table.items() if value is not None]


def _deal_value(text: str) -> int | float:
    """The stored decimal as a TOML number (it is read back as the same decimal)."""
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(text)


def to_toml(document: Mapping[str, Any]) -> str:
    """``document`` (stored settings) as TOML text."""
    lines = _lines({"half_life_days": document["half_life_days"]})
    for rule in document.get("rules", []):
        lines += ["", "[[rules]]", *_lines({**rule, "when": rule.get("when") or None})]
    for rule in document.get("stage_rules", []):
        lines += ["", "[[stage_rules]]", *_lines(rule)]
    queue = dict(document.get("queue", {}))
    if "deal_value" in queue:
        queue["deal_value"] = _deal_value(str(queue["deal_value"]))
    lines += ["", "[queue]", *_lines(queue)]
    lines += ["", "[pipeline]", *_lines(document.get("pipeline", {}))]
    return "\n".join(lines) + "\n"
