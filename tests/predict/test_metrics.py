"""The figures a model is judged by, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from leadwell.predict.metrics import auc, calibration_table, summarize, top_share


def test_auc_counts_pairs_ranked_right() -> None:
    # Positives scored 0.9 and 0.4; negatives 0.8, 0.3, 0.1. Pairs (positive above negative):
    # 0.9 beats all three, 0.4 beats 0.3 and 0.1: 5 of 6.
    assert auc([1, 0, 1, 0, 0], [0.9, 0.8, 0.4, 0.3, 0.1]) == pytest.approx(5 / 6)


def test_auc_counts_ties_as_half() -> None:
    # One positive and one negative share 0.5: that pair counts 1/2; the other pair is right.
    assert auc([1, 0, 1, 0], [0.5, 0.5, 0.7, 0.2]) == pytest.approx((1 + 0.5 + 1 + 1) / 4)


def test_auc_extremes_and_one_class() -> None:
    assert auc([1, 1, 0], [3, 2, 1]) == 1.0
    assert auc([1, 1, 0], [1, 2, 3]) == 0.0
    assert auc([0, 0], [1, 2]) is None


def test_top_share_takes_the_rounded_up_share_of_rows() -> None:
    labels = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]  # 11 rows, 3 positives
    scores = [0.95, 0.9, 0.1, 0.85, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05, 0.7]
    top = top_share(labels, scores, 0.2)  # ceil(2.2) = 3 rows: 0.95 (1), 0.9 (0), 0.85 (1)
    assert top["rows"] == 3 and top["hits"] == 2
    assert top["hit_rate"] == pytest.approx(2 / 3)
    assert top["capture"] == pytest.approx(2 / 3)
    assert top["lift"] == pytest.approx((2 / 3) / (3 / 11))
    ten = top_share(labels, scores, 0.1)  # ceil(1.1) = 2 rows: 0.95 (1), 0.9 (0)
    assert (ten["rows"], ten["hits"]) == (2, 1)


def test_top_share_breaks_ties_by_position() -> None:
    assert top_share([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5], 0.5)["hits"] == 1


def test_calibration_table_groups_by_predicted_probability() -> None:
    labels = [0, 0, 1, 0, 1, 1, 0, 1, 1, 1]
    probabilities = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    table = calibration_table(labels, probabilities, bins=5)
    assert [group["rows"] for group in table] == [2, 2, 2, 2, 2]
    assert [group["positives"] for group in table] == [0, 1, 2, 1, 2]
    assert table[0]["predicted"] == pytest.approx(0.075)
    assert table[4]["observed"] == 1.0
    assert (table[2]["low"], table[2]["high"]) == (0.4, 0.5)


def test_calibration_table_sums_to_the_whole() -> None:
    labels = [index % 3 == 0 for index in range(103)]
    probabilities = [((index * 37) % 101) / 100 for index in range(103)]
    table = calibration_table([int(label) for label in labels], probabilities)
    assert len(table) == 10
    assert sum(group["rows"] for group in table) == 103
    assert sum(group["positives"] for group in table) == sum(labels)
    weighted = sum(group["predicted"] * group["rows"] for group in table) / 103
    assert weighted == pytest.approx(sum(probabilities) / 103)
    assert [group["low"] for group in table] == sorted(group["low"] for group in table)


def test_summary_holds_every_figure_as_plain_values() -> None:
    summary = summarize([1, 0, 0, 1, 0], [0.9, 0.1, 0.2, 0.6, 0.7])
    assert summary["rows"] == 5 and summary["positives"] == 2
    assert summary["base_rate"] == pytest.approx(0.4)
    assert summary["auc"] == pytest.approx(5 / 6)
    assert summary["top10"]["rows"] == 1 and summary["top10"]["hits"] == 1
    assert summary["top20"]["rows"] == 1
    assert len(summary["calibration"]) == 5
    assert all(type(value) in (int, float) for value in summary["top20"].values())
