"""The Python grader: every operator's met / unmet / unknown, ranges, units, scores and grades."""

from __future__ import annotations

from typing import Any

import pytest

from leadwell.icp.definition import Definition, parse_definition
from leadwell.icp.evaluate import grade_contact, grade_of, observe, score_of
from leadwell.icp.reasons import Graded, change_reason, reasons_text


def one(criterion: dict[str, Any]) -> Definition:
    return parse_definition({"slug": "t", "name": "T", "must": [criterion]})


def state(criterion: dict[str, Any], values: dict[str, Any]) -> tuple[str, str | None]:
    return observe(one(criterion).criteria[0], values)


EMPLOYEES = "organization.employees"


@pytest.mark.parametrize(
    ("op", "value", "org", "expected"),
    [
        ("gte", 100, {"employees": 120}, ("met", "120")),
        ("gte", 100, {"employees": 80}, ("unmet", "80")),
        ("gte", 100, {"employees_min": 100, "employees_max": 250}, ("met", "100–250")),
        ("gte", 100, {"employees_min": 50, "employees_max": 80}, ("unmet", "50–80")),
        ("gte", 100, {"employees_min": 50, "employees_max": 250}, ("unknown", "50–250")),
        ("gte", 100, {"employees_min": 500}, ("met", "500+")),
        ("gte", 100, {"employees_max": 9}, ("unmet", "up to 9")),
        ("gte", 100, {}, ("unknown", None)),
        ("lte", 100, {"employees_min": 1, "employees_max": 9}, ("met", "1–9")),
        ("lte", 100, {"employees_min": 500}, ("unmet", "500+")),
        ("lte", 100, {"employees_max": 200}, ("unknown", "up to 200")),
        ("between", [50, 250], {"employees": 50}, ("met", "50")),
        ("between", [50, 250], {"employees": 251}, ("unmet", "251")),
        ("between", [50, 250], {"employees_min": 200, "employees_max": 300}, ("unknown", "200–300")),
        ("between", [50, 250], {"employees_min": 300, "employees_max": 400}, ("unmet", "300–400")),
        ("is_set", None, {"employees_max": 9}, ("met", "up to 9")),
        ("is_set", None, {}, ("unmet", None)),
    ],
)
def test_head_counts_and_ranges(op: str, value: Any, org: dict[str, Any], expected: tuple[str, Any]) -> None:
    values = {f"organization.{key}": number for key, number in org.items()}
    criterion = {"field": EMPLOYEES, "op": op, **({"value": value} if value is not None else {})}
    assert state(criterion, values) == expected


def test_an_exact_count_wins_over_a_stale_range() -> None:
    values = {EMPLOYEES: 120, "organization.employees_min": 1, "organization.employees_max": 10}
    assert state({"field": EMPLOYEES, "op": "gte", "value": 100}, values) == ("met", "120")


@pytest.mark.parametrize(
    ("op", "value", "title", "expected"),
    [
        ("in", ["CTO", "CEO"], "cto", "met"),
        ("in", ["CTO"], "Chief", "unmet"),
        ("in", ["CTO"], None, "unknown"),
        ("in", ["CTO"], "", "unknown"),
        ("not_in", ["Intern"], "intern", "unmet"),
        ("not_in", ["Intern"], "CTO", "met"),
        ("not_in", ["Intern"], None, "unknown"),
        ("contains", "chief", "Deputy CHIEF of staff", "met"),
        ("contains", "chief", "CTO", "unmet"),
        ("contains", "é", "É", "unmet"),  # case folds in ASCII only, as in both databases
        ("matches", "(?i)^vp", "VP Sales", "met"),
        ("matches", "^vp", "VP Sales", "unmet"),
        ("matches", "x", None, "unknown"),
        ("is_set", None, "CTO", "met"),
        ("is_set", None, "", "unmet"),
    ],
)
def test_text_operators(op: str, value: Any, title: str | None, expected: str) -> None:
    criterion = {"field": "contact.title", "op": op, **({"value": value} if value is not None else {})}
    assert state(criterion, {"contact.title": title})[0] == expected


@pytest.mark.parametrize(
    ("op", "value", "tags", "expected"),
    [
        ("contains", "vip", ["VIP", "b"], ("met", "VIP; b")),
        ("contains", "vip", ["vipx"], ("unmet", "vipx")),
        ("contains", "vip", [], ("unknown", None)),
        ("in", ["a", "b"], ["c", "B"], ("met", "c; B")),
        ("not_in", ["spam"], ["ok"], ("met", "ok")),
        ("not_in", ["spam"], ["SPAM"], ("unmet", "SPAM")),
        ("is_set", None, ["", 3], ("unmet", None)),
        ("is_set", None, ["x"], ("met", "x")),
    ],
)
def test_tags(op: str, value: Any, tags: list[Any], expected: tuple[str, Any]) -> None:
    criterion = {"field": "contact.tags", "op": op, **({"value": value} if value is not None else {})}
    assert state(criterion, {"contact.tags": tags}) == expected


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2 months", ("met", "2 months")),
        ("12 weeks", ("met", "12 weeks")),
        ("90 days", ("met", "90 days")),
        ("1 year", ("unmet", "1 year")),
        (3, ("met", "3")),  # a bare number is in the threshold's unit: 3 months
        (4, ("unmet", "4")),
        (2.5, ("met", "2.5")),
        ("n/a", ("unknown", "n/a")),
        (True, ("unknown", "true")),
        (["3"], ("unknown", None)),
        (None, ("unknown", None)),
    ],
)
def test_custom_durations(stored: Any, expected: tuple[str, Any]) -> None:
    values = {"contact.custom": {} if stored is None else {"roi_months": stored}}
    assert state({"field": "custom.roi_months", "op": "lte", "value": "3 months"}, values) == expected


