"""Importing ad spend from an export: rows read by :mod:`leadwell.channels.spend_layouts`, stored
with an ``import_key`` so that the same export imported again replaces the amounts instead of
doubling them. All or nothing: the caller's transaction holds every write, and every row is read
(and refused, naming its line and column) before the first write."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.channels.catalog import ensure_channels
from leadwell.channels.service import campaign_for, find_channel
from leadwell.channels.spend_layouts import PLATFORM_CHANNELS, SpendRow, parse_export
from leadwell.channels.values import normalize_key
from leadwell.db.models import Channel, ChannelSource, Spend, Workspace
from leadwell.errors import InvalidInput

CHUNK = 500


@dataclass
class ImportSummary:
    """What an import did (or, on a dry run, would do)."""

    platform: str
    stored: int = 0
    replaced: int = 0
    skipped: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The summary in words, one fact a line."""
        verb = "would store" if self.dry_run else "stored"
        facts = [f"{self.platform} export: {verb} {self.stored} rows, replaced {self.replaced}, "
                 f"skipped {self.skipped} (blank, zero or total)"]  # fmt: skip
        facts += [f"total {currency} {amount:,.2f}" for currency, amount in sorted(self.totals.items())]
        return facts + [f"warning: {warning}" for warning in self.warnings]


@dataclass
class _Merged:
    """Rows of one spend bucket and days, added up (an export split by device or placement)."""

    row: SpendRow
    amount: Decimal


def _import_key(origin: str, channel_id: int, campaign_key: str, row: SpendRow) -> str:
    return f"{origin}:{channel_id}:{campaign_key}:{row.spent_from.isoformat()}:{row.spent_to.isoformat()}"


def _platform_channel(session: Session, workspace_id: int, name: str) -> Channel | None:
    """The channel the platform's own source key maps to ("facebook" → the user's "Meta ads" after
    a rename), else the one with the platform's name."""
    channel = session.scalars(
        select(Channel)
        .join(ChannelSource, ChannelSource.channel_id == Channel.id)
        .where(ChannelSource.workspace_id == workspace_id, ChannelSource.key == name.lower())
    ).first()
    return channel or find_channel(session, workspace_id, name)


def _channels(
    session: Session, workspace_id: int, names: set[str], summary: ImportSummary
) -> dict[str, Channel]:
    """The channel of each name; unknown names become new channels of kind "other" (warned)."""
    ensure_channels(session, workspace_id)
    platforms = set(PLATFORM_CHANNELS.values())
    found: dict[str, Channel] = {}
    for name in sorted(names, key=str.lower):
        if name in platforms:
            channel = _platform_channel(session, workspace_id, name)
        else:
            channel = find_channel(session, workspace_id, name)
        if channel is None:
            summary.warnings.append(f"channel {name!r} did not exist: created it (kind other)")
            channel = Channel(workspace_id=workspace_id, name=name, kind="other")
            session.add(channel)
            session.flush()
        found[name] = channel
    return found


def _merge(rows: list[SpendRow], keys: list[str]) -> dict[str, _Merged]:
    merged: dict[str, _Merged] = {}
    for row, key in zip(rows, keys, strict=True):
        if key in merged:
            first = merged[key]
            if first.row.currency != row.currency:
                raise InvalidInput(
                    f"line {row.line}: the same campaign and days as line {first.row.line} "
                    f"in another currency ({row.currency}, not {first.row.currency})",
                    f"line {row.line}",
                )
            first.amount += row.amount
        else:
            merged[key] = _Merged(row, row.amount)
    return merged


def _existing(session: Session, workspace_id: int, keys: list[str]) -> dict[str, Spend]:
    found: dict[str, Spend] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for spend in session.scalars(
            select(Spend).where(Spend.workspace_id == workspace_id, Spend.import_key.in_(chunk))
        ):
            assert spend.import_key is not None
            found[spend.import_key] = spend
    return found


def import_spend(
    session: Session,
    workspace_id: int,
    content: bytes,
    platform: str | None = None,
    dry_run: bool = False,
    user_id: int | None = None,
) -> ImportSummary:
    """Import an export's spend into the workspace; on ``dry_run`` nothing stays stored."""
    currency = session.get_one(Workspace, workspace_id).currency
    parsed = parse_export(content, currency, platform)
    summary = ImportSummary(parsed.platform, skipped=parsed.skipped, dry_run=dry_run)
    nested = session.begin_nested() if dry_run else None
    try:
        _store(session, workspace_id, parsed.platform, parsed.rows, summary, user_id)
    finally:
        if nested is not None:
            nested.rollback()
    return summary


def _store(
    session: Session,
    workspace_id: int,
    origin: str,
    rows: list[SpendRow],
    summary: ImportSummary,
    user_id: int | None,
) -> None:
    channels = _channels(session, workspace_id, {r.channel for r in rows}, summary)
    keys = [_import_key(origin, channels[r.channel].id, normalize_key(r.campaign), r) for r in rows]
    merged = _merge(rows, keys)
    existing = _existing(session, workspace_id, list(merged))
    campaigns: dict[tuple[int, str], int | None] = {}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for key, item in merged.items():
        row, channel_id = item.row, channels[item.row.channel].id
        bucket = (channel_id, normalize_key(row.campaign))
        if bucket not in campaigns:
            campaigns[bucket] = _campaign_id(session, workspace_id, channel_id, row.campaign)
        totals[row.currency] += item.amount
        spend = existing.get(key)
        if spend is None:
            session.add(_new_spend(workspace_id, channel_id, campaigns[bucket], origin, key, item, user_id))
            summary.stored += 1
        else:
            spend.amount, spend.currency, spend.campaign_id = item.amount, row.currency, campaigns[bucket]
            summary.replaced += 1
    summary.totals = dict(totals)
    session.flush()


def _campaign_id(session: Session, workspace_id: int, channel_id: int, name: str) -> int | None:
    if not name:
        return None  # spend on the channel as a whole
    return campaign_for(session, workspace_id, channel_id, name).id


def _new_spend(
    workspace_id: int,
    channel_id: int,
    campaign_id: int | None,
    origin: str,
    key: str,
    item: _Merged,
    user_id: int | None,
) -> Spend:
    return Spend(
        workspace_id=workspace_id,
        channel_id=channel_id,
        campaign_id=campaign_id,
        spent_from=item.row.spent_from,
        spent_to=item.row.spent_to,
        amount=item.amount,
        currency=item.row.currency,
        description=f"imported from a {origin} export",
        origin=origin,
        import_key=key,
        created_by_id=user_id,
    )
