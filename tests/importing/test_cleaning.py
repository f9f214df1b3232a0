"""Cleaning rows: every rule with exact values, issues naming their column, rejections with lines."""

from __future__ import annotations

from typing import Any

import pytest

from leadwell.contacts.fields import clean_custom
from leadwell.contacts.importing.cleaning import Issue, RowCleaner
from leadwell.contacts.importing.mapping import apply_overrides, auto_map
from leadwell.errors import InvalidInput
from tests.importing.helpers import clean_one, reasons


def test_emails_are_normalised_split_and_deduplicated() -> None:
    row = clean_one(
        {
            "Email": "Jane.Doe@Example.COM; jane@other.org, JANE.DOE@example.com",
            "Email 2": "Jane Doe <jane.d@third.net>",
            "Email 3": "mailto:jd@fourth.io",
        }
    )
    assert row.contact["emails"] == [
        "jane.doe@example.com",
        "jane@other.org",
        "jane.d@third.net",
        "jd@fourth.io",
    ]
    assert row.issues == []


def test_google_multi_value_cells_split_on_triple_colon() -> None:
    row = clean_one({"E-mail 1 - Value": "a@example.com ::: b@example.com"})
    assert row.contact["emails"] == ["a@example.com", "b@example.com"]


def test_invalid_email_is_a_warning_and_dropped() -> None:
    row = clean_one({"Email": "jane at example.com", "Name": "Jane Doe"})
    assert "emails" not in row.contact
    assert not row.rejected
    assert row.issues == [
        Issue(2, "Email", "warning", "not a valid email address: An email address must have an @-sign.",
              "jane at example.com")
    ]  # fmt: skip


def test_one_bad_address_among_good_ones() -> None:
    row = clean_one({"Email": "good@example.com; bad@@example.com"})
    assert row.contact["emails"] == ["good@example.com"]
    assert [(issue.column, issue.value) for issue in row.issues] == [("Email", "bad@@example.com")]


@pytest.mark.parametrize(
    ("columns", "region", "phones"),
    [
        ({"Phone": "+1 (415) 555-0132"}, None, ["+14155550132"]),
        ({"Phone": "030 1234567", "Country": "Germany"}, None, ["+49301234567"]),
        ({"Phone": "030 1234567"}, "DE", ["+49301234567"]),
        ({"Phone": "(415) 555-0132", "Country": "USA"}, "DE", ["+14155550132"]),
        ({"Phone": "+49 30 1234567; +33 1 42 68 53 00"}, None, ["+49301234567", "+33142685300"]),
        ({"Phone": "0049 30 1234567", "Mobile": "+49 30 1234567"}, None, ["+49301234567"]),
    ],
)
def test_phones_become_e164(columns: dict[str, str], region: str | None, phones: list[str]) -> None:
    row = clean_one({"Name": "Pat Doe", **columns}, default_region=region)
    assert row.contact["phones"] == phones
    assert row.issues == []


@pytest.mark.parametrize("text", ["+1 415 555 0132 ext. 12", "+1 415 555 0132 x12", "+1 415 555 0132 #12"])
def test_phone_extension_is_dropped_with_a_warning(text: str) -> None:
    row = clean_one({"Name": "Pat Doe", "Phone": text})
    assert row.contact["phones"] == ["+14155550132"]
    assert reasons(row) == [("Phone", "warning", "extension 12 dropped")]


def test_invalid_phone_is_a_warning_and_dropped() -> None:
    row = clean_one({"Name": "Pat Doe", "Phone": "+1 12", "Mobile": "030 1234567"})
    assert "phones" not in row.contact
    assert reasons(row) == [
        ("Phone", "warning", "not a phone number"),
        ("Mobile", "warning", "not a phone number (start it with +<country code>)"),
    ]


@pytest.mark.parametrize(
    ("columns", "first", "last"),
    [
        ({"First Name": "  Jane  ", "Last Name": "Doe   Smith"}, "Jane", "Doe Smith"),
        ({"Full Name": "Smith, John"}, "John", "Smith"),
        ({"Full Name": "Dr. Jane van der Berg"}, "Jane", "van der Berg"),
        ({"Name": "JOHN MCDONALD"}, "John", "McDonald"),
        ({"First Name": "PATRICK", "Last Name": "o'brien"}, "Patrick", "O'Brien"),
        ({"First Name": "DeShawn", "Last Name": "MacLeod"}, "DeShawn", "MacLeod"),
        ({"First Name": "Ann", "Full Name": "Somebody Else"}, "Ann", None),
    ],
)
def test_names(columns: dict[str, str], first: str, last: str | None) -> None:
    row = clean_one({"Email": "x@example.com", **columns})
    assert row.contact.get("first_name") == first
    assert row.contact.get("last_name") == last


