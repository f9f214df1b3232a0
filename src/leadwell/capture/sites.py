"""Tracking sites: the user's websites that run the tracking script, each with a random public key
(in the script's URL) and the host names one visitor is followed across."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_host, clean_text, split_lines
from leadwell.db.models import TrackingSite
from leadwell.errors import InvalidInput, NotFound

MAX_DOMAINS = 50


@dataclass
class SiteInput:
    """What the editor or the CLI sends: a name and host names, one per line (or comma)."""

    name: str
    domains: str = ""


def new_site_key() -> str:
    """An unguessable key for a site's script URL (letters and digits only)."""
    return secrets.token_hex(12)


def clean_domains(text: str) -> list[str]:
    """Host names normalised and de-duplicated in order; at least one."""
    entries = split_lines(text)
    if not entries:
        raise InvalidInput("domains: give at least one host name (like www.example.com)", field="domains")
    if len(entries) > MAX_DOMAINS:
        raise InvalidInput(f"domains: at most {MAX_DOMAINS} host names", field="domains")
    hosts: list[str] = []
    for index, entry in enumerate(entries):
        host = clean_host(entry, f"domains[{index}]")
        if host not in hosts:
            hosts.append(host)
    return hosts


def get_site(session: Session, workspace_id: int, key: str) -> TrackingSite:
    """The workspace's tracking site with ``key``, else :class:`NotFound`."""
    site = session.scalar(
        select(TrackingSite).where(TrackingSite.workspace_id == workspace_id, TrackingSite.key == key)
    )
    if site is None:
        raise NotFound("site: no such tracking site in this workspace", field="site")
    return site


def list_sites(session: Session, workspace_id: int) -> list[TrackingSite]:
    """The workspace's tracking sites by name."""
    query = select(TrackingSite).where(TrackingSite.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(TrackingSite.name, TrackingSite.id)))


def create_site(session: Session, workspace_id: int, data: SiteInput) -> TrackingSite:
    """A new tracking site with a fresh key."""
    site = TrackingSite(
        workspace_id=workspace_id,
        key=new_site_key(),
        name=clean_text(data.name, "name", 200, required=True),
        domains=clean_domains(data.domains),
    )
    session.add(site)
    session.flush()
    return site


def update_site(session: Session, workspace_id: int, key: str, data: SiteInput) -> TrackingSite:
    """Rename a site or change its host names; its key stays (pages embed it)."""
    site = get_site(session, workspace_id, key)
    site.name = clean_text(data.name, "name", 200, required=True)
    site.domains = clean_domains(data.domains)
    session.flush()
    return site


def delete_site(session: Session, workspace_id: int, key: str) -> None:
    """Remove a site: its script stops counting (page views already recorded stay)."""
    session.delete(get_site(session, workspace_id, key))
    session.flush()
