"""Generated leads with two planted rules among noise columns, for rule discovery: wins concentrate
where employees ≥ 100 and roi_months ≤ 3, and where industry = Health and source = referral; budget,
score and colour are noise, id an identifier."""

from __future__ import annotations

import csv
import io

import numpy as np

from leadwell.predict.features import CATEGORICAL, NUMERIC, Feature
from leadwell.predict.table import Table

COLUMNS = ["id", "employees", "roi_months", "industry", "source", "budget", "score", "colour", "won"]
FEATURES = [
    Feature("employees", NUMERIC),
    Feature("roi_months", NUMERIC),
    Feature("industry", CATEGORICAL),
    Feature("source", CATEGORICAL),
    Feature("budget", CATEGORICAL),
    Feature("score", NUMERIC),
    Feature("colour", CATEGORICAL),
]


def _generate(rows: int, seed: int) -> tuple[list[list[str | None]], list[int]]:
    rng = np.random.default_rng(seed)
    employees = np.round(np.exp(rng.uniform(np.log(5), np.log(2000), rows))).astype(int)
    roi = rng.integers(1, 13, rows)
    industry = rng.choice(["Health", "Retail", "Software", "Banking"], rows, p=[0.3, 0.3, 0.2, 0.2])
    source = rng.choice(["referral", "ads", "event", "cold"], rows, p=[0.35, 0.25, 0.2, 0.2])
    budget = rng.choice(["yes", "no", "unknown"], rows)
    score = rng.integers(0, 100, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    first = (employees >= 100) & (roi <= 3)
    second = (industry == "Health") & (source == "referral")
    chance = np.where(first, 0.75, np.where(second, 0.8, 0.04))
    won = (rng.random(rows) < chance).astype(int)
    table_rows: list[list[str | None]] = [
        [
            f"L{index:05d}", str(employees[index]), str(roi[index]), str(industry[index]), str(source[index]),
            str(budget[index]), str(score[index]), str(colour[index]), "Yes" if won[index] else "No",
        ]
        for index in range(rows)
    ]  # fmt: skip
    return table_rows, won.tolist()


def planted_table(rows: int, seed: int = 7) -> tuple[Table, list[int], list[Feature]]:
    """``rows`` leads as a table (the outcome column included), their 0/1 outcomes and the features."""
    table_rows, labels = _generate(rows, seed)
    return Table(list(COLUMNS), table_rows), labels, list(FEATURES)


def planted_csv(rows: int, seed: int = 7) -> bytes:
    """The same leads as a CSV file (``won`` is Yes or No)."""
    table_rows, _labels = _generate(rows, seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(table_rows)
    return out.getvalue().encode()
