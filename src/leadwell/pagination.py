"""Keyset (cursor) pagination shared by every list: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from leadwell.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; :class:`InvalidInput` naming ``cursor`` when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, _, value = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor returned by this API", field="cursor") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: between 1 and {MAX_LIMIT}", field="limit")
    return limit


def newest_first(
    query: Select[Any], id_column: InstrumentedAttribute[int], cursor: str | None, limit: int
) -> Select[Any]:
    """Order ``query`` newest first and start after ``cursor``; fetches one extra row to detect more."""
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    return query.order_by(id_column.desc()).limit(check_limit(limit) + 1)


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], int]) -> Page[T]:
    """Cut the extra row fetched by :func:`newest_first` and compute the next cursor."""
    items = list(rows[:limit])
    if len(rows) > limit:
        return Page(items, encode_cursor(key(items[-1])))
    return Page(items, None)
