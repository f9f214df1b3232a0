"""Training a model of who buys, measuring it honestly, and scoring rows with it.

How a model is made (docs/predict.md, "How models are chosen and measured"):

1. The rows are split into a development part and a validation part (the last quarter). Given the
   moment each outcome became known (``order``) the split follows time: the model learns from
   earlier outcomes and is measured on later ones, as it will be used. Otherwise the split is
   stratified and seeded.
2. Inside the development part only, two candidates are fitted on its earlier 80 %: a
   well-regularized logistic regression (its strength C chosen by cross-validation on those rows)
   and a gradient-boosted tree model (shallow trees, early stopping on an inner slice of those rows).
   Both are compared by AUC on the development part's last 20 %; the boosted one must win by a
   margin to be chosen. The chosen one is calibrated on that same 20 % (isotonic with enough data,
   sigmoid otherwise) and only then measured on the validation part: the reported figures.
3. The stored model is then refitted on every row with the chosen settings, its probabilities
   calibrated on cross-validated predictions, so the most recent outcomes count too.

The validation part never influences any choice; it only produces the metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from leadwell.errors import InvalidInput
from leadwell.predict import metrics as measure
from leadwell.predict.design import (
    Encoder,
    Matrix,
    Values,
    fit_encoder,
    linear_matrix,
    read_values,
    take,
    tree_matrix,
)
from leadwell.predict.features import Feature
from leadwell.predict.reasons import log_odds, most_influential, one_core, reasons
from leadwell.predict.table import Table

LOGISTIC = "logistic"
BOOSTED = "gradient_boosting"
MIN_POSITIVES = 30  # fewer wins than this teach noise: the caller keeps ranking by fit × engagement
MIN_NEGATIVES = 30
VALIDATION_SHARE = 0.25
SELECTION_SHARE = 0.2
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # ascending: the search warm-starts along it
C_FOLDS = 3
C_SEARCH_ROWS = 8_000  # the strength of regularization is chosen on a sample of at most this many rows
BOOSTED_MIN_OUTCOMES = 50  # of each outcome, in the rows the candidates learn from
BOOSTED_MARGIN = 0.005  # AUC the boosted model must gain over the logistic one to be preferred
ISOTONIC_MIN_ROWS = 1000
ISOTONIC_MIN_POSITIVES = 100
REFIT_FOLDS = 3
TIE_BREAK = 1e-6  # isotonic calibration is a step function: the raw score orders rows inside a step

Labels = npt.NDArray[np.int64]


class TooFewOutcomes(InvalidInput):
    """Too few positives (or negatives) to learn from; ``positives`` and ``negatives`` say how many."""

    def __init__(self, positives: int, negatives: int, field: str = "target", what: str = "") -> None:
        what = what or ("positive outcomes" if positives < MIN_POSITIVES else "negative outcomes")
        count, minimum = (
            (positives, MIN_POSITIVES) if positives < MIN_POSITIVES else (negatives, MIN_NEGATIVES)
        )
        super().__init__(f"{field}: {count} {what}; a model needs at least {minimum}", field=field)
        self.positives = positives
        self.negatives = negatives
        self.minimum = MIN_POSITIVES


@dataclass
class Choice:
    """The settings the stored model was fitted with."""

    algorithm: str
    c: float | None = None  # logistic: inverse strength of the L2 penalty
    iterations: int | None = None  # boosted: trees, as early stopping found
    calibration: str = "sigmoid"


@dataclass
class Trained:
    """A fitted, calibrated model with what it needs to read a table and explain its scores."""

    features: list[Feature]
    algorithm: str  # "logistic" | "gradient_boosting"
    estimator: Any  # fitted and calibrated, reading the matrix ``encoder`` makes
    metrics: dict[str, Any]
    encoder: Encoder
    choice: Choice
    explained: list[str] = field(default_factory=list)  # boosted: features reasons are computed for
    centers: list[float] = field(default_factory=list)  # logistic: training mean of each matrix column


def train(
    table: Table,
    labels: Sequence[int],
    features: list[Feature],
    *,
    order: Sequence[datetime] | None = None,
    seed: int = 0,
    candidates: Sequence[str] = (LOGISTIC, BOOSTED),
) -> Trained:
    """A model of P(positive) from ``table``'s ``features``; see the module docstring for how.

    ``candidates`` narrows the choice to one kind of model (tests and benchmarks compare them).
    Raises :class:`TooFewOutcomes` under 30 positives or negatives and :class:`InvalidInput` for
    labels that are not 0/1, a length mismatch, or no features."""
    y = _labels(table, labels, order)
    if not features:
        raise InvalidInput("features: no column to learn from", field="features")
    if not candidates or not set(candidates) <= {LOGISTIC, BOOSTED}:
        raise InvalidInput(f"candidates: {LOGISTIC} and/or {BOOSTED}", field="candidates")
    values = read_values(table, features)
    with one_core():
        report, choice = _measure(table, values, y, features, order, seed, candidates)
        encoder, estimator, final = _refit(table, values, y, features, choice, seed)
        report["calibration_method"] = final.calibration
        trained = Trained(list(features), choice.algorithm, estimator, report, encoder, final)
        if choice.algorithm == BOOSTED:
            trained.explained = most_influential(trained, values, seed)
        else:
            trained.centers = linear_matrix(encoder, values).mean(axis=0).tolist()
    return trained


def _measure(
    table: Table,
    values: Values,
    y: Labels,
    features: list[Feature],
    order: Sequence[datetime] | None,
    seed: int,
    candidates: Sequence[str],
) -> tuple[dict[str, Any], Choice]:
    """The figures of the development part's model on the validation part, and the choice made."""
    development, validation = _split(y, order, VALIDATION_SHARE, seed)
    dev_order = [order[at] for at in development] if order is not None else None
    (encoder, estimator), choice, compared = _develop(
        table.subset(development.tolist()),
        take(values, development),
        y[development],
        features,
        dev_order,
        seed,
        candidates,
    )
    held_raw = log_odds(estimator, _matrix(encoder, choice, take(values, validation)))
    report = measure.summarize(y[validation], calibrated_probabilities(estimator, choice, held_raw))
    report.update(_describe(y, development, validation, order, compared, choice))
    return report, choice


