"""The public tracking endpoints over real HTTP: open pixel, click redirect, read and video beacons.

Every refusal names what is wrong and stores nothing; every acknowledgement means a stored hit.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from leadwell.capture import beacons
from leadwell.capture.beacons import BeaconError
from leadwell.capture.tracking_routes import PIXEL, click_url, open_pixel_url
from leadwell.config import Settings
from leadwell.db.session import Database
from leadwell.web.app import create_app
from tests.capture.tracking_support import hit_count, hits, make_prospect, read_body, signer_of
from tests.conftest import TEST_SECRET

BASE = "http://testserver"


def test_open_pixel_stores_one_hit_and_answers_an_uncacheable_gif(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)
    url = open_pixel_url(signer_of(app), BASE, prospect.workspace.id, prospect.contact.id, "welcome-1")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content == PIXEL and PIXEL.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    [hit] = hits(db)
    assert (hit.kind, hit.workspace_id, hit.processed_at) == ("open", prospect.workspace.id, None)
    assert hit.payload == {**prospect.ids, "m": "welcome-1"}
    assert hit.ip == "testclient"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "eyJ3IjoxLCJjIjoxLCJtIjoieCJ9.abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 3000,
    ],
)
def test_a_bad_open_token_still_gets_the_pixel_and_stores_nothing(
    client: TestClient, db: Database, token: str
) -> None:
    response = client.get(f"/t/o/{token}.gif")
    assert response.status_code == 200 and response.content == PIXEL
    assert hit_count(db) == 0


def test_an_altered_open_token_or_one_for_another_purpose_stores_nothing(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)
    signer = signer_of(app)
    genuine = signer.sign("open", {**prospect.ids, "m": "m1"})
    altered = genuine[:-2] + ("A" if genuine[-2] != "A" else "B") + genuine[-1]
    click_token = signer.sign("click", {**prospect.ids, "m": "m1", "u": "https://example.com/"})
    for token in (altered, click_token):
        assert client.get(f"/t/o/{token}.gif").status_code == 200
    assert hit_count(db) == 0


def test_click_redirects_to_the_link_and_stores_the_click(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)
    target = "https://example.com/pricing?plan=pro#compare"
    url = click_url(signer_of(app), BASE, prospect.workspace.id, prospect.contact.id, "news-7", target)
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == target
    [hit] = hits(db)
    assert hit.kind == "click" and hit.payload == {**prospect.ids, "m": "news-7", "u": target}


def test_a_forged_click_is_a_friendly_page_and_never_a_redirect(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)
    signer = signer_of(app)
    genuine = signer.sign("click", {**prospect.ids, "m": "m1", "u": "https://example.com/"})
    forged = URLSafeTimedSerializer("another-secret", salt="leadwell-click").dumps(
        {**prospect.ids, "m": "m1", "u": "https://evil.example/"}
    )
    scripted = signer.sign("click", {**prospect.ids, "m": "m1", "u": "javascript:alert(1)"})
    relative = signer.sign("click", {**prospect.ids, "m": "m1", "u": "//evil.example/"})
    for token in (genuine[:-3] + "xyz", forged, scripted, relative, "<script>"):
        response = client.get(f"/t/c/{token}", follow_redirects=False)
        assert response.status_code == 400, token
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "This link is broken" in response.text
        assert "<script>" not in response.text and "Traceback" not in response.text
    assert hit_count(db) == 0


def test_tracking_link_helpers_refuse_what_the_endpoints_would_refuse(app: FastAPI) -> None:
    signer = signer_of(app)
    with pytest.raises(ValueError, match="url"):
        click_url(signer, BASE, 1, 1, "m", "javascript:alert(1)")
    with pytest.raises(ValueError, match="message"):
        open_pixel_url(signer, BASE, 1, 1, "m" * 121)
    assert open_pixel_url(signer, BASE + "/", 1, 2, "m").startswith(f"{BASE}/t/o/")


def _deliver(app: FastAPI, prospect: Any, asset_id: int = 9) -> str:
    return signer_of(app).sign("deliver", {**prospect.ids, "a": asset_id})


def test_read_beacon_stores_the_checked_progress(app: FastAPI, client: TestClient, db: Database) -> None:
    prospect = make_prospect(db)
    token = _deliver(app, prospect)
    body = json.dumps(read_body(pages=[3, 1, 2, 3]))
    response = client.post(
        f"/t/r/{token}", content=body, headers={"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert response.status_code == 204, response.text
    [hit] = hits(db)
    assert hit.kind == "read"
    assert hit.payload == {**prospect.ids, "a": 9, "pages": [1, 2, 3], "of": 18, "active": 95} | {
        "s": "sess-abcdef12",
        "seq": 4,
    }


def test_video_beacon_stores_the_checked_progress(app: FastAPI, client: TestClient, db: Database) -> None:
    prospect = make_prospect(db)
    body = {"percent": 50, "seconds": 61.4, "s": "vid-session-1", "seq": 2}
    response = client.post(f"/t/v/{_deliver(app, prospect, 4)}", json=body)
    assert response.status_code == 204
    [hit] = hits(db)
    assert hit.kind == "video"
    assert hit.payload == {
        **prospect.ids,
        "a": 4,
        "percent": 50,
        "seconds": 61,
        "s": "vid-session-1",
        "seq": 2,
    }


def test_a_delivery_link_months_old_still_takes_beacons(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)

    class HalfAYearAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 180 * 24 * 3600

    old = URLSafeTimedSerializer(TEST_SECRET, salt="leadwell-deliver", signer=HalfAYearAgo)
    token = old.dumps({**prospect.ids, "a": 3})
    assert client.post(f"/t/r/{token}", json=read_body()).status_code == 204
    assert hit_count(db) == 1


READ_REFUSALS: list[tuple[dict[str, Any], str]] = [
    (read_body(pages=[1, 19]), "pages[1]"),
    (read_body(pages=[0]), "pages[0]"),
    (read_body(pages=["2"]), "pages[0]"),
    (read_body(pages=[True]), "pages[0]"),
    (read_body(pages="1,2"), "pages"),
    (read_body(of=10001), "of"),
    (read_body(of=0), "of"),
    (read_body(of=1.5), "of"),
    (read_body(active=86401), "active"),
    (read_body(active=-1), "active"),
    (read_body(active="95"), "active"),
    (read_body(s="short"), "s"),
    (read_body(s="has spaces in it"), "s"),
    (read_body(seq=-1), "seq"),
    (read_body(seq=None), "seq"),
    (read_body(extra=1), "extra"),
]


@pytest.mark.parametrize(("body", "field"), READ_REFUSALS)
def test_read_beacon_refuses_bad_fields_naming_them(
    app: FastAPI, client: TestClient, db: Database, body: dict[str, Any], field: str
) -> None:
    token = _deliver(app, make_prospect(db))
    response = client.post(f"/t/r/{token}", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert problem["detail"].startswith(f"{field}:")
    assert hit_count(db) == 0


def test_a_page_list_longer_than_any_document_is_refused_even_within_the_size_limit() -> None:
    # 8 KiB cannot hold 5,001 page numbers as JSON; the check stands behind the size limit anyway.
    with pytest.raises(BeaconError) as refused:
        beacons.read_progress(read_body(pages=[1] * 5001, of=10000))
    assert refused.value.field == "pages"
    assert beacons.read_progress(read_body(pages=[2] * 4999 + [1], of=2))["pages"] == [1, 2]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"percent": 101, "seconds": 1, "s": "abcdefgh", "seq": 0}, "percent"),
        ({"percent": float("nan"), "seconds": 1, "s": "abcdefgh", "seq": 0}, "percent"),
        ({"percent": 5, "seconds": 90000, "s": "abcdefgh", "seq": 0}, "seconds"),
        ({"percent": 5, "s": "abcdefgh", "seq": 0}, "seconds"),
    ],
)
def test_video_beacon_refuses_bad_fields_naming_them(
    app: FastAPI, client: TestClient, db: Database, body: dict[str, Any], field: str
) -> None:
    token = _deliver(app, make_prospect(db))
    content = json.dumps(body)  # NaN goes out as the bare word JSON parsers may accept
    response = client.post(f"/t/v/{token}", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert hit_count(db) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "field"),
    [
        (b"{not json", "text/plain", 400, "body"),
        (b"[1, 2]", "application/json", 400, "body"),
        (b"\xff\xfe", "text/plain", 400, "body"),
        (b"[" * 4000 + b"]" * 4000, "text/plain", 400, "body"),
        (json.dumps(read_body()).encode(), "application/x-www-form-urlencoded", 415, "content-type"),
        (b'{"pages": [' + b"1," * 4500 + b"1]}", "text/plain", 413, "body"),
    ],
)
def test_beacon_bodies_must_be_small_json_objects(
    app: FastAPI, client: TestClient, db: Database, content: bytes, content_type: str, status: int, field: str
) -> None:
    token = _deliver(app, make_prospect(db))
    response = client.post(f"/t/r/{token}", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field
    assert hit_count(db) == 0


def test_forged_altered_or_misused_delivery_tokens_are_refused(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    prospect = make_prospect(db)
    genuine = _deliver(app, prospect)
    altered = genuine.replace(genuine[5], "A" if genuine[5] != "A" else "B", 1)
    other_purpose = signer_of(app).sign("open", {**prospect.ids, "m": "x"})
    forged = URLSafeTimedSerializer("not-our-secret", salt="leadwell-deliver").dumps({**prospect.ids, "a": 1})
    no_asset = signer_of(app).sign("deliver", prospect.ids)
    for token in (altered, other_purpose, forged, no_asset, "garbage"):
        for kind in ("r", "v"):
            response = client.post(f"/t/{kind}/{token}", json=read_body())
            assert response.status_code == 400, (token, kind)
            assert response.json()["errors"][0]["field"] == "token"
    assert hit_count(db) == 0


def test_every_address_is_limited_and_told_when_to_come_back(db_url: str, db: Database) -> None:
    settings = Settings(database_url=db_url, secret_key=TEST_SECRET, tracking_requests_per_minute=3)
    app = create_app(settings, db)
    prospect = make_prospect(db)
    token = _deliver(app, prospect)
    with TestClient(app) as client:
        answers = [client.post(f"/t/r/{token}", json=read_body()).status_code for _ in range(4)]
        pixel = client.get(
            open_pixel_url(signer_of(app), BASE, prospect.workspace.id, prospect.contact.id, "m")
        )
        click = client.get(
            click_url(
                signer_of(app), BASE, prospect.workspace.id, prospect.contact.id, "m", "https://a.example/"
            ),
            follow_redirects=False,
        )
        refused = client.post(f"/t/r/{token}", json=read_body())
        script = client.get("/t/any-site.js")
    assert answers == [204, 204, 204, 429]
    assert script.status_code == 429 and script.headers["retry-after"] == "60"
    assert refused.headers["retry-after"] == "60"
    assert pixel.status_code == 429 and pixel.content == PIXEL
    # The person who clicked still gets where the link promised; the click goes unrecorded.
    assert click.status_code == 302 and click.headers["location"] == "https://a.example/"
    assert [hit.kind for hit in hits(db)] == ["read", "read", "read"]


def test_unknown_tracking_paths_and_methods_are_refused_cleanly(client: TestClient) -> None:
    assert client.get("/t/nothing/here").status_code == 404
    assert client.get("/t/r/sometoken").status_code == 405
    assert client.post("/t/o/abc.gif").status_code == 405
