"""The abuse checks and the page markdown as plain functions (no database, no HTTP)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadwell.capture.abuse import (
    Refused,
    WindowLimiter,
    check_fill_time,
    check_origin,
    issue_render_token,
    origin_of,
    read_render_token,
)
from leadwell.capture.markdown import render_markdown, safe_link
from leadwell.capture.submission import custom_key, parse_body
from leadwell.capture.tokens import TokenSigner

SIGNER = TokenSigner("unit-secret")


def test_the_limiter_counts_per_key_and_says_how_long_to_wait() -> None:
    limiter = WindowLimiter()
    rules = [("ip:1:10.0.0.1", 2, 3600.0), ("form:1", 3, 60.0)]
    assert limiter.take(rules, now=0.0) is None
    assert limiter.take(rules, now=10.0) is None
    assert limiter.take(rules, now=20.0) == 3580  # the first hit leaves the hour at 3600 s
    assert limiter.take([("ip:1:10.0.0.2", 2, 3600.0), ("form:1", 3, 60.0)], now=30.0) is None
    assert limiter.take([("ip:1:10.0.0.3", 2, 3600.0), ("form:1", 3, 60.0)], now=40.0) == 20
    # A refused hit is not counted: the form's window frees up as its own hits age.
    assert limiter.take([("ip:1:10.0.0.3", 2, 3600.0), ("form:1", 3, 60.0)], now=61.0) is None


def test_the_limiter_forgets_idle_keys_beyond_its_size() -> None:
    limiter = WindowLimiter(max_keys=10)
    for number in range(30):
        assert limiter.take([(f"k{number}", 1, 60.0)], now=float(number * 100)) is None
    assert limiter.take([("k29", 1, 60.0)], now=2901.0) == 59  # the live key is still counted


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Example.COM:443/path?q", "https://example.com"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("http://[::1]:80", "http://[::1]"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("null", None),
        ("javascript:alert(1)", None),
        ("http://host:99999", None),
        ("ftp://example.com", None),
    ],
)
def test_origins_are_normalised(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_origin_checks() -> None:
    allowed = ["https://partner.example"]
    check_origin("https://partner.example", None, "http://leads.example", allowed)
    check_origin(None, "http://leads.example/p/x", "http://leads.example", allowed)
    with pytest.raises(Refused) as refused:
        check_origin(None, None, "http://leads.example", allowed)
    assert refused.value.status == 403 and refused.value.field == "Origin"
    with pytest.raises(Refused) as refused:
        check_origin(None, "https://evil.example/", "http://leads.example", allowed)
    assert refused.value.field == "Referer"
    # A present Origin wins over a friendlier Referer.
    with pytest.raises(Refused):
        check_origin("https://evil.example", "https://partner.example/", "http://leads.example", allowed)


def test_render_tokens_carry_the_form_page_and_nonce() -> None:
    token = issue_render_token(SIGNER, 7, 3, framed=False, now=1000.0)
    read = read_render_token(SIGNER, token, 7)
    assert (read.form_id, read.page_id, read.framed, read.issued_at) == (7, 3, False, 1000.0)
    assert len(read.nonce) == 22
    assert read_render_token(SIGNER, issue_render_token(SIGNER, 7, None, framed=True), 7).page_id is None
    with pytest.raises(Refused):
        read_render_token(SIGNER, token, 8)
    with pytest.raises(Refused):
        read_render_token(TokenSigner("another-secret"), token, 7)
    with pytest.raises(Refused):
        read_render_token(SIGNER, SIGNER.sign("deliver", {"f": 7}), 7)
    check_fill_time(read, 3, now=1003.0)
    with pytest.raises(Refused):
        check_fill_time(read, 3, now=1002.5)


def test_bodies_are_parsed_strictly() -> None:
    form = "application/x-www-form-urlencoded; charset=utf-8"
    assert parse_body(b"a=1&b=&c=%C3%A9", form) == {"a": "1", "b": "", "c": "é"}
    for raw, content_type, status in (
        (b"a=1&a=2", form, 400),
        (b"a=%FF", form, 400),
        (b"a=\xff", form, 400),
        (b"a=1", "application/json", 415),
        (b"a=1", None, 415),
        (b"&".join(b"k%d=1" % number for number in range(300)), form, 400),
    ):
        with pytest.raises(Refused) as refused:
            parse_body(raw, content_type)
        assert refused.value.status == status


def test_custom_keys_are_made_storable() -> None:
    assert custom_key("team_size") == "team_size"
    assert custom_key("team-size") == "team_size"
    assert custom_key("2fa") == "f_2fa"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com", True),
        ("mailto:a@example.com", True),
        ("/p/other", True),
        ("#top", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,hi", False),
        ("vbscript:x", False),
        ("java\nscript:x", False),
    ],
)
def test_only_web_and_mail_links_are_kept(url: str, allowed: bool) -> None:
    assert safe_link(url) is allowed


def test_markdown_keeps_only_the_page_s_own_image() -> None:
    html = render_markdown("![Cover](image) ![Spy](https://t.example/p.gif) <b>hi</b>", "/p/x/image")
    assert '<img src="/p/x/image" alt="Cover" />' in html
    assert "t.example" not in html and "Spy" in html
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<img" not in render_markdown("![Cover](image)")


_PIECES = st.sampled_from(
    ["<script>", "</script>", "javascript:", "JaVaScRiPt:", "data:", "[x](", "](", ")", "![i](", "<", ">",
     '"', "'", "&", "&#106;", "\\", "\n", " ", "on", "error=", "<img src=x ", "http://e.example/", "`"]
)  # fmt: skip


@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=30).map("".join))
def test_no_markdown_body_yields_script_or_a_dangerous_link(text: str) -> None:
    html = render_markdown(text, "/p/x/image").lower()
    assert "<script" not in html
    assert not re.search(r'(href|src)="\s*(javascript|data|vbscript):', html)
    assert all(source == "/p/x/image" for source in re.findall(r'<img src="([^"]*)"', html))
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", html)  # no event handler attributes