def predict(trained: Trained, table: Table) -> npt.NDArray[np.float64]:
    """P(positive) for every row of ``table``; :class:`InvalidInput` naming a missing feature column."""
    return predict_values(trained, read_values(table, trained.features))


def predict_values(trained: Trained, values: Values) -> npt.NDArray[np.float64]:
    """:func:`predict` for feature columns already read."""
    return calibrated_probabilities(trained.estimator, trained.choice, raw_scores(trained, values))


def explain(trained: Trained, table: Table, top: int = 3) -> list[list[str]]:
    """For every row, up to ``top`` reasons in plain words, strongest first ("employees 250 (+)",
    "industry = Retail (−)"); see :mod:`leadwell.predict.reasons`."""
    return reasons(trained, table, top)


def raw_scores(trained: Trained, values: Values) -> npt.NDArray[np.float64]:
    """The uncalibrated model's log-odds (what reasons decompose)."""
    return log_odds(trained.estimator, _matrix(trained.encoder, trained.choice, values))


def _labels(table: Table, labels: Sequence[int], order: Sequence[datetime] | None) -> Labels:
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(table.rows) or (order is not None and len(order) != len(y)):
        raise InvalidInput(f"labels: {len(y)} labels for {len(table.rows)} rows", field="labels")
    if not np.isin(y, (0, 1)).all():
        raise InvalidInput("labels: only 0 (negative) and 1 (positive)", field="labels")
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_NEGATIVES:
        raise TooFewOutcomes(positives, len(y) - positives)
    return y


