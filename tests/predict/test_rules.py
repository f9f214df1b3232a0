"""Rule discovery: metrics against hand-computed values, readable thresholds, and planted rules
recovered from generated data with noise columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leadwell.errors import InvalidInput
from leadwell.predict.conditions import Condition, candidate_conditions, count, readable
from leadwell.predict.features import CATEGORICAL, NUMERIC, Feature
from leadwell.predict.rules import (
    MiningOptions,
    Rule,
    check_labels,
    corrected_z,
    mine_rules,
    percent,
    usefulness,
    wilson_interval,
)
from leadwell.predict.table import Table
from tests.predict.planted import planted_table

# Ten leads: employees, industry (None: unknown), won.
TINY = [
    ("250", "Retail", 1),
    ("120", "Retail", 1),
    ("100", "Software", 1),
    ("400", None, 0),
    ("80", "Retail", 1),
    ("50", "Software", 0),
    ("20", "Software", 0),
    ("10", None, 0),
    ("30", "Retail", 0),
    ("60", "Software", 0),
]


def tiny() -> tuple[Table, list[int], list[Feature]]:
    table = Table(["employees", "industry"], [[employees, industry] for employees, industry, _ in TINY])
    return table, [won for *_, won in TINY], [Feature("employees", NUMERIC), Feature("industry", CATEGORICAL)]


def test_wilson_interval_matches_published_values() -> None:
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_rule_metrics_by_hand() -> None:
    """employees ≥ 100 matches 4 of 10 leads, 3 of the 4 wins."""
    rule = Rule(
        (Condition("employees", "gte", 100.0),), rows=4, positives=3, total_rows=10, total_positives=4
    )
    assert rule.support == 0.4
    assert rule.coverage == 0.75
    assert rule.precision == 0.75
    assert rule.base_rate == 0.4
    assert rule.lift == pytest.approx(1.875)
    low, high = rule.interval
    # Wilson for 3 of 4: centre (0.75 + 1.92/4) / (1 + 3.84/4), computed here from the formula.
    z = 1.959963984540054
    centre = (0.75 + z * z / 8) / (1 + z * z / 4)
    half = z * math.sqrt(0.75 * 0.25 / 4 + z * z / 64) / (1 + z * z / 4)
    assert (low, high) == pytest.approx((centre - half, centre + half))
    assert rule.usefulness == pytest.approx(0.4 * (centre - half - 0.4))
    assert rule.summary() == (
        f"employees ≥ 100: 40 % of leads, 75 % of wins, precision 0.75 ({low:.2f}–{high:.2f}), lift 1.9"
    )


def test_usefulness_is_negative_for_a_rule_no_better_than_chance() -> None:
    assert usefulness(40, 100, 400, 1000) < 0  # precision 0.4 = base rate: its lower bound is below
    assert usefulness(80, 100, 400, 1000) == pytest.approx(0.1 * (wilson_interval(80, 100)[0] - 0.4))


def test_candidate_conditions_on_the_tiny_table() -> None:
    table, _labels, features = tiny()
    found = candidate_conditions(table, features, quantiles=(0.5,), most_values=5)
    texts = [candidate.condition.text for candidate in found.items]
    # The median 70 rounds to 70 (moving no row), both ways; categories by frequency; then is set.
    assert texts == [
        "employees ≥ 70",
        "employees ≤ 70",
        "industry = Retail",
        "industry = Software",
        "industry is set",
    ]
    assert list(count(found.matrix)) == [5, 5, 4, 4, 8]


def test_categories_compare_without_case_and_show_the_usual_spelling() -> None:
    table = Table(["industry"], [["Retail"], ["retail "], ["Retail"], ["Banking"]])
    found = candidate_conditions(table, [Feature("industry", CATEGORICAL)], (0.5,), 5)
    assert [c.condition.text for c in found.items] == ["industry = Retail", "industry = Banking"]
    assert list(count(found.matrix)) == [3, 1]


def test_readable_thresholds_prefer_round_numbers_that_move_few_rows() -> None:
    ordered = np.arange(1.0, 1001.0)
    assert readable(97.4, ordered, tolerance=5) == 100.0
    assert readable(97.4, ordered, tolerance=1) == 97.0
    assert readable(0.347, np.linspace(0, 1, 1001), tolerance=10) == 0.35
    assert readable(243.0, ordered, tolerance=10) == 250.0


def test_labels_need_rows_and_both_outcomes() -> None:
    assert check_labels([1, 0, 0]) == (3, 1)
    with pytest.raises(InvalidInput, match="no rows"):
        check_labels([])
    with pytest.raises(InvalidInput, match="no wins"):
        check_labels([0, 0])
    with pytest.raises(InvalidInput, match="no other outcomes"):
        check_labels([1, 1])


def test_the_bonferroni_bound_grows_with_the_rules_tried() -> None:
    assert corrected_z(1) == pytest.approx(1.95996, abs=1e-4)
    assert corrected_z(1000) > corrected_z(10) > corrected_z(1)


def test_planted_rules_are_recovered_from_noise() -> None:
    table, labels, features = planted_table(3000)
    mined = mine_rules(table, labels, features)
    texts = [rule.text for rule in mined.rules]
    employees, roi = mined.rules[0].conditions  # thresholds as near the planted ones as the sample allows
    assert (employees.column, employees.op, roi.column, roi.op) == ("employees", "gte", "roi_months", "lte")
    assert isinstance(employees.value, float) and 70 <= employees.value <= 130
    assert roi.value == 3
    assert "industry = Health and source = referral" in texts[:3]
    for rule in mined.rules:
        assert not {"budget", "score", "colour"} & {c.column for c in rule.conditions}, rule.text
        assert rule.interval[0] > mined.base_rate
        assert rule.lift > 1
    first = mined.rules[0]
    assert first.precision > 0.5 and first.coverage > 0.4  # the other planted rule has the rest
    assert [rule.usefulness for rule in mined.rules] == sorted(
        (rule.usefulness for rule in mined.rules), reverse=True
    )


def test_mining_is_deterministic_and_keeps_one_rule_per_finding() -> None:
    table, labels, features = planted_table(2000, seed=3)
    first = mine_rules(table, labels, features)
    again = mine_rules(table, labels, features)
    assert [rule.summary() for rule in first.rules] == [rule.summary() for rule in again.rules]
    shapes = [frozenset((c.column, c.op) for c in rule.conditions) for rule in first.rules]
    assert len(shapes) == len(set(shapes))  # "employees ≥ 60 and …" never follows "employees ≥ 100 and …"


def test_options_bound_the_rules() -> None:
    table, labels, features = planted_table(2000, seed=5)
    mined = mine_rules(table, labels, features, MiningOptions(max_conditions=1, top=2))
    assert len(mined.rules) == 2
    assert all(len(rule.conditions) == 1 for rule in mined.rules)
    strict = mine_rules(table, labels, features, MiningOptions(min_support=0.2))
    assert all(rule.support >= 0.2 for rule in strict.rules)


def test_a_range_on_one_number_is_one_rule() -> None:
    """Wins only in the middle of a column: found as "≥ low and ≤ high" on it."""
    rng = np.random.default_rng(11)
    values = rng.uniform(0, 100, 3000).round(1)
    labels = [int(30 <= value <= 60 and rng.random() < 0.8) for value in values]
    table = Table(["age"], [[str(value)] for value in values])
    mined = mine_rules(table, labels, [Feature("age", NUMERIC)])
    best = mined.rules[0]
    assert [(c.column, c.op) for c in best.conditions] == [("age", "gte"), ("age", "lte")]
    low, high = (c.value for c in best.conditions)
    assert isinstance(low, float) and isinstance(high, float)
    assert 25 <= low <= 35 and 55 <= high <= 65


def test_nothing_to_say_gives_no_rules() -> None:
    rng = np.random.default_rng(2)
    table = Table(["noise"], [[str(value)] for value in rng.normal(size=500).round(3)])
    labels = [int(value) for value in rng.random(500) < 0.2]
    assert mine_rules(table, labels, [Feature("noise", NUMERIC)]).rules == []


def test_percent_keeps_small_shares_readable() -> None:
    assert percent(0.31) == "31 %"
    assert percent(0.004) == "0.4 %"
    assert percent(0.0) == "0 %"