@pytest.mark.parametrize(
    ("op", "value", "stored", "expected"),
    [
        ("in", ["enterprise"], "Enterprise", "met"),
        ("in", ["true"], True, "met"),
        ("in", [42], 42, "met"),
        ("in", ["x"], 4.5, "unknown"),  # a fraction is not text
        ("in", ["x"], ["x"], "unknown"),  # nor is a list
        ("contains", "ent", "Enterprise", "met"),
        ("matches", "^[0-9]+$", 42, "met"),
        ("is_set", None, [], "unmet"),
        ("is_set", None, False, "met"),
        ("is_set", None, "", "unmet"),
        ("gte", "1.2k", "1,500", "met"),
        ("gte", "1.2k", 1000, "unmet"),
        ("gte", "1.2k", "3 months", "unknown"),  # a duration is not a count
    ],
)
def test_organization_custom_fields(op: str, value: Any, stored: Any, expected: str) -> None:
    criterion = {
        "field": "organization.custom.segment",
        "op": op,
        **({"value": value} if value is not None else {}),
    }
    assert state(criterion, {"organization.custom": {"segment": stored}})[0] == expected


def test_missing_organization_is_unknown_not_unmet() -> None:
    assert state({"field": "organization.industry", "op": "in", "value": ["Software"]}, {}) == (
        "unknown",
        None,
    )
    assert state({"field": "organization.custom.x", "op": "gte", "value": 1}, {}) == ("unknown", None)


PROFILE = {
    "slug": "consulting",
    "name": "Consulting",
    "must": [
        {"field": EMPLOYEES, "op": "gte", "value": 100},
        {"field": "custom.roi_months", "op": "lte", "value": "3 months"},
    ],
    "nice": [
        {"field": "contact.title", "op": "matches", "value": "(?i)cto|chief technology", "weight": 30},
        {"field": "organization.industry", "op": "in", "value": ["Software"], "weight": 20},
        {"field": "contact.country", "op": "in", "value": ["DE"], "weight": 10},
    ],
}


def test_a_full_fit() -> None:
    definition = parse_definition(PROFILE)
    values = {
        EMPLOYEES: 120,
        "contact.custom": {"roi_months": "2 months"},
        "contact.title": "CTO",
        "organization.industry": "software",
        "contact.country": "FR",
    }
    fit = grade_contact(definition, values)
    assert (fit.score, fit.grade, fit.qualified_out, fit.unknown) == (83, "A", False, [])
    assert fit.stored[:4] == ["met", "120", "met", "2 months"]
    assert fit.reasons[2].as_dict() == {
        "field": "contact.title",
        "criterion": "title matches (?i)cto|chief technology",
        "kind": "nice",
        "value": "CTO",
        "state": "met",
        "weight": 30,
        "note": None,
    }
    assert reasons_text(fit.reasons).startswith("employees ≥ 100: met; roi_months ≤ 90 days: met; ")


def test_unknown_is_not_a_failure() -> None:
    definition = parse_definition(PROFILE)
    values = {"organization.employees_min": 50, "organization.employees_max": 250, "contact.title": "CTO"}
    fit = grade_contact(definition, values)
    assert not fit.qualified_out
    assert fit.score == 50 and fit.grade == "C"  # 30 of 60: unknown earns nothing, fails nothing
    assert fit.unknown == [
        "organization.employees",
        "custom.roi_months",
        "organization.industry",
        "contact.country",
    ]
    assert fit.reasons[0].note == "range 50–250 straddles 100"
    assert fit.reasons[0].text() == "employees ≥ 100: unknown (range 50–250 straddles 100)"


def test_one_unmet_must_qualifies_out_but_every_reason_stays() -> None:
    definition = parse_definition(PROFILE)
    values = {EMPLOYEES: 80, "contact.title": "CTO", "organization.industry": "Software"}
    fit = grade_contact(definition, values)
    assert (fit.score, fit.grade, fit.qualified_out) == (0, "F", True)
    assert [r.state for r in fit.reasons] == ["unmet", "unknown", "met", "met", "unknown"]


def test_no_nice_to_haves_scores_100() -> None:
    definition = parse_definition({**PROFILE, "nice": []})
    fit = grade_contact(definition, {EMPLOYEES: 100, "contact.custom": {"roi_months": 1}})
    assert (fit.score, fit.grade) == (100, "A")


def test_scores_round_half_up_and_grades_follow_thresholds() -> None:
    assert score_of(1, 8) == 13  # 12.5
    assert score_of(1, 3) == 33 and score_of(2, 3) == 67
    assert score_of(0, 0) == 100
    grades = {"A": 80, "B": 65, "C": 50, "D": 35}
    assert [grade_of(s, grades, False) for s in (80, 79, 65, 50, 35, 34, 0)] == list("ABBCDEE")
    assert grade_of(100, grades, True) == "F"


def test_change_reasons_in_plain_words() -> None:
    definition = parse_definition(PROFILE)
    before = grade_contact(definition, {EMPLOYEES: 80, "contact.custom": {"roi_months": 1}})
    after = grade_contact(definition, {EMPLOYEES: 120, "contact.custom": {"roi_months": 1}})
    text = change_reason(
        "consulting",
        Graded(1, before.grade, definition, before.stored),
        Graded(1, after.grade, definition, after.stored),
    )
    assert text == "organization employees changed from 80 to 120: now grade E (was F)"
    new_version = change_reason(
        "consulting", Graded(1, "C", definition, before.stored), Graded(2, "A", definition, after.stored)
    )
    assert new_version == "ICP consulting changed to version 2: now grade A (was C)"
