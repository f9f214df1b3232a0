"""Reading what comes back: delivery reports, plain-text bounces, complaints, auto-replies, replies —
from realistic samples, and arbitrary bytes that must never break the reader."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwell.outreach.dsn import RecipientStatus, read_report, severity_of
from leadwell.outreach.inbound_mail import KINDS, fingerprint, read_mail
from tests.outreach.mail_support import ADA, AUTO_REPLIES, HARD_BOUNCES, REPLIES, SENT_ID, message, sample


@pytest.mark.parametrize("name", HARD_BOUNCES)
def test_hard_bounces_name_the_recipient_the_original_message_and_why(name: str) -> None:
    mail = read_mail(sample(name))
    assert mail.kind == "bounce"
    assert mail.report is not None
    assert mail.report.bounce_kind == "hard"
    assert mail.report.recipient == ADA
    assert mail.report.original_message_ids == (SENT_ID,)
    assert mail.matched_ids[0] == SENT_ID
    assert mail.report.diagnostic is not None and "5.1.1" in mail.report.diagnostic


def test_a_delivery_report_reads_every_field_of_the_failed_recipient() -> None:
    mail = read_mail(sample("dsn_postfix_hard.eml"))
    assert mail.report is not None
    (recipient,) = mail.report.recipients
    assert recipient == RecipientStatus(
        ADA,
        "failed",
        "5.1.1",
        "550 5.1.1 <ada@engines.example>: Recipient address rejected: User unknown in local recipient table",
    )
    assert mail.report.diagnostic == recipient.diagnostic  # the status is in it already: not repeated


def test_exchange_three_digit_detail_codes_are_read_whole() -> None:
    mail = read_mail(sample("dsn_outlook_hard.eml"))
    assert mail.report is not None
    assert mail.report.recipients[0].status == "5.1.10"
    assert mail.subject.startswith("Undeliverable:")


def test_an_internationalised_delivery_report_is_read_too() -> None:
    raw = sample("dsn_postfix_hard.eml").replace(
        b"Content-Type: message/delivery-status", b"Content-Type: message/global-delivery-status"
    )
    mail = read_mail(raw)
    assert mail.report is not None
    assert (mail.report.bounce_kind, mail.report.recipient) == ("hard", ADA)
    # Read from the report's fields, not guessed from its text.
    assert mail.report.recipients[0].diagnostic == (
        "550 5.1.1 <ada@engines.example>: Recipient address rejected: User unknown in local recipient table"
    )


def test_a_delay_warning_is_a_soft_bounce() -> None:
    mail = read_mail(sample("dsn_delayed.eml"))
    assert mail.kind == "bounce"
    assert mail.report is not None
    assert mail.report.bounce_kind == "soft"
    assert mail.report.recipients[0].action == "delayed"
    assert (
        mail.report.diagnostic
        == "4.4.1 connect to mx1.engines.example[203.0.113.25]:25: Connection timed out"
    )


def test_the_plain_text_verdict_ignores_codes_in_the_returned_copy() -> None:
    raw = (
        sample("bounce_exim.eml")
        .replace(b"550 5.1.1 <ada", b"452 4.2.2 <ada")
        .replace(b"This is a permanent error.", b"The mailbox is over quota.")
    )
    mail = read_mail(raw)
    assert mail.report is not None
    assert mail.report.bounce_kind == "soft"  # the copy's "Version 5.1.1" does not count
    assert (
        mail.report.diagnostic == "452 4.2.2 <ada@engines.example>: Recipient address rejected: User unknown"
    )


def test_qmail_names_the_recipient_and_the_code_in_brackets() -> None:
    mail = read_mail(sample("bounce_qmail.eml"))
    assert mail.report is not None
    assert mail.report.recipients[0].status == "5.1.1"
    assert mail.report.diagnostic == "Sorry, no mailbox here by that name. (#5.1.1)"
    assert mail.message_id is None  # qmail adds none: stored under a hash of its bytes


def test_a_complaint_names_the_recipient_and_the_message() -> None:
    mail = read_mail(sample("arf_complaint.eml"))
    assert mail.kind == "complaint"
    assert mail.report is not None
    assert mail.report.feedback_type == "abuse"
    assert mail.report.recipient == ADA
    assert mail.report.original_message_ids == (SENT_ID,)


def test_a_complaint_with_a_redacted_recipient_falls_back_on_the_returned_message() -> None:
    raw = sample("arf_complaint.eml").replace(b"Original-Rcpt-To: <ada@engines.example>\n", b"")
    mail = read_mail(raw)
    assert mail.report is not None and mail.report.recipient == ADA


@pytest.mark.parametrize("name", REPLIES)
def test_replies_from_gmail_outlook_and_apple_mail_are_replies(name: str) -> None:
    mail = read_mail(sample(name))
    assert mail.kind == "reply"
    assert mail.sender == ADA  # Outlook's "Ada@Engines.Example" too
    assert mail.references == (SENT_ID,)
    assert mail.report is None


@pytest.mark.parametrize("name", AUTO_REPLIES)
def test_out_of_office_and_vacation_replies_are_automatic(name: str) -> None:
    mail = read_mail(sample(name))
    assert mail.kind == "auto_reply"
    assert mail.matched_ids == (SENT_ID,)


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("Auto-Submitted: auto-replied", "Re: hello"),
        ("Auto-Submitted: auto-generated", "Your ticket"),
        ("X-Autoreply: yes", "Re: hello"),
        ("X-Autorespond: Thanks", "Re: hello"),
        ("Precedence: auto_reply", "Re: hello"),
        ("Precedence: bulk", "Re: hello"),
        ("Precedence: junk", "Re: hello"),
        ("X-Mailer: Thunderbird", "Out of Office: back on Monday"),
        ("X-Mailer: Thunderbird", "Abwesenheitsnotiz: Re: hello"),
        ("X-Mailer: Thunderbird", "Réponse automatique : hello"),
        ("X-Mailer: Thunderbird", "Automatic reply: hello"),
    ],
)
def test_automatic_messages_are_recognised_by_their_marks(header: str, subject: str) -> None:
    assert read_mail(message(extra=header, subject=subject)).kind == "auto_reply"


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: no", "Precedence: list", "X-Mailer: Thunderbird", "X-Auto-Response-Suppress: All"],
)
def test_a_person_s_reply_is_not_automatic(header: str) -> None:
    assert read_mail(message(extra=header)).kind == "reply"


def test_a_reply_that_mentions_an_undeliverable_parcel_is_still_a_reply() -> None:
    raw = message(subject="Re: Undeliverable parcel", body="Delivery failed twice, can you resend?")
    assert read_mail(raw).kind == "reply"


def test_a_titled_bounce_needs_a_null_return_path_or_an_automatic_mark() -> None:
    titled = message(
        sender="postbox@relay.example", subject="Undelivered Mail Returned to Sender", body="550 no"
    )
    assert read_mail(titled).kind == "reply"
    with_null_path = titled.replace(b"MIME-Version", b"Return-Path: <>\r\nMIME-Version")
    assert read_mail(with_null_path).kind == "bounce"


def test_a_report_that_every_recipient_was_reached_is_nothing_to_act_on() -> None:
    raw = (
        sample("dsn_postfix_hard.eml")
        .replace(b"Action: failed", b"Action: delivered")
        .replace(b"Status: 5.1.1", b"Status: 2.0.0")
    )
    mail = read_mail(raw)
    assert mail.kind == "auto_reply"
    assert mail.report is not None and mail.report.kind == "delivered"


@pytest.mark.parametrize(
    ("status", "diagnostic", "expected"),
    [
        ("5.1.1", None, "hard"),
        ("5.7.1", "550 5.7.1 blocked", "hard"),
        ("4.2.2", None, "soft"),
        ("5.2.2", "552 5.2.2 mailbox full", "soft"),  # full mailboxes clear: never suppressed
        (None, "smtp; 550 5.1.1 user unknown", "hard"),
        (None, "smtp; 451 try again later", "soft"),
        (None, "554 rejected", "hard"),
        (None, "This is a permanent error; I've given up.", "hard"),
        (None, "no idea what happened", "soft"),
    ],
)
def test_severity_from_codes_and_words(status: str | None, diagnostic: str | None, expected: str) -> None:
    assert severity_of(status, diagnostic, failed=True) == expected


def test_a_message_that_is_not_a_report_has_no_report() -> None:
    parsed = message_from_bytes(sample("reply_gmail.eml"), policy=compat32)
    assert read_report(parsed) is None


def test_headers_in_encoded_words_are_decoded() -> None:
    raw = message(
        subject="=?utf-8?q?Re=3A_Caf=C3=A9_=E2=98=95?=", sender="=?utf-8?b?QWTDoQ==?= <ada@engines.example>"
    )
    mail = read_mail(raw)
    assert mail.subject == "Re: Café ☕"
    assert mail.sender == ADA


def test_a_missing_message_id_is_stood_in_for_by_a_stable_hash() -> None:
    raw = message(message_id=None)
    assert read_mail(raw).message_id is None
    assert fingerprint(raw) == fingerprint(raw)
    assert fingerprint(raw) != fingerprint(raw + b"x")


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe garbage", b"not: a\r\n\r\nmessage", b"\r\n\r\n\r\n", b"--boundary--"],
)
def test_bytes_that_are_not_a_message_are_unparseable(raw: bytes) -> None:
    assert read_mail(raw).kind == "unparseable"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    mail = read_mail(raw)
    assert mail.kind in KINDS
    assert "\x00" not in mail.subject + mail.text


# Mail-shaped noise: header lines and MIME structure with hostile values in them.
_HEADER_NAMES = st.sampled_from(
    ["From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Content-Type", "Date",
     "Auto-Submitted", "Content-Transfer-Encoding", "Return-Path", "Precedence"]
)  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "multipart/report; report-type=delivery-status; boundary=b",
            "multipart/report; report-type=feedback-report; boundary=b",
            "message/delivery-status",
            "text/plain; charset=x-unknown",
            "base64",
            "quoted-printable",
            "<>",
            "=?utf-8?b?////?=",
            "=?bogus?q?x?=",
            "<a@b> <c@d>",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, _VALUES), max_size=8),
    st.lists(
        st.one_of(st.text(max_size=60), st.sampled_from(["--b", "--b--", "Action: failed", "Status: 5.1.1"]))
    ),
)
def test_mail_shaped_noise_never_raises(headers: list[tuple[str, str]], body: list[str]) -> None:
    text = "\r\n".join(f"{name}: {value}" for name, value in headers) + "\r\n\r\n" + "\r\n".join(body)
    raw = text.encode("utf-8", "surrogatepass")
    assert read_mail(raw).kind in KINDS
