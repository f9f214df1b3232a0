"""Why a row scored as it did: each feature's contribution to the model's log-odds, in plain words.

Both kinds of model are explained on the same scale, the raw (uncalibrated) log-odds, whose order
calibration keeps:

- **logistic**: a feature contributes its coefficients times the row's deviation from the training
  average, summed over the feature's columns (a number and its blank flag; a category's one-hot
  levels). The contributions add up exactly to the row's log-odds minus the average row's.
- **boosted**: a feature contributes the change in log-odds when the row's value is replaced by a
  typical one (the training median, or the most frequent level), every other value kept. Only the
  most influential features (:data:`EXPLAINED_FEATURES`, measured that way on a sample of training
  rows) are computed, which keeps 100,000 rows to a handful of passes over the model.

A reason reads "employees 250 (+)" or "industry = Retail (−)": the value as written in the row, and
whether it raises (+) or lowers (−) the chance. Values that move nothing are not reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from leadwell.predict.design import Matrix, Values, linear_matrix, read_values, take, tree_matrix
from leadwell.predict.features import NUMERIC
from leadwell.predict.table import Table

if TYPE_CHECKING:
    from leadwell.predict.engine import Trained

EXPLAINED_FEATURES = 8
INFLUENCE_SAMPLE = 2000
NEGLIGIBLE = 1e-6  # log-odds below this move no probability a person could see
MAX_VALUE_TEXT = 40
PLUS, MINUS = "(+)", "(\u2212)"


def log_odds(model: Any, x: Matrix) -> npt.NDArray[np.float64]:
    """The raw log-odds of a fitted model, or of the model inside a calibrated one."""
    if x.shape[0] == 0:
        return np.zeros(0)  # nothing to score (scikit-learn refuses an empty matrix)
    with one_core():
        return np.asarray(log_odds_model(model).decision_function(x), dtype=np.float64)


def one_core() -> Any:
    """Numerical libraries limited to one thread while the block runs. Their thread teams wait for
    each other at every step: on a busy machine (a web server, a worker, other jobs) one descheduled
    thread stalls the rest, and a 0.5 s fit was measured taking 8 s; one thread costs a quarter of
    the best case and never more."""
    return threadpool_limits(limits=1)


def log_odds_model(model: Any) -> Any:
    """The fitted model under a calibration wrapper (or the model itself)."""
    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    return model.estimator if isinstance(model, FrozenEstimator) else model


def contributions(trained: Trained, values: Values, raw: Matrix | None = None) -> Matrix:
    """Rows × features (in ``trained.encoder.features`` order): each feature's share of the log-odds.
    ``raw``, the rows' log-odds when already computed, saves the boosted model a pass."""
    if trained.algorithm != "logistic":
        return _substitution(trained, values, trained.explained, raw)
    x = linear_matrix(trained.encoder, values)
    coefficients = np.asarray(log_odds_model(trained.estimator).coef_[0], dtype=np.float64)
    per_column = (x - np.asarray(trained.centers)) * coefficients
    groups = np.asarray(trained.encoder.linear_groups())
    membership = np.zeros((len(groups), len(trained.encoder.features)))
    membership[np.arange(len(groups)), groups] = 1.0
    summed: Matrix = per_column @ membership
    return summed


def _substitution(trained: Trained, values: Values, names: list[str], raw: Matrix | None = None) -> Matrix:
    """Log-odds minus log-odds with one feature set to its typical value, for each feature in ``names``."""
    encoder = trained.encoder
    x = tree_matrix(encoder, values)
    base = log_odds(trained.estimator, x) if raw is None else raw
    result = np.zeros((values.rows, len(encoder.features)))
    typical = _typical_values(trained)
    for at, feature in enumerate(encoder.features):
        if feature.name not in names:
            continue
        original = x[:, at].copy()
        x[:, at] = typical[at]
        result[:, at] = base - log_odds(trained.estimator, x)
        x[:, at] = original
    return result


def _typical_values(trained: Trained) -> list[float]:
    """Per tree-matrix column: the training median, or the most frequent level's code (0)."""
    return [plan.median for plan in trained.encoder.numeric] + [0.0] * len(trained.encoder.categorical)


def most_influential(trained: Trained, values: Values, seed: int = 0) -> list[str]:
    """The features whose typical-value substitution moves the log-odds most on a sample of rows."""
    rows = values.rows
    if rows > INFLUENCE_SAMPLE:
        picked = np.sort(np.random.default_rng(seed).choice(rows, INFLUENCE_SAMPLE, replace=False))
        values = take(values, picked.astype(np.intp))
    names = [feature.name for feature in trained.encoder.features]
    influence = np.abs(_substitution(trained, values, names)).mean(axis=0)
    ranked = np.argsort(-influence, kind="stable")
    return [names[at] for at in ranked[:EXPLAINED_FEATURES] if influence[at] > NEGLIGIBLE]


def reasons(trained: Trained, table: Table, top: int = 3) -> list[list[str]]:
    """Up to ``top`` reasons per row of ``table``, strongest first."""
    values = read_values(table, trained.features)
    return words(trained, table, contributions(trained, values), top)


def words(trained: Trained, table: Table, shares: Matrix, top: int) -> list[list[str]]:
    """Contributions turned into reasons, reading each value as written in ``table``."""
    features = trained.encoder.features
    positions = [table.columns.index(feature.name) for feature in features]
    numeric = [feature.kind == NUMERIC for feature in features]
    top = min(top, len(features))
    if top <= 0:
        return [[] for _ in table.rows]
    strongest = np.argsort(-np.abs(shares), axis=1, kind="stable")[:, :top]
    result: list[list[str]] = []
    phrased: dict[tuple[int, str | None, bool], str] = {}  # values repeat: each reason is worded once
    for row, ranked, share in zip(table.rows, strongest.tolist(), shares.tolist(), strict=True):
        said: list[str] = []
        for at in ranked:
            if abs(share[at]) < NEGLIGIBLE:
                break
            key = (at, row[positions[at]], share[at] > 0)
            reason = phrased.get(key)
            if reason is None:
                reason = phrased[key] = _reason(features[at].name, key[1], numeric[at], share[at])
            said.append(reason)
        result.append(said)
    return result


def _reason(name: str, cell: str | None, numeric: bool, share: float) -> str:
    text = " ".join((cell or "").split())
    if len(text) > MAX_VALUE_TEXT:
        text = text[: MAX_VALUE_TEXT - 1] + "…"
    sign = PLUS if share > 0 else MINUS
    if not text:
        return f"{name} blank {sign}"
    return f"{name} {text} {sign}" if numeric else f"{name} = {text} {sign}"
