"""The profile editor's form: a definition as rows of inputs, and the inputs back into a definition.

The editor shows a profile as plain inputs (a row per criterion, a text box per avatar list), and
sends them back as flat form fields (``must-3-field``, ``nice-0-weight``, ``avatar-roles``…). This
module turns a stored document into a :class:`Draft` of texts, a submitted form into a draft, and a
draft into the document :func:`~leadwell.icp.definition.parse_definition` checks. An error's path
(``must[1].value``, counting the criteria that were sent) is mapped back to the form row it came
from, so the page can show it next to that row with the user's input kept.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadwell.errors import InvalidInput
from leadwell.icp.definition import DEFAULT_GRADES, GRADE_LETTERS, Definition, load_toml, parse_definition

KINDS = ("must", "nice")
ROW_PARTS = ("field", "op", "value", "unit", "weight", "label")
AVATAR_LISTS = (
    "roles",
    "industries",
    "company_sizes",
    "locations",
    "interests",
    "pains",
    "goals",
    "objections",
    "channels",
)
AVATAR_NUMBERS = ("age_min", "age_max")
MAX_ROWS = 100
_ROW_NAME = re.compile(r"^(must|nice)-(\d{1,4})-(field|op|value|unit|weight|label)$")
_ERROR_PATH = re.compile(r"^(must|nice)\[(\d+)\](?:\.(\w+))?")
_INTEGER = re.compile(r"^-?\d{1,15}$")
_DECIMAL = re.compile(r"^-?\d{1,15}\.\d{1,15}$")
_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9]\d{0,14})$")
_BETWEEN = re.compile(r"\s+(?:to|and)\s+|\s*(?:\.\.|–|—)\s*|\s+-\s+", re.IGNORECASE)
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
PREVIEW_SLUG = "draft"


@dataclass
class Row:
    """One criterion as the form holds it: texts, as typed. ``number`` names its inputs."""

    number: int
    field: str = ""
    op: str = "in"
    value: str = ""
    unit: str = ""
    weight: str = ""
    label: str = ""
    error: str | None = None
    error_part: str | None = None  # which input the error is about: field, op, value, …

    @property
    def blank(self) -> bool:
        """Nothing chosen or typed (the operator and weight have defaults, so they do not count)."""
        return not any((self.field, self.value.strip(), self.unit, self.label.strip()))


@dataclass
class Draft:
    """Everything the editor shows: the profile as texts, and the error found in it, if any."""

    slug: str = ""
    name: str = ""
    description: str = ""
    grades: dict[str, str] = field(default_factory=lambda: {k: str(v) for k, v in DEFAULT_GRADES.items()})
    must: list[Row] = field(default_factory=list)
    nice: list[Row] = field(default_factory=list)
    avatar: dict[str, str] = field(default_factory=dict)
    toml: str = ""  # pasted TOML, when the profile comes from the TOML box instead of the inputs
    error: str | None = None  # the whole message, for the summary at the top
    error_at: str | None = None  # slug, name, description, grades.B, avatar.roles, toml, must, nice

    def rows(self, kind: str) -> list[Row]:
        rows: list[Row] = self.must if kind == "must" else self.nice
        return rows

    def next_number(self) -> int:
        return max((row.number for row in (*self.must, *self.nice)), default=-1) + 1


# --- from a stored document to texts --------------------------------------------------------------


def _item_text(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def list_text(items: list[Any]) -> str:
    """ "DE, AT": items joined by commas, quoted (CSV style) when an item holds a comma or a quote."""
    parts = []
    for item in items:
        text = _item_text(item)
        needs_quotes = any(mark in text for mark in (",", '"')) or text != text.strip()
        parts.append('"' + text.replace('"', '""') + '"' if needs_quotes else text)
    return ", ".join(parts)


def value_text(op: str, value: Any) -> str:
    """A criterion's value as the value input shows it."""
    if value is None:
        return ""
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{_item_text(value[0])} to {_item_text(value[1])}"
    if isinstance(value, list):
        return list_text(value)
    return _item_text(value)


def _row(number: int, item: Mapping[str, Any]) -> Row:
    op = str(item.get("op", ""))
    return Row(
        number,
        field=str(item.get("field", "")),
        op=op,
        value=value_text(op, item.get("value")),
        unit=str(item.get("unit") or ""),
        weight=str(item["weight"]) if "weight" in item else "",
        label=str(item.get("label") or ""),
    )


def lines_text(items: list[Any]) -> str:
    """An avatar list's text: one item a line; a single item on its own, quoted if it holds a
    comma (one line is read as comma-separated)."""
    texts = [_item_text(item) for item in items]
    if len(texts) == 1:
        return list_text(texts)
    return "".join(f"{text}\n" for text in texts)