def test_long_values_are_cut_with_a_warning() -> None:
    row = clean_one({"Email": "x@example.com", "First Name": "Ab" * 65, "Job Title": "t" * 250})
    assert row.contact["first_name"] == "Ab" * 60
    assert row.contact["title"] == "t" * 200
    assert [issue.column for issue in row.issues] == ["First Name", "Job Title"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("United States", "US"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Netherlands", "NL"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("Österreich", "AT"),
        ("España", "ES"),
        ("Korea, Republic of", "KR"),
        ("Côte d'Ivoire", "CI"),
        ("St. Lucia", "LC"),
        ("中国", "CN"),
    ],
)
def test_countries_become_iso_codes(text: str, code: str) -> None:
    row = clean_one({"Email": "x@example.com", "Country": text})
    assert row.contact["country"] == code
    assert row.issues == []


def test_unknown_country_is_a_warning() -> None:
    row = clean_one({"Email": "x@example.com", "Country": "Narnia"})
    assert "country" not in row.contact
    assert reasons(row) == [("Country", "warning", "not a country name or code this importer knows")]


def test_dates_in_custom_columns_become_iso() -> None:
    cleaner = RowCleaner(auto_map(["Email", "Connected On", "Registration Time", "Favourite"]))
    row = cleaner.clean(2, ["a@x.com", "31 May 2024", "2024-05-31 14:05:00", "31/05/2024"])
    assert row.contact["custom"] == {
        "connected_on": "2024-05-31",
        "registration_time": "2024-05-31T14:05:00",
        "favourite": "31/05/2024",  # not a date column: kept as written
    }


def test_day_month_order_is_learnt_per_column() -> None:
    cleaner = RowCleaner(auto_map(["Email", "Signed Up", "Last Seen"]))
    first = cleaner.clean(2, ["a@x.com", "31/05/2024", "05/31/2024"])
    second = cleaner.clean(3, ["b@x.com", "03/04/2024", "03/04/2024"])
    assert first.contact["custom"] == {"signed_up": "2024-05-31", "last_seen": "2024-05-31"}
    assert second.contact["custom"] == {"signed_up": "2024-04-03", "last_seen": "2024-03-04"}
    assert second.issues == []


def test_ambiguous_dates_are_warned_and_read_by_region() -> None:
    europe = RowCleaner(auto_map(["Email", "Signed Up"]), default_region="FR").clean(
        2, ["a@x.com", "03/04/2024"]
    )
    america = RowCleaner(auto_map(["Email", "Signed Up"]), default_region="US").clean(
        2, ["a@x.com", "03/04/2024"]
    )
    assert europe.contact["custom"]["signed_up"] == "2024-04-03"
    assert america.contact["custom"]["signed_up"] == "2024-03-04"
    assert reasons(europe) == [("Signed Up", "warning", "could be day/month or month/day: read as day/month")]
    assert reasons(america) == [
        ("Signed Up", "warning", "could be day/month or month/day: read as month/day")
    ]


def test_unreadable_date_is_kept_with_a_warning() -> None:
    row = clean_one({"Email": "a@x.com", "Birthday": "--03-12"})
    assert row.contact["custom"] == {"birthday": "--03-12"}
    assert reasons(row) == [("Birthday", "warning", "not a date this importer reads: kept as written")]


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("Lead", "lead"),
        ("Marketing Qualified Lead", "mql"),
        ("MQL", "mql"),
        ("Sales Qualified Lead", "sql"),
        ("Customer", "customer"),
        ("subscriber", "subscriber"),
        ("Opportunity", "opportunity"),
        ("marketingqualifiedlead", "mql"),
    ],
)
def test_stages(text: str, stage: str) -> None:
    assert clean_one({"Email": "a@x.com", "Lifecycle Stage": text}).contact["stage"] == stage


def test_unknown_stage_is_a_warning() -> None:
    row = clean_one({"Email": "a@x.com", "Stage": "Boss"})
    assert "stage" not in row.contact
    assert [issue.column for issue in row.issues] == ["Stage"]


@pytest.mark.parametrize(
    ("header", "text", "consent"),
    [
        ("Consent", "yes", "opted_in"),
        ("Consent", "TRUE", "opted_in"),
        ("Consent", "1", "opted_in"),
        ("Consent", "Opted in", "opted_in"),
        ("Consent", "no", "opted_out"),
        ("Consent", "unsubscribed", "opted_out"),
        ("Consent", "opted out", "opted_out"),
        ("Unsubscribed", "true", "opted_out"),
        ("Unsubscribed", "false", None),  # not unsubscribed says nothing about consent
        ("Do not email", "yes", "opted_out"),
        ("Consent", "unknown", None),
    ],
)
def test_consent(header: str, text: str, consent: str | None) -> None:
    row = clean_one({"Email": "a@x.com", header: text})
    assert row.contact.get("consent") == consent
    assert row.issues == []


