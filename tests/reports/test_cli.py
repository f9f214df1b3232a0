"""``leadwell report NAME`` on a real database: the same figures as the page in each format, the
file written with ``--out``, the printable HTML, and bad input exiting 2 with its parameter named."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from leadwell.cli import app as cli
from leadwell.db.session import Database
from tests.reports.test_pages import seed

runner = CliRunner()
RANGE = ("--from", "2026-10-01", "--to", "2026-10-31")


def run(db_url: str, slug: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, ["report", *args, "--database-url", db_url, "--workspace", slug])
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_the_funnel_as_a_table(db: Database, db_url: str) -> None:
    seeded = seed(db)
    text = run(db_url, seeded.slug, "funnel", *RANGE)
    lines = text.splitlines()
    assert lines[0] == "Funnel — 1 Oct 2026 – 31 Oct 2026"
    assert lines[2].split() == ["Step", "Contacts", "From", "previous", "step", "From", "captured", "Median",
                                "days", "from", "previous"]  # fmt: skip
    # Captured 4; MQL 3 (75 % of 4, median 2 days: Ada 1, Bea 2, Dee 2); won 1 (25 % of captured)
    assert lines[4].split() == ["Captured", "4", "—", "100.0", "%", "—"]
    assert lines[5].split() == ["MQL", "3", "75.0", "%", "75.0", "%", "2.0"]
    assert lines[8].split() == ["Won", "1", "100.0", "%", "25.0", "%", "4.0"]
    assert "4 leads captured; 1 won so far." in text


def test_csv_and_json_carry_plain_numbers(db: Database, db_url: str) -> None:
    seeded = seed(db)
    rows = list(csv.reader(io.StringIO(run(db_url, seeded.slug, "funnel", *RANGE, "--format", "csv"))))
    assert rows[0][:2] == ["Step", "Contacts"] and rows[2][:3] == ["MQL", "3", "0.75"]
    document = json.loads(run(db_url, seeded.slug, "outcomes", *RANGE, "--attribution", "first_touch",
                              "--by", "channel", "--format", "json"))  # fmt: skip
    assert (document["report"], document["from"], document["to"]) == ("outcomes", "2026-10-01", "2026-10-31")
    assert document["attribution"] == "first_touch" and document["currency"] == "USD"
    total = next(row for row in document["rows"] if row["label"] == "All")
    # Four leads, three qualified (Ada, Bea, Dee), one sale of USD 6,000; spend 1,000 + 500
    assert (total["leads"], total["qualified"], total["sales"]) == (4, 3, 1)
    assert (total["revenue"], total["spend"]) == (6000.0, 1500.0)
    assert total["cost_per_qualified"] == 500.0  # 1,500 / 3


def test_out_writes_the_file(db: Database, db_url: str, tmp_path: Path) -> None:
    seeded = seed(db)
    target = tmp_path / "cohorts.csv"
    run(db_url, seeded.slug, "cohorts", *RANGE, "--format", "csv", "--out", str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) >= 2 and rows[1][0] == "2026-10"


def test_an_html_out_file_is_the_printable_report(db: Database, db_url: str, tmp_path: Path) -> None:
    seeded = seed(db)
    target = tmp_path / "report.html"
    run(db_url, seeded.slug, "assessment", *RANGE, "--out", str(target))
    document = target.read_text(encoding="utf-8")
    assert document.startswith("<!doctype html>") and "<svg" in document and "<script" not in document
    assert "Marketing assessment: Northwind Advisory" in document
    for title in ("Cost and outcomes", "Funnel", "Cohorts", "Attribution"):
        assert f"<h2>{title}</h2>" in document
    single = run(db_url, seeded.slug, "funnel", *RANGE, "--format", "html")
    assert "<h2>Funnel</h2>" in single and "<h2>Cohorts</h2>" not in single


def test_bad_input_exits_2_naming_it(db: Database, db_url: str) -> None:
    seeded = seed(db)
    assert "report: 'nonsense' is not one of assessment" in run(db_url, seeded.slug, "nonsense", code=2)
    assert "from: '2026-02-30' is not a date" in run(
        db_url, seeded.slug, "funnel", "--from", "2026-02-30", code=2
    )
    assert "to: 2026-10-01 is before from" in run(
        db_url, seeded.slug, "funnel", "--from", "2026-10-02", "--to", "2026-10-01", code=2
    )
    assert "attribution: 'random'" in run(db_url, seeded.slug, "outcomes", "--attribution", "random", code=2)
    assert "by: 'colour'" in run(db_url, seeded.slug, "outcomes", "--by", "colour", code=2)
    assert "--workspace" in run(db_url, "", "funnel", code=2)