def draft_of(document: Mapping[str, Any]) -> Draft:
    """The editor's texts for a stored (or freshly parsed) definition document."""
    draft = Draft(
        slug=str(document.get("slug", "")),
        name=str(document.get("name", "")),
        description=str(document.get("description") or ""),
    )
    grades = document.get("grades") or {}
    draft.grades = {letter: str(grades.get(letter, DEFAULT_GRADES[letter])) for letter in GRADE_LETTERS}
    number = 0
    for kind in KINDS:
        for item in document.get(kind) or []:
            draft.rows(kind).append(_row(number, item))
            number += 1
    avatar = document.get("avatar") or {}
    for key in AVATAR_LISTS:
        draft.avatar[key] = lines_text(list(avatar.get(key) or []))
    for key in AVATAR_NUMBERS:
        draft.avatar[key] = "" if avatar.get(key) is None else str(avatar[key])
    return draft


def blank_draft() -> Draft:
    """A new profile: default thresholds, one empty must-have and one empty nice-to-have."""
    draft = draft_of({})
    draft.must.append(Row(0))
    draft.nice.append(Row(1, weight="10"))
    return draft


# --- from the submitted form to a draft -----------------------------------------------------------


def draft_from_form(form: Mapping[str, Any]) -> Draft:
    """The draft a submitted editor form describes (unknown or surplus inputs are ignored)."""
    draft = Draft(
        slug=_text(form, "slug").strip(),
        name=_text(form, "name").strip(),
        description=_text(form, "description").strip(),
        toml=_text(form, "toml"),
    )
    draft.grades = {letter: _text(form, f"grade-{letter}").strip() for letter in GRADE_LETTERS}
    rows: dict[tuple[str, int], Row] = {}
    for name in form:
        match = _ROW_NAME.match(str(name))
        if match is None:
            continue
        kind, number, part = match.group(1), int(match.group(2)), match.group(3)
        row = rows.get((kind, number))
        if row is None:
            if len(rows) >= MAX_ROWS:
                continue
            row = rows[(kind, number)] = Row(number)
        setattr(row, part, _text(form, str(name)))
    for (kind, _number), row in sorted(rows.items(), key=lambda pair: pair[0][1]):
        draft.rows(kind).append(row)
    for key in (*AVATAR_LISTS, *AVATAR_NUMBERS):
        draft.avatar[key] = _text(form, f"avatar-{key}")
    return draft


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- from a draft to a definition document --------------------------------------------------------


def number_or_text(text: str) -> Any:
    """ "100" → 100, "2.5" → 2.5, anything else as written ("1,200", "3 months")."""
    text = text.strip()
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    return text


def split_list(text: str) -> list[str]:
    """ "DE, AT" → ["DE", "AT"]; an item in double quotes may hold commas."""
    reader = csv.reader([text.replace("\n", " ")], skipinitialspace=True)
    return [item.strip() for line in reader for item in line if item.strip()]


def parse_value(op: str, text: str) -> Any:
    """The value input's text as the definition takes it for ``op`` (None: leave the key out)."""
    stripped = text.strip()
    if op == "is_set":
        return None
    if op in ("in", "not_in"):
        return split_list(text) or None
    if op == "between":
        parts = _BETWEEN.split(stripped)
        return [number_or_text(part) for part in parts] if len(parts) == 2 else stripped
    if op in ("gte", "lte"):
        return number_or_text(stripped)
    return text if op == "matches" else stripped


def _custom_items(items: list[str]) -> list[Any]:
    """A custom field's list items: whole numbers written plainly ("12", not "012") as numbers, so a
    stored ``[1, 2]`` saved unchanged through the form stays ``[1, 2]`` and makes no new version.
    Fixed fields are text, where "01234" is a postal code and stays as written."""
    return [int(item) if _PLAIN_INTEGER.match(item) else item for item in items]


def _criterion(kind: str, row: Row) -> dict[str, Any]:
    item: dict[str, Any] = {"field": row.field.strip(), "op": row.op.strip()}
    value = parse_value(item["op"], row.value)
    if isinstance(value, list) and item["op"] in ("in", "not_in") and ".custom." in f".{item['field']}":
        value = _custom_items(value)
    if value is not None:
        item["value"] = value
    if row.unit.strip():
        item["unit"] = row.unit.strip()
    if row.label.strip():
        item["label"] = row.label.strip()
    if kind == "nice" and row.weight.strip():
        item["weight"] = number_or_text(row.weight)
    return item


