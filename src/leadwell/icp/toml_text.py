"""A stored definition written back as TOML, in the layout docs/icp.md shows (round-trips exactly)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_TOP = ("slug", "name", "description")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes; \uXXXX for control characters).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(values: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {_value(item)}" for key, item in values.items()]


def to_toml(document: Mapping[str, Any]) -> str:
    """``document`` (a stored definition) as TOML text."""
    lines = [f"{key} = {_value(document[key])}" for key in _TOP if key in document]
    if "grades" in document:
        lines += ["", "[grades]", *_table(document["grades"])]
    for kind in ("must", "nice"):
        for item in document.get(kind, []):
            lines += ["", f"[[{kind}]]", *_table(item)]
    if document.get("avatar"):
        lines += ["", "[avatar]", *_table(document["avatar"])]
    return "\n".join(lines) + "\n"
