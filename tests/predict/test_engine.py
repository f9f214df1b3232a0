"""The engine: training and honest measurement, scoring, reasons, and stored models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadwell.errors import InvalidInput
from leadwell.predict import artifact
from leadwell.predict.design import read_values
from leadwell.predict.engine import (
    BOOSTED,
    LOGISTIC,
    TooFewOutcomes,
    Trained,
    explain,
    predict,
    raw_scores,
    train,
)
from leadwell.predict.features import Feature, infer_features
from leadwell.predict.reasons import contributions, log_odds_model
from leadwell.predict.table import Table
from tests.predict.generated import leads

EXCLUDE = ("lead_id", "name", "won")


@pytest.fixture(scope="module")
def data() -> tuple[Table, list[int], list[Feature]]:
    table, labels = leads(1600)
    return table, labels, infer_features(table, EXCLUDE)


@pytest.fixture(scope="module", params=[LOGISTIC, BOOSTED])
def trained(request: pytest.FixtureRequest, data: tuple[Table, list[int], list[Feature]]) -> Trained:
    table, labels, features = data
    return train(table, labels, features, seed=1, candidates=(request.param,))


def test_features_of_the_generated_leads(data: tuple[Table, list[int], list[Feature]]) -> None:
    assert [(feature.name, feature.kind) for feature in data[2]] == [
        ("employees", "numeric"),
        ("roi_months", "numeric"),
        ("industry", "categorical"),
        ("colour", "categorical"),
    ]


def test_metrics_describe_the_held_out_quarter(
    trained: Trained, data: tuple[Table, list[int], list[Feature]]
) -> None:
    labels = data[1]
    metrics = trained.metrics
    positives = sum(labels)
    # Stratified: a quarter of each class, rounded up, is held out.
    expected = -(-positives // 4) + -(-(len(labels) - positives) // 4)
    assert metrics["split"] == "stratified"
    assert metrics["validation_rows"] == metrics["rows"] == expected
    assert metrics["training_rows"] + metrics["validation_rows"] == len(labels) == metrics["all_rows"]
    assert metrics["validation_positives"] == metrics["positives"] == -(-positives // 4)
    assert metrics["auc"] > 0.75
    assert metrics["top10"]["lift"] > 1.8 and metrics["top20"]["lift"] > 1.5
    assert sum(group["rows"] for group in metrics["calibration"]) == metrics["validation_rows"]
    assert metrics["algorithm"] == trained.algorithm
    json.dumps(metrics, allow_nan=False)  # stores as JSON (PostgreSQL refuses NaN)


def test_probabilities_are_calibrated_probabilities(
    trained: Trained, data: tuple[Table, list[int], list[Feature]]
) -> None:
    table, labels, _features = data
    probabilities = predict(trained, table)
    assert probabilities.shape == (len(labels),)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    # Calibrated: on average the predicted chance is close to the share of sales.
    assert abs(probabilities.mean() - np.mean(labels)) < 0.03


def test_the_choice_follows_the_candidates(trained: Trained) -> None:
    assert set(trained.metrics["candidates"]) == {trained.algorithm}
    if trained.algorithm == LOGISTIC:
        assert trained.choice.c is not None and trained.choice.iterations is None
    else:
        assert trained.choice.iterations and trained.explained


def test_same_seed_same_model(data: tuple[Table, list[int], list[Feature]]) -> None:
    table, labels, features = data
    first = train(table, labels, features, seed=5)
    second = train(table, labels, features, seed=5)
    assert first.algorithm == second.algorithm
    assert first.metrics == second.metrics
    assert np.array_equal(predict(first, table), predict(second, table))


def test_reasons_point_the_way_the_data_does(
    trained: Trained, data: tuple[Table, list[int], list[Feature]]
) -> None:
    table, _labels, _features = data
    said = explain(trained, table, top=3)
    assert len(said) == len(table.rows) and all(len(reasons) <= 3 for reasons in said)
    counted = {"retail": 0, "software": 0, "big": 0, "small": 0}
    for row, reasons in zip(table.rows, said, strict=True):
        for reason in reasons:
            if reason.startswith("industry = Retail"):
                assert reason == "industry = Retail (\u2212)"
                counted["retail"] += 1
            if reason.startswith("industry = Software"):
                assert reason == "industry = Software (+)"
                counted["software"] += 1
            if reason.startswith("employees ") and row[2] is not None:
                size = int(row[2].replace(",", ""))
                if size > 1000:
                    assert reason == f"employees {row[2]} (+)"
                    counted["big"] += 1
                elif size < 30:
                    assert reason == f"employees {row[2]} (\u2212)"
                    counted["small"] += 1
    # Strong effects are named for most of the rows they concern.
    retail_rows = sum(row[4] == "Retail" for row in table.rows)
    assert counted["retail"] > 0.8 * retail_rows
    assert counted["big"] > 100 and counted["small"] > 100


def test_logistic_contributions_add_up_to_the_log_odds(data: tuple[Table, list[int], list[Feature]]) -> None:
    table, labels, features = data
    model = train(table, labels, features, candidates=(LOGISTIC,))
    values = read_values(table, model.features)
    shares = contributions(model, values)
    fitted = log_odds_model(model.estimator)
    average_row = float(fitted.intercept_[0] + np.dot(fitted.coef_[0], model.centers))
    assert np.allclose(shares.sum(axis=1), raw_scores(model, values) - average_row)


def test_boosted_reasons_leave_out_a_value_that_changes_nothing(
    data: tuple[Table, list[int], list[Feature]],
) -> None:
    table, labels, features = data
    model = train(table, labels, features, candidates=(BOOSTED,))
    values = read_values(table, model.features)
    shares = contributions(model, values)
    at = [feature.name for feature in model.encoder.features].index("roi_months")
    median = model.encoder.numeric[[plan.name for plan in model.encoder.numeric].index("roi_months")].median
    typical = values.numeric["roi_months"] == median
    assert typical.any() and np.all(shares[typical, at] == 0.0)


def test_a_time_ordered_split_is_not_fooled_by_a_late_leak() -> None:
    """A column filled in only once the outcome was known (here: on the latest quarter's rows) would
    look like a perfect predictor to a random split; trained on earlier outcomes, the model cannot
    learn it, and the validation figure stays what the honest columns earn."""
    table, labels = leads(2400, seed=11)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    order = [start + timedelta(hours=index) for index in range(len(labels))]
    late = len(labels) * 3 // 4
    leaky = Table(
        [*table.columns, "outcome_note"],
        [
            [*row, ("signed" if won else "declined") if index >= late else None]
            for index, (row, won) in enumerate(zip(table.rows, labels, strict=True))
        ],
    )
    honest_features = infer_features(table, EXCLUDE)
    leaky_features = infer_features(leaky, EXCLUDE)
    assert "outcome_note" in [feature.name for feature in leaky_features]
    honest = train(table, labels, honest_features, order=order, candidates=(LOGISTIC,))
    timed = train(leaky, labels, leaky_features, order=order, candidates=(LOGISTIC,))
    shuffled = train(leaky, labels, leaky_features, candidates=(LOGISTIC,))
    assert timed.metrics["split"] == "time"
    assert timed.metrics["validated_until"] == order[-1].isoformat()
    assert abs(timed.metrics["auc"] - honest.metrics["auc"]) < 0.02
    assert shuffled.metrics["auc"] > timed.metrics["auc"] + 0.05


def test_too_few_positives_are_refused_with_the_count() -> None:
    table, labels = leads(600, seed=2)
    positions = [at for at, won in enumerate(labels) if not won] + [
        at for at, won in enumerate(labels) if won
    ][:29]
    subset = table.subset(positions)
    with pytest.raises(TooFewOutcomes) as caught:
        train(subset, [labels[at] for at in positions], infer_features(subset, EXCLUDE))
    assert caught.value.positives == 29 and caught.value.minimum == 30
    assert caught.value.detail == "target: 29 positive outcomes; a model needs at least 30"


def test_too_few_negatives_are_refused_too() -> None:
    table, labels = leads(200, seed=2)
    flipped = [1] * 180 + [0] * 20
    with pytest.raises(TooFewOutcomes) as caught:
        train(table, flipped, infer_features(table, EXCLUDE))
    assert caught.value.negatives == 20
    assert "20 negative outcomes" in caught.value.detail
    assert len(labels) == 200


@pytest.mark.parametrize(
    ("labels", "message"),
    [([1, 0, 2] * 100, "labels: only 0"), ([1, 0] * 10, "labels: 20 labels for 300 rows")],
)
def test_bad_labels_are_refused(labels: list[int], message: str) -> None:
    table, _labels = leads(300)
    with pytest.raises(InvalidInput) as caught:
        train(table, labels, infer_features(table, EXCLUDE))
    assert caught.value.detail.startswith(message)


def test_scoring_a_table_without_a_feature_column_names_it(trained: Trained) -> None:
    table = Table(["employees", "colour"], [["10", "red"]])
    with pytest.raises(InvalidInput) as caught:
        predict(trained, table)
    assert caught.value.field == "roi_months"
    assert caught.value.detail.startswith("roi_months: the model reads this column but the file has none")


def test_unseen_categories_and_odd_numbers_still_score(trained: Trained) -> None:
    table = Table(
        ["employees", "roi_months", "industry", "colour"],
        [["n/a", "3", "Mining", "purple"], ["12 000", "", None, "red"]],
    )
    probabilities = predict(trained, table)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert "employees 12 000 (+)" in explain(trained, table)[1]


def test_artifact_round_trip(trained: Trained, data: tuple[Table, list[int], list[Feature]]) -> None:
    table = data[0]
    loaded = artifact.load(artifact.dump(trained))
    assert loaded.metrics == trained.metrics and loaded.features == trained.features
    assert np.array_equal(predict(loaded, table), predict(trained, table))
    assert explain(loaded, table) == explain(trained, table)


def test_damaged_or_foreign_artifacts_are_refused(trained: Trained) -> None:
    data = artifact.dump(trained)
    size = int.from_bytes(data[4:8], "big")
    header = json.loads(data[8 : 8 + size])
    older = json.dumps({**header, "sklearn": "0.24.2"}).encode()
    cases = {
        b"not a model": "not a leadwell model",
        data[:-10] + b"0123456789": "content is damaged",
        data[:8] + b"[" + data[9:]: "header is damaged",
        data[:4]
        + len(older).to_bytes(4, "big")
        + older
        + data[8 + size :]: "fitted with scikit-learn 0.24.2",
    }
    for damaged, message in cases.items():
        with pytest.raises(artifact.StaleArtifact) as caught:
            artifact.load(damaged)
        assert message in caught.value.detail


def test_the_fewest_outcomes_allowed_train_a_logistic_model_over_time() -> None:
    table, labels = leads(900, seed=8)
    wins = [at for at, won in enumerate(labels) if won][:30]
    positions = sorted(wins + [at for at, won in enumerate(labels) if not won][:300])
    subset = table.subset(positions)
    outcomes = [labels[at] for at in positions]
    days = np.random.default_rng(0).permutation(len(positions)).tolist()  # outcomes spread over time
    order = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day) for day in days]
    model = train(subset, outcomes, infer_features(subset, EXCLUDE), order=order)
    # 30 wins leave about 18 to learn from: too few for trees, so only the logistic model competes.
    assert model.algorithm == LOGISTIC and set(model.metrics["candidates"]) == {LOGISTIC}
    assert model.metrics["all_positives"] == 30 and model.metrics["split"] == "time"
    assert model.metrics["calibration_method"] == "sigmoid"
    with pytest.raises(InvalidInput) as caught:
        train(subset, outcomes, infer_features(subset, EXCLUDE), order=order, candidates=(BOOSTED,))
    assert caught.value.detail.startswith("candidates: the boosted model needs 50 rows of each outcome")


def test_an_empty_table_scores_to_nothing(trained: Trained) -> None:
    empty = Table(["employees", "roi_months", "industry", "colour"], [])
    assert predict(trained, empty).shape == (0,)
    assert explain(trained, empty) == []


def test_a_numeric_column_blank_in_every_fitted_row_still_trains_both_models() -> None:
    """A field first recorded recently (here: on the latest quarter only) is blank in every row the
    time-ordered split trains on; the boosted model cannot bin a column with no value at all, so
    it is read as a constant there, and scoring rows that do have the value still works."""
    table, labels = leads(1200, seed=5)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    order = [start + timedelta(hours=index) for index in range(len(labels))]
    late = len(labels) * 3 // 4
    recorded = Table(
        [*table.columns, "seats"],
        [[*row, str(index) if index >= late else None] for index, row in enumerate(table.rows)],
    )
    features = infer_features(recorded, EXCLUDE)
    assert ("seats", "numeric") in [(feature.name, feature.kind) for feature in features]
    for candidate in (BOOSTED, LOGISTIC):
        trained = train(recorded, labels, features, order=order, candidates=(candidate,))
        scored = predict(trained, recorded)
        assert scored.shape == (len(labels),)
        assert np.all((scored >= 0) & (scored <= 1)), candidate
        assert trained.metrics["auc"] > 0.6, candidate
        assert all(reasons for reasons in explain(trained, recorded.subset(list(range(late, late + 20)))))