def _split(
    y: Labels, order: Sequence[datetime] | None, share: float, seed: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(earlier, later) positions: by time when ``order`` is given, else stratified at random."""
    if order is not None:
        by_time = np.array(sorted(range(len(y)), key=lambda at: order[at]), dtype=np.intp)
        cut = len(y) - math.ceil(share * len(y))
        return np.sort(by_time[:cut]), np.sort(by_time[cut:])
    rng = np.random.default_rng(seed)
    later: list[npt.NDArray[np.intp]] = []
    for outcome in (0, 1):
        members = rng.permutation(np.flatnonzero(y == outcome))
        later.append(members[: math.ceil(share * len(members))])
    held = np.sort(np.concatenate(later))
    return np.setdiff1d(np.arange(len(y), dtype=np.intp), held), held


def _develop(
    table: Table,
    values: Values,
    y: Labels,
    features: list[Feature],
    order: Sequence[datetime] | None,
    seed: int,
    candidates: Sequence[str],
) -> tuple[tuple[Encoder, Any], Choice, dict[str, Any]]:
    """The candidates fitted on the development part's earlier rows, compared on its later rows, and
    the chosen one calibrated there. Returns ((encoder, calibrated model), choice, candidate figures)."""
    fit_at, hold_at = _split(y, order, SELECTION_SHARE, seed)
    _require_both(y[fit_at], "the rows the candidates learn from")
    _require_both(y[hold_at], "the rows that choose between the candidates")
    fit_values, hold_values = take(values, fit_at), take(values, hold_at)
    encoder = fit_encoder(fit_values, features, table.subset(fit_at.tolist()))
    fitted: dict[str, tuple[Any, Choice]] = {}
    figures: dict[str, Any] = {}
    if LOGISTIC in candidates:
        c, cv_auc = _choose_c(linear_matrix(encoder, fit_values), y[fit_at], seed)
        fitted[LOGISTIC] = (
            _logistic(c, seed).fit(linear_matrix(encoder, fit_values), y[fit_at]),
            Choice(LOGISTIC, c=c),
        )
        figures[LOGISTIC] = {"c": c, "cv_auc": cv_auc}
    if BOOSTED in candidates and _enough_for_trees(y[fit_at], LOGISTIC in candidates):
        boosted = _boosted(encoder, seed).fit(tree_matrix(encoder, fit_values), y[fit_at])
        fitted[BOOSTED] = (boosted, Choice(BOOSTED, iterations=int(boosted.n_iter_)))
        figures[BOOSTED] = {"iterations": int(boosted.n_iter_)}
    for name, (model, choice) in fitted.items():
        figures[name]["auc"] = measure.auc(y[hold_at], log_odds(model, _matrix(encoder, choice, hold_values)))
    chosen, choice = fitted[_preferred(figures)]
    choice.calibration = _calibration_method(y[hold_at])
    calibrated = CalibratedClassifierCV(FrozenEstimator(chosen), method=choice.calibration)
    calibrated.fit(_matrix(encoder, choice, hold_values), y[hold_at])
    return (encoder, calibrated), choice, figures


def _enough_for_trees(y: Labels, alternative: bool) -> bool:
    """Whether the boosted candidate has enough of each outcome to grow trees from: with fewer, its
    leaves of 20 rows and its early-stopping slice hold a handful of positives and it only adds noise."""
    fewest = min(int(y.sum()), len(y) - int(y.sum()))
    if fewest >= BOOSTED_MIN_OUTCOMES:
        return True
    if not alternative:
        raise InvalidInput(
            f"candidates: the boosted model needs {BOOSTED_MIN_OUTCOMES} rows of each outcome to learn from; "
            f"there are {fewest}",
            field="candidates",
        )
    return False


def _preferred(figures: dict[str, Any]) -> str:
    """The logistic model unless the boosted one is better by :data:`BOOSTED_MARGIN` (the simpler
    model explains itself more plainly and drifts less)."""
    if LOGISTIC not in figures:
        return BOOSTED
    if BOOSTED not in figures:
        return LOGISTIC
    boosted, logistic = figures[BOOSTED]["auc"] or 0.0, figures[LOGISTIC]["auc"] or 0.0
    return BOOSTED if boosted >= logistic + BOOSTED_MARGIN else LOGISTIC


def _require_both(y: Labels, where: str) -> None:
    positives = int(y.sum())
    if positives < 2 or len(y) - positives < 2:
        raise InvalidInput(
            f"target: {where} hold {positives} positive and {len(y) - positives} negative outcomes "
            "(outcomes bunched in time?); at least 2 of each are needed",
            field="target",
        )


def _choose_c(x: Matrix, y: Labels, seed: int) -> tuple[float, float | None]:
    """The C with the best mean AUC over stratified folds of the training rows (a sample of them when
    there are many: the optimum barely moves, the time does)."""
    if len(y) > C_SEARCH_ROWS:
        keep = _stratified_sample(y, C_SEARCH_ROWS, seed)
        x, y = x[keep], y[keep]
    folds = min(C_FOLDS, int(y.sum()), len(y) - int(y.sum()))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    totals = dict.fromkeys(C_GRID, 0.0)
    for fit_at, test_at in splitter.split(x, y):
        # Weakest to strongest fit, each starting from the last solution: the path converges quickly.
        model = LogisticRegression(max_iter=2000, warm_start=True, random_state=seed)
        for c in C_GRID:
            model.set_params(C=c).fit(x[fit_at], y[fit_at])
            totals[c] += measure.auc(y[test_at], log_odds(model, x[test_at])) or 0.0
    # Ties go to the stronger penalty (the smaller C): the simpler model.
    best = max(C_GRID, key=lambda c: (round(totals[c], 6), -c))
    return best, totals[best] / folds


def _stratified_sample(y: Labels, size: int, seed: int) -> npt.NDArray[np.intp]:
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(y == outcome), round(size * float(np.mean(y == outcome))), replace=False)
        for outcome in (0, 1)
    ]
    return np.sort(np.concatenate(picked))


def _logistic(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, random_state=seed)


def _boosted(encoder: Encoder, seed: int, iterations: int | None = None) -> HistGradientBoostingClassifier:
    """Shallow trees, a gentle learning rate and an L2 penalty; early stopping on an inner 15 % of the
    training rows decides how many trees, unless ``iterations`` fixes it (the refit)."""
    mask = encoder.tree_categorical_mask()
    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=iterations or 300,
        max_depth=4,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=mask if any(mask) else None,
        early_stopping=iterations is None,
        validation_fraction=0.15,
        n_iter_no_change=20,
        random_state=seed,
    )


def _calibration_method(y: Labels) -> str:
    enough = len(y) >= ISOTONIC_MIN_ROWS and int(y.sum()) >= ISOTONIC_MIN_POSITIVES
    return "isotonic" if enough else "sigmoid"


def _matrix(encoder: Encoder, choice: Choice, values: Values) -> Matrix:
    return tree_matrix(encoder, values) if choice.algorithm == BOOSTED else linear_matrix(encoder, values)


def calibrated_probabilities(
    calibrated: Any, choice: Choice, raw: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """P(positive) from the model's raw log-odds (:func:`raw_scores`) through its calibration, so that
    scoring with reasons runs the model over the rows once rather than twice."""
    if len(raw) == 0:
        return np.zeros(0)
    (fitted,) = calibrated.calibrated_classifiers_  # one: calibrated on held-out or out-of-fold scores
    probabilities = np.asarray(fitted.calibrators[0].predict(raw), dtype=np.float64)
    if choice.calibration == "isotonic":
        # Rows inside one isotonic step would tie; a millionth of the raw score keeps their order.
        probabilities = probabilities + TIE_BREAK * (1 / (1 + np.exp(-raw)) - 0.5)
    return np.clip(probabilities, 0.0, 1.0)


def _refit(
    table: Table, values: Values, y: Labels, features: list[Feature], choice: Choice, seed: int
) -> tuple[Encoder, Any, Choice]:
    """The chosen kind of model refitted on every row with the settings development found, and
    calibrated on cross-validated predictions of those rows."""
    encoder = fit_encoder(values, features, table)
    final = Choice(choice.algorithm, choice.c, choice.iterations, _calibration_method(y))
    model: Any = (
        _boosted(encoder, seed, choice.iterations)
        if choice.algorithm == BOOSTED
        else _logistic(choice.c or 1.0, seed)
    )
    folds = StratifiedKFold(n_splits=REFIT_FOLDS, shuffle=True, random_state=seed)
    calibrated = CalibratedClassifierCV(model, method=final.calibration, cv=folds, ensemble=False)
    calibrated.fit(_matrix(encoder, final, values), y)
    return encoder, calibrated, final


def _describe(
    y: Labels,
    development: npt.NDArray[np.intp],
    validation: npt.NDArray[np.intp],
    order: Sequence[datetime] | None,
    candidates: dict[str, Any],
    choice: Choice,
) -> dict[str, Any]:
    """How the figures were obtained, stored beside them."""
    return {
        "split": "time" if order is not None else "stratified",
        "training_rows": len(development),
        "training_positives": int(y[development].sum()),
        "validation_rows": len(validation),
        "validation_positives": int(y[validation].sum()),
        "all_rows": len(y),
        "all_positives": int(y.sum()),
        "algorithm": choice.algorithm,
        "candidates": candidates,
        "measured_calibration_method": choice.calibration,
        "validated_until": max(order).isoformat() if order is not None else None,
    }
