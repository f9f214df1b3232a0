"""The editor's form: definitions to inputs and back, values by operator, errors mapped to rows."""

from __future__ import annotations

from typing import Any

import pytest

from leadwell.icp.definition import parse_definition
from leadwell.icp.form import (
    Draft,
    Row,
    avatar_items,
    check,
    document_of,
    draft_from_form,
    draft_of,
    lines_text,
    list_text,
    parse_value,
    split_list,
)

FULL: dict[str, Any] = {
    "slug": "consulting",
    "name": "Complex consulting projects",
    "description": "Mid-size firms that can act on an ROI case",
    "grades": {"A": 85, "B": 70, "C": 50, "D": 30},
    "must": [
        {"field": "organization.employees", "op": "gte", "value": 100},
        {"field": "custom.roi_months", "op": "lte", "value": "3 months", "unit": "months"},
        {"field": "contact.country", "op": "in", "value": ["DE", "AT", "Zurich, CH", 'say "hi"']},
        {"field": "organization.custom.budget", "op": "between", "value": ["1.2k", 5000]},
        {"field": "contact.email", "op": "is_set"},
    ],
    "nice": [
        {
            "field": "contact.title",
            "op": "matches",
            "value": "(?i)cto|chief ",
            "weight": 30,
            "label": "tech lead",
        },
        {"field": "contact.tags", "op": "contains", "value": "vip"},
        {"field": "custom.score", "op": "gte", "value": 2.5, "weight": 5},
        {"field": "custom.tier", "op": "in", "value": [1, 2, "007", "gold"], "weight": 5},
    ],
    "avatar": {
        "roles": ["CTO", "Head of IT, EMEA"],
        "company_sizes": ["100-250", "1000+"],
        "locations": ["DE", "Zurich, CH"],
        "age_min": 30,
        "age_max": 55,
        "pains": ["projects that overrun"],
        "channels": ["LinkedIn"],
    },
}


def form_fields(draft: Draft) -> dict[str, str]:
    """The fields a browser would post for ``draft``, as the editor renders it."""
    fields = {"slug": draft.slug, "name": draft.name, "description": draft.description}
    fields |= {f"grade-{letter}": text for letter, text in draft.grades.items()}
    for kind in ("must", "nice"):
        for row in draft.rows(kind):
            for part in ("field", "op", "value", "unit", "label") + (("weight",) if kind == "nice" else ()):
                fields[f"{kind}-{row.number}-{part}"] = getattr(row, part)
    fields |= {f"avatar-{key}": text for key, text in draft.avatar.items()}
    return fields


def test_a_stored_definition_survives_the_form_unchanged() -> None:
    stored = parse_definition(FULL)
    posted = draft_from_form(form_fields(draft_of(stored.document)))
    again = check(posted)
    assert again is not None, posted.error
    assert again.canonical() == stored.canonical()  # saving without a change makes no version


def test_the_form_shows_values_as_people_write_them() -> None:
    draft = draft_of(parse_definition(FULL).document)
    assert [row.value for row in draft.must] == [
        "100",
        "3 months",
        'DE, AT, "Zurich, CH", "say ""hi"""',
        "1.2k to 5000",
        "",
    ]
    assert draft.nice[0].weight == "30" and draft.nice[1].weight == "10"
    assert draft.avatar["roles"] == "CTO\nHead of IT, EMEA\n"
    assert draft.avatar["age_min"] == "30" and draft.avatar["interests"] == ""


@pytest.mark.parametrize(
    ("op", "text", "value"),
    [
        ("gte", " 100 ", 100),
        ("lte", "2.5", 2.5),
        ("lte", "3 months", "3 months"),
        ("gte", "1,200", "1,200"),
        ("between", "30 to 90", [30, 90]),
        ("between", "1 month – 3 months", ["1 month", "3 months"]),
        ("between", "30..90", [30, 90]),
        ("between", "30", "30"),
        ("in", "DE, at ,", ["DE", "at"]),
        ("in", "   ", None),
        ("not_in", '"a, b", c', ["a, b", "c"]),
        ("contains", " vip ", "vip"),
        ("matches", "(?i)cto ", "(?i)cto "),
        ("is_set", "whatever", None),
    ],
)
def test_values_are_read_by_operator(op: str, text: str, value: Any) -> None:
    assert parse_value(op, text) == value