def avatar_items(key: str, text: str) -> list[str]:
    """An avatar list from its text box: one item a line, or, on a single line, comma-separated
    (an item in double quotes may hold a comma).

    Locations read "City, CC" as one item ("Zurich, CH"), so "DE, Zurich, CH" is two."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        return lines
    parts = split_list(lines[0]) if lines else []
    if key != "locations":
        return parts
    items: list[str] = []
    for part in parts:
        if _COUNTRY.match(part) and items and not _COUNTRY.match(items[-1]) and "," not in items[-1]:
            items[-1] = f"{items[-1]}, {part}"
        else:
            items.append(part)
    return items


def _avatar(draft: Draft) -> dict[str, Any]:
    avatar: dict[str, Any] = {}
    for key in AVATAR_LISTS:
        items = avatar_items(key, draft.avatar.get(key, ""))
        if items:
            avatar[key] = items
    for key in AVATAR_NUMBERS:
        text = draft.avatar.get(key, "").strip()
        if text:
            avatar[key] = number_or_text(text)
    return avatar


@dataclass(frozen=True)
class Sent:
    """The document sent to the checker, and which form row each criterion came from."""

    document: dict[str, Any]
    rows: dict[str, list[Row]]


def document_of(draft: Draft) -> Sent:
    """The definition document the draft's inputs describe (blank rows left out)."""
    document: dict[str, Any] = {"slug": draft.slug, "name": draft.name}
    if draft.description:
        document["description"] = draft.description
    grades = {letter: number_or_text(text) for letter, text in draft.grades.items() if text.strip()}
    if grades:
        document["grades"] = grades
    sent: dict[str, list[Row]] = {}
    for kind in KINDS:
        sent[kind] = [row for row in draft.rows(kind) if not row.blank]
        document[kind] = [_criterion(kind, row) for row in sent[kind]]
    avatar = _avatar(draft)
    if avatar:
        document["avatar"] = avatar
    return Sent(document, sent)


# --- checking ---------------------------------------------------------------------------------------


def _place(draft: Draft, sent: Sent | None, error: InvalidInput) -> None:
    """Attach ``error`` to the row or input its path names."""
    draft.error = error.detail
    where = error.field or ""
    match = _ERROR_PATH.match(where)
    if sent is not None and match and int(match.group(2)) < len(sent.rows[match.group(1)]):
        kind, index = match.group(1), int(match.group(2))
        row = sent.rows[kind][index]
        row.error = error.detail.split(": ", 1)[-1]
        row.error_part = match.group(3) or "field"
        draft.error_at = f"{kind}-{row.number}"
        # People count the rows they see from 1, and call them by name: "must-have 2, value: …".
        shown = draft.rows(kind).index(row) + 1
        what = "must-have" if kind == "must" else "nice-to-have"
        draft.error = f"{what} {shown}, {row.error_part}: {row.error}"
        return
    if sent is None:
        draft.error_at = "toml"
        return
    head = where.split("[")[0]
    draft.error_at = head if head.startswith(("grades.", "avatar.")) else head.split(".")[0] or "form"


def definition_of(draft: Draft) -> Definition:
    """The draft's definition (from its pasted TOML, when it has some); :class:`InvalidInput` if
    it is not a valid one."""
    if draft.toml.strip():
        return load_toml(draft.toml)
    return parse_definition(document_of(draft).document)


def _checked_slug(draft: Draft) -> None:
    """The slug's rule in words (the checker's message quotes its pattern)."""
    if not SLUG.fullmatch(draft.slug):
        raise InvalidInput(
            "slug: use lower case letters, digits and - (up to 64), starting with a letter or digit",
            field="slug",
        )


def _checked_fields(sent: Sent) -> None:
    """A row with something typed in it but no field chosen."""
    for kind in KINDS:
        for index, item in enumerate(sent.document[kind]):
            if not item["field"]:
                raise InvalidInput(f"{kind}[{index}].field: choose a field", field=f"{kind}[{index}].field")


def check(draft: Draft) -> Definition | None:
    """The draft's definition, or None with the error placed on the draft (its texts kept)."""
    sent = None if draft.toml.strip() else document_of(draft)
    try:
        if sent is None:
            return load_toml(draft.toml)
        _checked_slug(draft)
        _checked_fields(sent)
        return parse_definition(sent.document)
    except InvalidInput as error:
        _place(draft, sent, error)
        return None


def for_preview(draft: Draft) -> Draft:
    """The draft with a stand-in name and slug while those are still missing or wrong: grading
    needs only the criteria, so the preview can start before the profile has a name."""
    if not SLUG.fullmatch(draft.slug):
        draft.slug = PREVIEW_SLUG
    if not draft.name.strip():
        draft.name = PREVIEW_SLUG
    return draft


def remove_row(draft: Draft, kind: str, number: int) -> None:
    rows = draft.rows(kind)
    rows[:] = [row for row in rows if row.number != number]


def add_row(draft: Draft, kind: str) -> None:
    rows = draft.rows(kind)
    rows.append(Row(draft.next_number(), weight="10" if kind == "nice" else ""))
