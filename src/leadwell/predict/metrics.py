"""How well a ranking finds the positives: AUC, hits in the top 10 % and 20 %, lift, calibration.

Written out rather than borrowed so that every figure a user reads has one plain definition:

- **AUC**: the chance that a random positive is ranked above a random negative (ties count half).
- **top 10 % / 20 %**: the first ``ceil(share × rows)`` rows by score, ties broken by position; *hits*
  are the positives among them, *hit rate* hits ÷ rows taken, *capture* hits ÷ all positives, *lift*
  hit rate ÷ base rate (1 is no better than chance).
- **calibration table**: rows sorted by predicted probability and cut into ten groups of (nearly)
  equal size; for each, the mean predicted probability beside the observed share of positives.

Every value is a plain ``float``/``int``/``None`` so the dictionary stores as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

Labels = Sequence[int] | npt.NDArray[np.int64]
Scores = Sequence[float] | npt.NDArray[np.float64]
TOP_SHARES = (0.1, 0.2)
CALIBRATION_BINS = 10


def auc(labels: Labels, scores: Scores) -> float | None:
    """The area under the ROC curve (Mann–Whitney with mid-ranks for ties); ``None`` when the labels
    hold only one class."""
    y = np.asarray(labels, dtype=np.int64)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def top_share(
    labels: Labels,
    scores: Scores,
    share: float,
) -> dict[str, Any]:
    """Hits among the highest-scored ``share`` of rows: rows taken, hits, hit rate, capture, lift."""
    y = np.asarray(labels, dtype=np.int64)
    rows = len(y)
    taken = min(rows, max(1, math.ceil(share * rows - 1e-9))) if rows else 0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = int(y[order[:taken]].sum())
    positives = int(y.sum())
    base = positives / rows if rows else 0.0
    rate = hits / taken if taken else 0.0
    return {
        "rows": taken,
        "hits": hits,
        "hit_rate": rate,
        "capture": hits / positives if positives else None,
        "lift": rate / base if base else None,
    }


def calibration_table(
    labels: Labels,
    probabilities: Scores,
    bins: int = CALIBRATION_BINS,
) -> list[dict[str, Any]]:
    """Predicted versus observed in ``bins`` equal-count groups from the lowest predictions up."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    table: list[dict[str, Any]] = []
    for group in np.array_split(order, min(bins, len(order))):
        if len(group) == 0:
            continue
        table.append(
            {
                "rows": len(group),
                "positives": int(y[group].sum()),
                "predicted": float(p[group].mean()),
                "observed": float(y[group].mean()),
                "low": float(p[group].min()),
                "high": float(p[group].max()),
            }
        )
    return table


def summarize(labels: Labels, probabilities: Scores) -> dict[str, Any]:
    """Every measure above for one set of predictions, plus the counts and the base rate."""
    y = np.asarray(labels, dtype=np.int64)
    rows = len(y)
    positives = int(y.sum())
    summary: dict[str, Any] = {
        "rows": rows,
        "positives": positives,
        "base_rate": positives / rows if rows else None,
        "auc": auc(y, probabilities),
    }
    for share in TOP_SHARES:
        summary[f"top{round(share * 100)}"] = top_share(y, probabilities, share)
    summary["calibration"] = calibration_table(y, probabilities)
    return summary
