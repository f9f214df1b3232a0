"""Spend exports of each layout, read from small realistic files: Meta with multi-day rows, Google's
UTF-16 TSV with title lines and a Total row, LinkedIn's m/d/y dates, a generic sheet naming a new
channel; re-importing replaces; a bad row stores nothing and names its line and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from leadwell.channels.catalog import ensure_channels
from leadwell.channels.spend_import import import_spend
from leadwell.channels.spend_layouts import parse_export
from leadwell.db.models import Campaign, Channel, Spend
from leadwell.db.session import Database
from leadwell.errors import InvalidInput
from tests.factories import make_workspace

META = (
    "Reporting starts,Reporting ends,Campaign name,Amount spent (EUR),Impressions,Results\n"
    '2026-03-01,2026-03-07,Spring Webinar,"1,234.56",10200,31\n'
    "2026-03-08,2026-03-14,Spring Webinar,980.10,9800,22\n"
    "2026-03-01,2026-03-14,Retargeting,0,0,0\n"
    "2026-03-01,2026-03-14,Lookalike,,0,0\n"
)
GOOGLE = (
    "Campaign report\n"
    "March 1, 2026 - March 3, 2026\n"
    "Campaign\tDay\tCurrency code\tCost\tClicks\n"
    "ROI calculator\t2026-03-01\tUSD\t45.10\t12\n"
    "ROI calculator\t2026-03-02\tUSD\t1,050.00\t40\n"
    "Brand\t2026-03-02\tUSD\t12.40\t9\n"
    "Total: Account\t --\tUSD\t1,107.50\t61\n"
)
LINKEDIN = (
    "Campaign Performance Report\n"
    "Report Start: 11/1/2026\n"
    "Start Date (in UTC),Account Name,Campaign Name,Currency,Total Spent,Impressions\n"
    "11/3/2026,Northwind,Ops leaders,USD,210.00,5000\n"
    "11/4/2026,Northwind,Ops leaders,USD,190.5,4400\n"
)
GENERIC = (
    "date;Channel;CAMPAIGN;Spend;Currency\n"
    "2026-03-05;Podcast ads;Episode 12;1234,56;\n"
    "2026-03-05;Google;;300;usd\n"
)


def _rows(session: object, workspace_id: int) -> list[tuple[str, str, date, date, Decimal, str]]:
    query = (
        select(Channel.name, Campaign.name, Spend.spent_from, Spend.spent_to, Spend.amount, Spend.currency)
        .join(Channel, Channel.id == Spend.channel_id)
        .outerjoin(Campaign, Campaign.id == Spend.campaign_id)
        .where(Spend.workspace_id == workspace_id)
        .order_by(Channel.name, Spend.spent_from, Campaign.name)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[attr-defined]


def test_meta_rows_cover_several_days(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        summary = import_spend(session, ws.id, META.encode("utf-8-sig"))
        assert (summary.platform, summary.stored, summary.replaced, summary.skipped) == ("meta", 2, 0, 2)
        assert summary.totals == {"EUR": Decimal("2214.66")}  # 1,234.56 + 980.10
        assert _rows(session, ws.id) == [
            ("Facebook", "Spring Webinar", date(2026, 3, 1), date(2026, 3, 7), Decimal("1234.56"), "EUR"),
            ("Facebook", "Spring Webinar", date(2026, 3, 8), date(2026, 3, 14), Decimal("980.10"), "EUR"),
        ]
        keys = session.scalars(select(Campaign.key)).all()
        assert keys == ["spring webinar"]  # the skipped rows created no campaign


def test_google_utf16_tsv_with_titles_and_total(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        summary = import_spend(session, ws.id, GOOGLE.encode("utf-16"))
        assert (summary.platform, summary.stored, summary.skipped) == ("google", 3, 1)  # the Total row
        assert summary.totals == {"USD": Decimal("1107.50")}  # 45.10 + 1,050.00 + 12.40
        assert _rows(session, ws.id) == [
            ("Google", "ROI calculator", date(2026, 3, 1), date(2026, 3, 1), Decimal("45.10"), "USD"),
            ("Google", "Brand", date(2026, 3, 2), date(2026, 3, 2), Decimal("12.40"), "USD"),
            ("Google", "ROI calculator", date(2026, 3, 2), date(2026, 3, 2), Decimal("1050.00"), "USD"),
        ]


def test_linkedin_month_first_dates(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        summary = import_spend(session, ws.id, LINKEDIN.encode())
        assert (summary.platform, summary.stored) == ("linkedin", 2)
        assert [(row[2], row[4]) for row in _rows(session, ws.id)] == [
            (date(2026, 11, 3), Decimal("210.00")),
            (date(2026, 11, 4), Decimal("190.50")),
        ]


def test_generic_sheet_creates_an_unknown_channel_with_a_warning(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        ensure_channels(session, ws.id)
        summary = import_spend(session, ws.id, GENERIC.encode())
        assert summary.warnings == ["channel 'Podcast ads' did not exist: created it (kind other)"]
        assert summary.totals == {"USD": Decimal("1534.56")}  # 1234,56 (workspace currency) + 300
        assert _rows(session, ws.id) == [
            ("Google", None, date(2026, 3, 5), date(2026, 3, 5), Decimal("300.00"), "USD"),
            ("Podcast ads", "Episode 12", date(2026, 3, 5), date(2026, 3, 5), Decimal("1234.56"), "USD"),
        ]
        kind = session.scalar(select(Channel.kind).where(Channel.name == "Podcast ads"))
        assert kind == "other"


def test_reimport_replaces_amounts_and_creates_nothing(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        import_spend(session, ws.id, GOOGLE.encode("utf-16"))
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (Spend, Campaign, Channel)]
        corrected = GOOGLE.replace("1,050.00", "1,000.00")
        summary = import_spend(session, ws.id, corrected.encode("utf-16"))
        assert (summary.stored, summary.replaced) == (0, 3)
        assert [
            session.scalar(select(func.count()).select_from(m)) for m in (Spend, Campaign, Channel)
        ] == counts
        total = session.scalar(select(func.sum(Spend.amount)).where(Spend.workspace_id == ws.id))
        assert total == Decimal("1057.50")  # 45.10 + 1,000.00 + 12.40: replaced, not added


def test_dry_run_stores_nothing(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        summary = import_spend(session, ws.id, GENERIC.encode(), dry_run=True)
        assert (summary.stored, summary.dry_run) == (2, True)
        assert session.scalar(select(func.count()).select_from(Spend)) == 0
        assert session.scalar(select(Channel.id).where(Channel.name == "Podcast ads")) is None


def test_a_bad_row_stores_nothing_and_names_line_and_column(db: Database) -> None:
    bad = GOOGLE.replace("Brand\t2026-03-02\tUSD\t12.40", "Brand\t2026-03-02\tUSD\tabc")
    with db.session() as session:
        ws = make_workspace(session)
        workspace_id = ws.id
    with pytest.raises(InvalidInput) as refused, db.session() as session:
        import_spend(session, workspace_id, bad.encode("utf-16"))
    assert refused.value.detail == "line 6, Cost: 'abc' is not an amount"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Spend)) == 0
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    with pytest.raises(InvalidInput, match=r"line 4, Start Date \(in UTC\): '13/45/2026' is not a date"):
        parse_export(LINKEDIN.replace("11/3/2026,", "13/45/2026,").encode(), "USD")


def test_forced_platform_and_unknown_layout() -> None:
    assert parse_export(GENERIC.encode(), "USD", "generic").platform == "generic"
    with pytest.raises(InvalidInput, match="no header line with a meta export's columns"):
        parse_export(GOOGLE.encode("utf-16"), "USD", "meta")
    with pytest.raises(InvalidInput, match="file: no header line"):
        parse_export(b"name,email\nAda,ada@example.com\n", "USD")
