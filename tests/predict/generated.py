"""Generated leads whose outcome depends on known columns, for the engine and CSV interface tests:
more employees and a shorter payback raise the chance of a sale, Software raises it, Retail lowers
it; ``colour`` is noise and ``name`` an identifier."""

from __future__ import annotations

import csv
import io

import numpy as np

from leadwell.predict.table import Table

COLUMNS = ["lead_id", "name", "employees", "roi_months", "industry", "colour", "won"]


def leads(rows: int, seed: int = 3) -> tuple[Table, list[int]]:
    """``rows`` leads as text cells (employees written "1,200", some blank) and their 0/1 outcomes."""
    rng = np.random.default_rng(seed)
    employees = np.round(np.exp(rng.uniform(np.log(5), np.log(5000), rows))).astype(int)
    roi = rng.integers(1, 13, rows)
    industry = rng.choice(["Retail", "Software", "Health", "Banking"], rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    logit = (
        -2.0
        + 0.9 * (np.log(employees) - np.log(100))
        - 0.25 * (roi - 6)
        + np.where(industry == "Software", 1.0, 0.0)
        - np.where(industry == "Retail", 1.5, 0.0)
    )
    won = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    blank = rng.random(rows) < 0.05
    table_rows: list[list[str | None]] = [
        [
            f"L{index:05d}",
            f"Lead {index}",
            None if blank[index] else f"{employees[index]:,}",
            str(roi[index]),
            str(industry[index]),
            str(colour[index]),
            "yes" if won[index] else "no",
        ]
        for index in range(rows)
    ]
    return Table(list(COLUMNS), table_rows), won.tolist()


def leads_csv(rows: int, seed: int = 3, drop: tuple[str, ...] = ()) -> bytes:
    """The same leads as a CSV file, without the ``drop`` columns."""
    table, _labels = leads(rows, seed)
    keep = [at for at, name in enumerate(table.columns) if name not in drop]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([table.columns[at] for at in keep])
    for row in table.rows:
        writer.writerow(["" if row[at] is None else row[at] for at in keep])
    return out.getvalue().encode()
