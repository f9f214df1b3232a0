"""The reply's own words, without the quoted history and the signature."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwell.outreach.inbound_mail import read_mail
from leadwell.outreach.mail_text import html_to_text
from leadwell.outreach.reply_text import own_text, snippet
from tests.outreach.mail_support import sample

EXPECTED = {
    "reply_gmail.eml": (
        "Hi Grace,\n\nYes, we’re looking at this for Q1. Could you call me Thursday afternoon? My\n"
        "direct line is +44 20 7946 0958.\n\nBest,\nAda"
    ),
    "reply_outlook.eml": (
        "Thanks Grace - we'd like to see a proposal. Can you send pricing for three seats?\n\n"
        "Kind regards\nAda"
    ),
    "reply_apple.eml": "Sounds good — talk Thursday at 3.",
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_snippets_of_real_replies_keep_only_what_was_written(name: str, expected: str) -> None:
    assert snippet(read_mail(sample(name)).text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Yes please.\n\nOn Tue, 2 Dec 2025 at 09:00, Grace <sales@acme.example> wrote:\n> Hello",
        "Yes please.\n\nOn Tue, 2 Dec 2025 at 09:00, Grace Hopper <\nsales@acme.example> wrote:\n> Hello",
        "Yes please.\n\nLe mar. 2 déc. 2025 à 09:00, Grace <sales@acme.example> a écrit :\n> Bonjour",
        "Yes please.\n\nAm 02.12.2025 um 09:00 schrieb Grace <sales@acme.example>:\n> Hallo",
        "Yes please.\n\n-----Original Message-----\nFrom: Grace\nSent: Tuesday\nHello",
        "Yes please.\n\nFrom: Grace Hopper <sales@acme.example>\nSent: 2 Dec 2025 09:00\nTo: Ada\nHello",
        "Yes please.\n-- \nAda Lovelace\nHead of Engines",
        "Yes please.\n\nSent from my iPhone",
        "Yes please.\n\nGet Outlook for iOS",
        "> Would Tuesday work?\nYes please.\n> Thanks",
    ],
)
def test_history_signatures_and_quotes_are_cut(text: str) -> None:
    assert own_text(text) == "Yes please."


def test_a_from_line_without_a_header_block_is_kept() -> None:
    text = "From: the team in Leeds, we'd like a quote.\nThanks"
    assert own_text(text) == text


def test_long_replies_are_shortened_with_an_ellipsis() -> None:
    words = "word " * 300
    cut = snippet(words, limit=100)
    assert len(cut) == 100
    assert cut.endswith("…")


def test_html_replies_lose_their_quoted_history_and_markup() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><div>Call me <b>Thursday</b>.</div>"
        '<div class="gmail_quote">On Tue, Grace wrote:<blockquote>Hello</blockquote></div></body></html>'
    )
    assert html_to_text(html).strip() == "Call me Thursday."
    assert html_to_text(
        "<p>One</p><blockquote type='cite'>quoted</blockquote><p>Two &amp; three</p>"
    ).split() == [
        "One",
        "Two",
        "&",
        "three",
    ]


def test_an_html_only_reply_is_read_from_its_html() -> None:
    raw = (
        b"From: ada@engines.example\r\nSubject: Re: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Happy to talk.</p><div id='divRplyFwdMsg'>From: Grace</div><p>old text</p>"
    )
    assert snippet(read_mail(raw).text) == "Happy to talk."


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_gives_a_snippet_no_longer_than_asked(text: str) -> None:
    assert len(snippet(text, limit=120)) <= 120
    html_to_text(text)