@pytest.mark.parametrize("items", [["Head of IT, EMEA"], ["Zurich, CH"], ["CTO"], ["a, b", "c"], []])
def test_avatar_lists_round_trip_through_their_text(items: list[str]) -> None:
    key = "locations" if items == ["Zurich, CH"] else "roles"
    assert avatar_items(key, lines_text(items)) == items


def test_lists_round_trip_through_their_text() -> None:
    items = ["DE", "a, b", 'say "x"', " padded "]
    assert split_list(list_text(items)) == ["DE", "a, b", 'say "x"', "padded"]


@pytest.mark.parametrize(
    ("key", "text", "items"),
    [
        ("roles", "CTO, Head of IT", ["CTO", "Head of IT"]),
        ("roles", "Head of IT, EMEA\nCTO\n", ["Head of IT, EMEA", "CTO"]),
        ("locations", "DE, Zurich, CH, AT", ["DE", "Zurich, CH", "AT"]),
        ("locations", "Berlin, DE, Paris, FR", ["Berlin, DE", "Paris, FR"]),
        ("locations", "DE, AT", ["DE", "AT"]),
        ("pains", " , ", []),
        ("roles", "CTO, Head of IT\n", ["CTO", "Head of IT"]),
        ("roles", '"Head of IT, EMEA", CTO', ["Head of IT, EMEA", "CTO"]),
    ],
)
def test_avatar_lists_split_by_lines_or_commas(key: str, text: str, items: list[str]) -> None:
    assert avatar_items(key, text) == items


def test_blank_rows_are_left_out_and_errors_name_the_form_row() -> None:
    draft = Draft(slug="x", name="X")
    draft.must = [Row(0), Row(4, field="organization.employees", op="gte", value="soon")]
    draft.nice = [Row(7, field="contact.title", op="contains", value="cto", weight="ten")]
    sent = document_of(draft)
    assert len(sent.document["must"]) == 1  # the blank row 0 is not a criterion
    assert check(draft) is None  # the shape is checked first: the weight
    assert draft.error_at == "nice-7" and draft.nice[0].error_part == "weight"
    draft.nice[0].weight = "20"
    assert check(draft) is None
    # The row is the second on the page (the blank one is shown too): the summary says so.
    assert draft.error is not None and draft.error.startswith("must-have 2, value: 'soon' is not a number")
    assert draft.error_at == "must-4"
    assert draft.must[1].error_part == "value" and draft.must[1].error is not None
    assert draft.must[1].error.startswith("'soon' is not a number")  # the row shows the message alone


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"grade-B": "90"}, "grades.B"),
        ({"avatar-locations": "Atlantis"}, "avatar.locations"),
        ({"avatar-age_min": "60", "avatar-age_max": "20"}, "avatar.age_max"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"must-0-field": "", "must-0-value": ""}, "must"),
    ],
)
def test_errors_outside_rows_name_their_input(change: dict[str, str], where: str) -> None:
    fields = {
        "slug": "x",
        "name": "X",
        "must-0-field": "contact.country",
        "must-0-op": "in",
        "must-0-value": "DE",
    }
    draft = draft_from_form(fields | change)
    assert check(draft) is None
    assert draft.error_at == where, draft.error


def test_pasted_toml_is_read_instead_of_the_inputs() -> None:
    draft = draft_from_form(
        {"toml": 'slug = "t"\nname = "T"\n[[nice]]\nfield = "contact.city"\nop = "is_set"\n'}
    )
    definition = check(draft)
    assert definition is not None and definition.slug == "t"
    broken = draft_from_form({"toml": 'slug = "t"\nname = '})
    assert check(broken) is None and broken.error_at == "toml"
    assert broken.error is not None and broken.error.startswith("file: not valid TOML")
