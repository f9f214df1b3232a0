"""A profile's definition as written (TOML or JSON), checked and compiled into criteria.

The stored form is the checked document with defaults filled in, so two files that mean the same
thing store the same JSON (and applying the same file twice makes no new version).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError

from leadwell.errors import InvalidInput
from leadwell.icp.avatar import Avatar
from leadwell.icp.criteria import Criterion, compile_criterion
from leadwell.inputs import Input

GRADE_LETTERS = ("A", "B", "C", "D")
DEFAULT_GRADES = {"A": 80, "B": 65, "C": 50, "D": 35}
MAX_CRITERIA = 50
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class CriterionIn(Input):
    """One ``[[must]]`` or ``[[nice]]`` table as written."""

    field: str = Field(min_length=1, max_length=200)
    op: str = Field(min_length=1, max_length=20)
    value: Any = None
    unit: str | None = Field(default=None, max_length=20)
    label: str | None = Field(default=None, min_length=1, max_length=200)


class MustIn(CriterionIn):
    pass


class NiceIn(CriterionIn):
    weight: int = Field(default=10, ge=1, le=1000, strict=True)


class GradesIn(Input):
    A: int = Field(default=DEFAULT_GRADES["A"], ge=0, le=100, strict=True)
    B: int = Field(default=DEFAULT_GRADES["B"], ge=0, le=100, strict=True)
    C: int = Field(default=DEFAULT_GRADES["C"], ge=0, le=100, strict=True)
    D: int = Field(default=DEFAULT_GRADES["D"], ge=0, le=100, strict=True)


class DefinitionIn(Input):
    """The whole file."""

    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    grades: GradesIn = Field(default_factory=GradesIn)
    must: list[MustIn] = Field(default_factory=list, max_length=MAX_CRITERIA)
    nice: list[NiceIn] = Field(default_factory=list, max_length=MAX_CRITERIA)
    avatar: Avatar | None = None


@dataclass(frozen=True)
class Definition:
    """A checked, compiled profile: musts first, then nice-to-haves, in file order."""

    slug: str
    name: str
    grades: dict[str, int]
    criteria: tuple[Criterion, ...]
    document: dict[str, Any]

    @property
    def musts(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == "must")

    @property
    def nices(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == "nice")

    @property
    def total_weight(self) -> int:
        return sum(c.weight or 0 for c in self.nices)

    @property
    def avatar(self) -> dict[str, Any] | None:
        avatar: dict[str, Any] | None = self.document.get("avatar")
        return avatar

    def canonical(self) -> str:
        """The stored document as one stable text: equal texts, equal definitions."""
        return canonical_json(self.document)


def canonical_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def location(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as people read it: ``must[1].value``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _invalid(error: ValidationError) -> InvalidInput:
    first = error.errors()[0]
    where = location(tuple(first["loc"])) or "definition"
    if first["type"] == "extra_forbidden" and tuple(first["loc"]) in (("grades", "E"), ("grades", "F")):
        message = "E is every score below D, and F is reserved for qualified out: set A to D only"
    elif first["type"] == "extra_forbidden":
        message = f"unknown key {str(first['loc'][-1])!r}"
    elif first["type"] == "missing":
        message = "required"
    else:
        message = first["msg"].removeprefix("Value error, ")
    return InvalidInput(f"{where}: {message}", field=where)


def _check_grades(grades: GradesIn) -> dict[str, int]:
    values = grades.model_dump()
    for higher, lower in zip(GRADE_LETTERS, GRADE_LETTERS[1:], strict=False):
        if values[lower] >= values[higher]:
            raise InvalidInput(
                f"grades.{lower}: {values[lower]} must be below grades.{higher} ({values[higher]})",
                field=f"grades.{lower}",
            )
    return values


def _check_avatar(avatar: Avatar | None) -> None:
    low, high = (avatar.age_min, avatar.age_max) if avatar else (None, None)
    if avatar and low is not None and high is not None and low > high:
        raise InvalidInput(
            f"avatar.age_max: {avatar.age_max} is below avatar.age_min ({avatar.age_min})",
            field="avatar.age_max",
        )


def _document(model: DefinitionIn) -> dict[str, Any]:
    document = model.model_dump(mode="json", exclude={"avatar"})
    for kind in ("must", "nice"):
        document[kind] = [{k: v for k, v in item.items() if v is not None} for item in document[kind]]
    if model.description is None:
        document.pop("description")
    if model.avatar is not None:
        document["avatar"] = model.avatar.document()
    return document


def parse_definition(data: Mapping[str, Any]) -> Definition:
    """Check and compile a definition; :class:`InvalidInput` names the first field at fault."""
    try:
        model = DefinitionIn.model_validate(data)
    except ValidationError as error:
        raise _invalid(error) from None
    grades = _check_grades(model.grades)
    _check_avatar(model.avatar)
    if not model.must and not model.nice:
        raise InvalidInput("must: a profile needs at least one [[must]] or [[nice]] criterion", field="must")
    criteria = [
        compile_criterion(kind, index, item.model_dump(exclude_none=True))
        for kind, items in (("must", model.must), ("nice", model.nice))
        for index, item in enumerate(items)
    ]
    return Definition(model.slug, model.name, grades, tuple(criteria), _document(model))


def load_toml(text: str) -> Definition:
    """A definition from TOML text (see docs/icp.md)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"file: not valid TOML ({error})", field="file") from None
    return parse_definition(data)


@lru_cache(maxsize=256)
def _from_canonical(text: str) -> Definition:
    return parse_definition(json.loads(text))


def from_document(document: Mapping[str, Any]) -> Definition:
    """A stored definition, compiled once per distinct document and then remembered."""
    return _from_canonical(canonical_json(document))
