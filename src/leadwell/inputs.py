"""The base of every request model: strict about unknown fields and about text a database refuses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from leadwell.errors import InvalidInput


def _find_nul(value: Any, path: str) -> str | None:
    """The path of the first text (value or key) holding a NUL character, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return where
            if (found := _find_nul(item, where)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _find_nul(item, f"{path}[{index}]")) is not None:
                return found
    return None


class Input(BaseModel):
    """Unknown fields are errors, not silently dropped (a typo must not lose data); NUL characters
    are refused up front, naming the field, because PostgreSQL cannot store them in text or JSON."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        if (where := _find_nul(data, "")) is not None:
            raise InvalidInput(f"{where}: contains a NUL character", field=where)
        return data
