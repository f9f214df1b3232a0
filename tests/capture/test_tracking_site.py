"""The site script and its page-view beacon: served per site, accepted only from the site's domains."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.capture.site_cache import SiteCache
from leadwell.capture.throttle import PerAddressLimit
from leadwell.capture.visitors import new_visitor_key
from leadwell.db.models import TrackingSite
from leadwell.db.session import Database
from tests.capture.tracking_support import hit_count, hits, make_prospect, make_site


def _view(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "k": "site-key-1",
        "v": new_visitor_key(),
        "u": "https://www.acme.example/pricing",
        "t": "Pricing",
        "r": "https://search.example/?q=acme",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def site_id(db: Database) -> int:
    prospect = make_prospect(db)
    return make_site(db, prospect.workspace, "site-key-1", ["acme.example", "acme-shop.example"]).id


def test_the_script_is_served_with_the_sites_settings(client: TestClient, site_id: int) -> None:
    response = client.get("/t/site-key-1.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=300" in response.headers["cache-control"]
    script = response.text
    assert 'var ENDPOINT = "http://testserver";' in script
    assert 'var SITE = "site-key-1";' in script
    assert 'var DOMAINS = ["acme.example", "acme-shop.example"];' in script
    assert "__LEADWELL" not in script


def test_site_settings_cannot_break_out_of_the_script(client: TestClient, db: Database) -> None:
    prospect = make_prospect(db)
    make_site(db, prospect.workspace, "odd-site", ['evil.example"];alert(1);//', "</script><b>"])
    script = client.get("/t/odd-site.js").text
    assert "</script>" not in script and "<b>" not in script
    assert '\\"];alert(1);//' in script


def test_an_unknown_site_gets_a_harmless_404(client: TestClient) -> None:
    response = client.get("/t/no-such-site.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/javascript")
    assert client.get(f"/t/{'k' * 60}.js").status_code == 404


def test_a_page_view_from_the_sites_domain_is_stored(client: TestClient, db: Database, site_id: int) -> None:
    body = _view()
    response = client.post("/t/pv", json=body, headers={"Origin": "https://www.acme.example"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://www.acme.example"
    assert response.headers["vary"] == "Origin"
    [hit] = hits(db)
    assert hit.kind == "view"
    assert hit.payload == {"site": site_id, "v": body["v"], "u": body["u"], "t": "Pricing", "r": body["r"]}


def test_a_page_view_on_another_of_the_sites_domains_is_stored(
    client: TestClient, db: Database, site_id: int
) -> None:
    body = _view(u="https://acme-shop.example/cart", r="")
    response = client.post(
        "/t/pv",
        content=str(body).replace("'", '"'),
        headers={"Origin": "https://acme-shop.example", "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 204
    assert hits(db)[0].payload["r"] is None


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://acme.example.evil.example", "https://notacme.example", "null", None],
)
def test_page_views_from_other_origins_are_forbidden(
    client: TestClient, db: Database, site_id: int, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = client.post("/t/pv", json=_view(), headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "origin"
    assert "access-control-allow-origin" not in response.headers
    assert hit_count(db) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_view(k="no-such-site"), "k"),
        (_view(v="short"), "v"),
        (_view(v=12345), "v"),
        (_view(u="https://evil.example/"), "u"),
        (_view(u="javascript:alert(1)"), "u"),
        (_view(u=None), "u"),
        (_view(t="x" * 301), "t"),
        (_view(t="nul\x00byte"), "t"),
        (_view(r="ftp://files.example/"), "r"),
        (_view(extra=True), "extra"),
    ],
)
def test_page_views_are_checked_field_by_field(
    client: TestClient, db: Database, site_id: int, body: dict[str, Any], field: str
) -> None:
    response = client.post("/t/pv", json=body, headers={"Origin": "https://acme.example"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert hit_count(db) == 0


def test_the_address_limit_counts_per_minute_and_forgets_idle_addresses() -> None:
    limit = PerAddressLimit(2, window=60, max_addresses=3)
    assert [limit.allow("a", now=0), limit.allow("a", now=1), limit.allow("a", now=2)] == [True, True, False]
    assert limit.allow("b", now=2)  # each address has its own count
    assert limit.allow("a", now=60.5)  # a new window
    for address in ("c", "d", "e"):
        assert limit.allow(address, now=200)
    assert len(limit._counts) <= 3


def test_sites_are_looked_up_once_a_minute(db: Database) -> None:
    prospect = make_prospect(db)
    make_site(db, prospect.workspace, "cached-site", ["one.example"])
    cache = SiteCache(db, ttl=60)
    assert cache.cached("cached-site", now=0) == (False, None)
    site = cache.load("cached-site", now=0)
    assert site is not None and site.domains == ("one.example",)
    with db.session() as session:
        row = session.scalars(select(TrackingSite).where(TrackingSite.key == "cached-site")).one()
        row.domains = ["two.example"]
    assert cache.cached("cached-site", now=59) == (True, site)  # still the remembered answer
    assert cache.cached("cached-site", now=60) == (False, None)  # stale: look again
    assert cache.load("cached-site", now=60).domains == ("two.example",)  # type: ignore[union-attr]
    assert cache.load("no-such-site", now=60) is None
    assert cache.cached("no-such-site", now=61) == (True, None)  # unknown keys are remembered too
