"""The report benchmark, run as ``make bench ONLY=reports`` runs it, at a tiny scale on SQLite."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.reports_data import seed_reports
from sqlalchemy import func, inspect, select

from leadwell.db.models import (
    Contact,
    Deal,
    Engagement,
    Event,
    FormSubmission,
    ManualTouch,
    Spend,
    StageChange,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from tests.test_bench import FIELDS, bench


def test_reports_benchmark_records_every_report_and_range(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    # 15 s on a quiet machine, 35 s with two full benchmarks beside it; the limit is for a busy CI.
    run = bench(
        "--scale", "0.0005", "--database", "sqlite", "--only", "reports", "--output", str(output), timeout=120
    )
    assert run.returncode == 0, run.stderr
    document: dict[str, Any] = json.loads(output.read_text())
    assert document["errors"] == []
    records = document["results"]
    names = [*REPORTS, "dashboard"]
    # Both ranges, every report then the dashboard, in that order.
    assert [r["name"] for r in records] == [f"report_{n}_{d}d" for d in (90, 365) for n in names]
    baselines = {d: {r["baseline"] for r in records if r["name"].endswith(f"_{d}d")} for d in (90, 365)}
    for record in records:
        assert set(record) == FIELDS
        assert record["database"] == "sqlite" and record["unit"] == "ms" and record["better"] == "lower"
        # A report of 500 contacts takes more than a microsecond and less than a minute.
        assert 0.001 < record["value"] < 60_000 and record["baseline"] > 0 and record["target"] > 0
        assert math.isclose(record["ratio"], record["value"] / record["baseline"], rel_tol=1e-12)
        assert record["met"] is (record["ratio"] <= record["target"])
    # One naive read per range, shared by that range's reports.
    assert all(len(found) == 1 for found in baselines.values())
    # The seeding, the naive reads and each report's slowest statements are logged.
    assert "reports data:" in run.stderr and "naive read of 90 days" in run.stderr
    assert "reports/outcomes.py" in run.stderr


def test_seeded_year_has_the_promised_shape(db: Database) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    seeded = seed_reports(db, 11, now, contacts=3_000, events=30_000, submissions=450)
    with db.session() as session:
        ws = seeded.workspace_id

        def count(*where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(where[0]).where(*where[1:])) or 0)

        stages = dict(session.execute(select(Contact.stage, func.count()).group_by(Contact.stage)).all())
        events = dict(session.execute(select(Event.type, func.count()).group_by(Event.type)).all())
        won = count(Deal, Deal.status == "won")
        first, last = session.execute(
            select(func.min(Contact.created_at), func.max(Contact.created_at))
        ).one()
        assert session.scalar(select(Workspace.currency).where(Workspace.id == ws)) == "USD"
        assert count(Contact) == 3_000 and count(Event) == 30_000
        assert sum(events.values()) == seeded.rows["events"] == 30_000
        # Every submission and stage change has its event; a meeting for each lead that reached SQL.
        assert events["form_submitted"] == count(FormSubmission) == 450
        assert events["stage_changed"] == count(StageChange) == seeded.rows["stage_changes"]
        assert events["meeting_booked"] == count(StageChange, StageChange.to_stage == "sql")
        # Reached MQL about 30 % (fewer: moves after "now" are cut), customer about 2 %.
        reached = 3_000 - stages["lead"]
        assert 0.2 < reached / 3_000 < 0.31
        assert 0.01 < stages["customer"] / 3_000 < 0.03
        assert won == stages["customer"]
        assert count(Deal, Deal.status == "won", Deal.currency != "USD") < won
        assert 0.5 < count(Engagement, Engagement.grade.is_not(None)) / 3_000 < 0.7
        assert 10 < count(ManualTouch) < 60  # about 1 % of 3,000
        assert now - first > timedelta(days=360) and last < now
        latest = session.scalar(select(func.max(Event.occurred_at)))
        assert latest is not None and latest < now
        # Daily spend on three campaigns, a monthly retainer (13 months touched), four EUR invoices.
        assert count(Spend, Spend.campaign_id.is_not(None), Spend.currency == "USD") == 3 * 365
        assert count(Spend, Spend.campaign_id.is_(None)) == 13
        assert count(Spend, Spend.currency == "EUR") == 4
        # The events table has its indexes back after the load.
        assert {"ix_events_timeline", "ix_events_type_time"} <= {
            index["name"] for index in inspect(db.engine).get_indexes("events")
        }