def test_unknown_consent_is_a_warning() -> None:
    row = clean_one({"Email": "a@x.com", "Consent": "maybe"})
    assert reasons(row) == [("Consent", "warning", "not a consent answer (yes/no, opted in/opted out)")]


def test_tags_split_and_deduplicate() -> None:
    cleaner = RowCleaner(apply_overrides(auto_map(["Email", "Tags", "Labels 2"]), ["Labels 2=tags"]))
    row = cleaner.clean(2, ["a@x.com", "vip, webinar;ebook|VIP", "* myContacts ::: * starred ::: Webinar"])
    assert row.contact["tags"] == ["vip", "webinar", "ebook", "starred"]


def test_overlong_tag_is_a_warning() -> None:
    row = clean_one({"Email": "a@x.com", "Tags": "ok, " + "t" * 61})
    assert row.contact["tags"] == ["ok"]
    assert reasons(row) == [("Tags", "warning", "a tag has at most 60 characters: left out")]


def test_timezones() -> None:
    assert clean_one({"Email": "a@x.com", "Time Zone": "Europe/Paris"}).contact["timezone"] == "Europe/Paris"
    hubspot = clean_one({"Email": "a@x.com", "Time Zone": "america_slash_new_york"})
    assert hubspot.contact["timezone"] == "America/New_York"
    bad = clean_one({"Email": "a@x.com", "Time Zone": "Mars/Base"})
    assert "timezone" not in bad.contact and len(bad.issues) == 1


def test_plain_text_fields_and_notes() -> None:
    row = clean_one(
        {
            "Email": "a@x.com",
            "Job Title": " Head  of   Growth ",
            "Street": "1 Main St",
            "City": "Dublin",
            "State": "Leinster",
            "Zip": "D02 XY45",
            "Lead Source": "Webinar",
            "Notes": "Met at\nthe fair",
        }
    )
    contact = row.contact
    assert (contact["title"], contact["street"], contact["city"], contact["region"]) == (
        "Head of Growth",
        "1 Main St",
        "Dublin",
        "Leinster",
    )
    assert (contact["postal_code"], contact["source"]) == ("D02 XY45", "Webinar")
    assert contact["custom"] == {"notes": "Met at\nthe fair"}


def test_placeholders_count_as_empty() -> None:
    row = clean_one({"Email": "a@x.com", "Phone": "N/A", "Country": "-", "City": "none", "Company": "n/a"})
    assert row.contact == {"emails": ["a@x.com"]}
    assert row.issues == []


def test_custom_fields_keep_text_and_skip_blanks() -> None:
    row = clean_one({"Email": "a@x.com", "Lead Score": " 42 ", "Colour": "", "Ignored": "x"})
    assert row.contact["custom"] == {"lead_score": "42", "ignored": "x"}
    clean_custom(row.contact["custom"])


def test_ignored_columns_are_left_out() -> None:
    mapping = apply_overrides(auto_map(["Email", "Secret"]), ["Secret=ignore"])
    assert "custom" not in RowCleaner(mapping).clean(2, ["a@x.com", "hunter2"]).contact


def test_more_than_a_hundred_custom_fields_are_cut() -> None:
    headers = ["Email"] + [f"Field {n}" for n in range(105)]
    row = RowCleaner(auto_map(headers)).clean(2, ["a@x.com"] + ["v"] * 105)
    assert len(row.contact["custom"]) == 100
    assert reasons(row) == [(None, "warning", "more than 100 custom fields: the rest left out")]


def test_row_without_email_phone_or_name_is_rejected() -> None:
    row = RowCleaner(auto_map(["Email", "Company"])).clean(17, ["nobody", "Acme"])
    assert row.rejected
    assert row.issues[-1] == Issue(17, None, "rejected", "no email, phone or name identifies a person", None)


@pytest.mark.parametrize(
    "columns",
    [{"Email": "a@x.com"}, {"Phone": "+14155550132"}, {"First Name": "Ann"}, {"Last Name": "Lee"}],
)
def test_any_one_identifier_keeps_a_row(columns: dict[str, str]) -> None:
    assert not clean_one(columns).rejected


def test_clean_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    cleaner = RowCleaner(auto_map(["Email", "Name"]))

    def explode(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cleaner, "_names", explode)
    row = cleaner.clean(5, ["a@x.com", "Ann"])
    assert row.rejected
    assert row.issues == [
        Issue(5, None, "rejected", "this row could not be cleaned (RuntimeError: boom)", None)
    ]


def test_default_region_must_be_a_country() -> None:
    assert RowCleaner(auto_map(["Email"]), "Germany").default_region == "DE"
    with pytest.raises(InvalidInput, match="default_region: 'Atlantis' is not a country"):
        RowCleaner(auto_map(["Email"]), "Atlantis")
