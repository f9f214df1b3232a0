"""Definitions: what a profile file may say, what it compiles to, and errors that name the field."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from leadwell.errors import InvalidInput
from leadwell.icp.definition import load_toml, parse_definition
from leadwell.icp.toml_text import to_toml

EXAMPLE = """
slug = "consulting"
name = "Complex consulting projects"
[grades]  # A>=80 B>=65 C>=50 D>=35 by default
A = 85
[[must]]
field = "organization.employees"
op = "gte"
value = 100
[[must]]
field = "custom.roi_months"
op = "lte"
value = "3 months"
[[nice]]
field = "contact.title"
op = "matches"
value = "(?i)cto|chief technology"
weight = 30
[[nice]]
field = "contact.tags"
op = "contains"
value = "vip"
[avatar]
titles = ["CTO"]
roles = ["Head of IT"]
industries = ["Software"]
company_sizes = ["100-250", "500 +"]
locations = ["de", "Berlin, de"]
age_min = 30
age_max = 55
channels = ["LinkedIn"]
"""


def definition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "icp",
        "name": "ICP",
        "must": [{"field": "organization.employees", "op": "gte", "value": 100}],
    }
    data.update(changes)
    return data


def fails(data: dict[str, Any], field: str, *words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_definition(data)
    assert caught.value.field == field, caught.value.detail
    assert caught.value.detail.startswith(f"{field}: ")
    for word in words:
        assert word in caught.value.detail


def test_the_example_compiles() -> None:
    compiled = load_toml(EXAMPLE)
    assert compiled.slug == "consulting"
    assert compiled.grades == {"A": 85, "B": 65, "C": 50, "D": 35}
    labels = [c.label for c in compiled.criteria]
    assert labels == [
        "employees ≥ 100",
        "roi_months ≤ 90 days",
        "title matches (?i)cto|chief technology",
        "tags contains vip",
    ]
    assert [c.where for c in compiled.criteria] == ["must[0]", "must[1]", "nice[0]", "nice[1]"]
    assert compiled.total_weight == 40  # 30 + the default weight 10
    roi = compiled.criteria[1]
    assert roi.high == 90.0 and roi.scale.durations and roi.scale.bare == 30
    assert compiled.avatar == {
        "roles": ["Head of IT", "CTO"],
        "industries": ["Software"],
        "company_sizes": ["100-250", "500+"],
        "locations": ["DE", "Berlin, DE"],
        "age_min": 30,
        "age_max": 55,
        "channels": ["LinkedIn"],
    }


def test_the_same_meaning_is_the_same_document() -> None:
    spelled_out = EXAMPLE.replace("A = 85", "A = 85\nB = 65\nC = 50\nD = 35")
    assert load_toml(spelled_out).canonical() == load_toml(EXAMPLE).canonical()
    assert load_toml(EXAMPLE.replace("100", "120")).canonical() != load_toml(EXAMPLE).canonical()


def test_the_document_writes_back_as_toml() -> None:
    document = load_toml(EXAMPLE).document
    text = to_toml(document)
    assert tomllib.loads(text) == document
    assert load_toml(text).canonical() == load_toml(EXAMPLE).canonical()


@pytest.mark.parametrize(
    ("criterion", "low", "high", "label"),
    [
        ({"field": "organization.employees", "op": "gte", "value": "1.2k"}, 1200.0, None, "employees ≥ 1200"),
        (
            {"field": "organization.employees", "op": "lte", "value": "1,000"},
            None,
            1000.0,
            "employees ≤ 1000",
        ),
        (
            {"field": "organization.employees", "op": "between", "value": [50, "250"]},
            50.0,
            250.0,
            "employees between 50 and 250",
        ),
        ({"field": "custom.budget", "op": "gte", "value": 2.5}, 2.5, None, "budget ≥ 2.5"),
        (
            {"field": "custom.roi", "op": "between", "value": ["2 weeks", "1 month"]},
            14.0,
            30.0,
            "roi between 14 and 30 days",
        ),
        ({"field": "custom.roi", "op": "lte", "value": 3, "unit": "months"}, None, 90.0, "roi ≤ 90 days"),
    ],
)
def test_numeric_thresholds(criterion: dict[str, Any], low: float, high: float, label: str) -> None:
    (compiled,) = parse_definition(definition(must=[criterion])).criteria
    assert (compiled.low, compiled.high, compiled.label) == (low, high, label)


def test_text_values_fold_case_and_labels_can_be_set() -> None:
    data = definition(
        nice=[
            {"field": "contact.country", "op": "in", "value": ["DE", "at", "DE"], "weight": 5},
            {"field": "custom.newsletter", "op": "in", "value": [True, 3]},
            {"field": "organization.industry", "op": "contains", "value": "Soft", "label": "software firm"},
        ]
    )
    country, flag, industry = parse_definition(data).nices
    assert country.texts == ("de", "at") and country.weight == 5 and country.label == "country in DE, at, DE"
    assert flag.texts == ("true", "3")
    assert industry.texts == ("soft",) and industry.label == "software firm"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"must": [{"field": "contact.shoe_size", "op": "gte", "value": 1}]}, "must[0].field", ["shoe_size"]),
        ({"must": [{"field": "custom.bad-key", "op": "is_set"}]}, "must[0].field", ["unknown field"]),
        ({"must": [{"field": "contact.city", "op": "gte", "value": 1}]}, "must[0].op", ["gte", "text"]),
        ({"must": [{"field": "contact.tags", "op": "matches", "value": "x"}]}, "must[0].op", ["tags"]),
        ({"must": [{"field": "organization.employees", "op": "in", "value": [1]}]}, "must[0].op", ["number"]),
        ({"must": [{"field": "contact.city", "op": "near", "value": 1}]}, "must[0].op", ["unknown operator"]),
        (
            {
                "must": [
                    {"field": "organization.employees", "op": "gte", "value": 1},
                    {"field": "custom.roi", "op": "lte", "value": "soon"},
                ]
            },
            "must[1].value",
            ["'soon' is not a number"],
        ),
        (
            {"must": [{"field": "organization.employees", "op": "gte", "value": True}]},
            "must[0].value",
            ["True"],
        ),
        (
            {"must": [{"field": "organization.employees", "op": "gte", "value": "3 months"}]},
            "must[0].value",
            ["duration"],
        ),
        (
            {"must": [{"field": "organization.employees", "op": "between", "value": [5]}]},
            "must[0].value",
            ["[low, high]"],
        ),
        (
            {"must": [{"field": "organization.employees", "op": "between", "value": [9, 5]}]},
            "must[0].value",
            ["low first"],
        ),
        (
            {"must": [{"field": "organization.employees", "op": "between", "value": [1, "x"]}]},
            "must[0].value[1]",
            ["not a number"],
        ),
        ({"must": [{"field": "contact.city", "op": "in", "value": "Berlin"}]}, "must[0].value", ["list"]),
        (
            {"must": [{"field": "contact.city", "op": "in", "value": ["Berlin", 1.5]}]},
            "must[0].value[1]",
            ["text"],
        ),
        (
            {"must": [{"field": "contact.city", "op": "contains", "value": ""}]},
            "must[0].value",
            ["non-empty"],
        ),
        ({"must": [{"field": "contact.city", "op": "matches", "value": r"\bx"}]}, "must[0].value", [r"\b"]),
        ({"must": [{"field": "contact.city", "op": "matches", "value": 3}]}, "must[0].value", ["pattern"]),
        ({"must": [{"field": "contact.city", "op": "is_set", "value": True}]}, "must[0].value", ["no value"]),
        ({"must": [{"field": "contact.city", "op": "is_set", "unit": "days"}]}, "must[0].unit", ["custom"]),
        (
            {"must": [{"field": "custom.roi", "op": "lte", "value": 3, "unit": "fortnights"}]},
            "must[0].unit",
            ["fortnights"],
        ),
        (
            {"must": [{"field": "contact.city", "op": "is_set", "weight": 3}]},
            "must[0].weight",
            ["unknown key"],
        ),
        ({"nice": [{"field": "contact.city", "op": "is_set", "weight": 0}]}, "nice[0].weight", ["1"]),
        ({"nice": [{"field": "contact.city", "op": "is_set", "weight": "5"}]}, "nice[0].weight", ["integer"]),
        (
            {"nice": [{"field": "contact.city", "op": "is_set", "extra": 1}]},
            "nice[0].extra",
            ["unknown key 'extra'"],
        ),
        ({"must": []}, "must", ["at least one"]),
        ({"slug": "Not A Slug"}, "slug", []),
        ({"name": None}, "name", []),
        ({"grades": {"B": 90}}, "grades.B", ["below grades.A (80)"]),
        ({"grades": {"F": 10}}, "grades.F", ["reserved"]),
        ({"avatar": {"hobbies": ["golf"]}}, "avatar.hobbies", ["unknown key 'hobbies'"]),
        ({"avatar": {"roles": "CTO"}}, "avatar.roles", ["list"]),
        ({"avatar": {"roles": ["CTO", 7]}}, "avatar.roles[1]", ["string"]),
        ({"avatar": {"company_sizes": ["big"]}}, "avatar.company_sizes[0]", ["size band"]),
        ({"avatar": {"company_sizes": ["500-100"]}}, "avatar.company_sizes[0]", ["high to low"]),
        ({"avatar": {"locations": ["Atlantis"]}}, "avatar.locations[0]", ["country code"]),
        ({"avatar": {"locations": ["Paris, XX"]}}, "avatar.locations[0]", ["country code"]),
        ({"avatar": {"age_min": "30"}}, "avatar.age_min", ["integer"]),
        ({"avatar": {"age_min": 50, "age_max": 40}}, "avatar.age_max", ["below avatar.age_min"]),
        ({"other": 1}, "other", ["unknown key"]),
    ],
)
def test_errors_name_the_exact_field(changes: dict[str, Any], field: str, words: list[str]) -> None:
    fails(definition(**changes), field, *words)


def test_bad_toml_names_the_file() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_toml("slug = ")
    assert caught.value.field == "file" and "not valid TOML" in caught.value.detail
