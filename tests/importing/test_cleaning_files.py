"""Cleaning organizations (website, size, free mail) and whole export files end to end."""

from __future__ import annotations

import pytest

from leadwell.contacts.importing.vocabulary import FREE_MAIL_DOMAINS, is_free_mail
from tests.importing.conftest import FIXTURES
from tests.importing.helpers import clean_file, clean_one, reasons


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("www.acme.co.uk", "acme.co.uk"),
        ("acme.io", "acme.io"),
    ],
)
def test_website_becomes_the_organization_domain(website: str, domain: str) -> None:
    row = clean_one({"Email": "jane@gmail.com", "Company": "Acme", "Website": website})
    assert row.organization is not None
    assert row.organization["domain"] == domain


@pytest.mark.parametrize(
    ("website", "reason"),
    [
        ("not a site", "the website is not a website address"),
        (
            "https://www.linkedin.com/company/acme",
            "the website is a public site, not the company's own domain",
        ),
        ("gmail.com", "the website is a public site, not the company's own domain"),
    ],
)
def test_unusable_website_is_a_warning(website: str, reason: str) -> None:
    row = clean_one({"Email": "jane@acme.com", "Website": website})
    assert reasons(row) == [("Website", "warning", reason)]
    assert row.organization is not None
    assert row.organization["domain"] == "acme.com"  # the email's domain is used instead


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1,200", (1200, 1200, 1200)),
        ("1.2k", (1200, 1200, 1200)),
        ("3M", (3_000_000, 3_000_000, 3_000_000)),
        ("1.200", (1200, 1200, 1200)),
        ("100-250", (None, 100, 250)),
        ("100 – 250", (None, 100, 250)),
        ("100 to 250", (None, 100, 250)),
        ("500+", (None, 500, None)),
        ("10,001+", (None, 10001, None)),
    ],
)
def test_company_size(size: str, expected: tuple[int | None, int | None, int | None]) -> None:
    row = clean_one({"Email": "x@acme.com", "Company": "Acme", "Employees": size})
    assert row.organization is not None
    organization = row.organization
    assert (
        organization["employees"],
        organization["employees_min"],
        organization["employees_max"],
    ) == expected


def test_bad_company_size_is_a_warning() -> None:
    row = clean_one({"Email": "x@acme.com", "Company": "Acme", "Employees": "lots"})
    assert row.organization is not None
    assert row.organization["employees"] is None
    assert reasons(row) == [
        ("Employees", "warning", "not a number of employees (such as 250, 100-250, 500+)")
    ]


def test_organization_fields() -> None:
    row = clean_one(
        {
            "Email": "x@gmail.com",
            "Company": "  Acme   Inc ",
            "Industry": "Software",
            "Company Country": "Deutschland",
            "Company Size": "51-200",
        }
    )
    assert row.organization == {
        "name": "Acme Inc",
        "domain": None,
        "employees": None,
        "employees_min": 51,
        "employees_max": 200,
        "industry": "Software",
        "country": "DE",
    }


def test_organization_from_a_business_email_alone() -> None:
    row = clean_one({"Email": "jane@initech.io"})
    assert row.organization is not None
    assert (row.organization["name"], row.organization["domain"]) == (None, "initech.io")


@pytest.mark.parametrize(
    "address", ["jane@gmail.com", "jane@yahoo.co.uk", "jane@yahoo.com.mx", "jane@hotmail.be", "jane@web.de"]
)
def test_free_mail_never_makes_an_organization(address: str) -> None:
    row = clean_one({"Email": address, "Employees": "50"})
    assert row.organization is None
    assert reasons(row) == [
        ("Employees", "warning", "company details without a company name or website: left out")
    ]


def test_a_business_address_after_a_free_one_gives_the_domain() -> None:
    row = clean_one({"Email": "jane@gmail.com", "Work Email": "jane@acme.com", "Company": "Acme"})
    assert row.organization is not None
    assert row.organization["domain"] == "acme.com"


def test_free_mail_list() -> None:
    assert {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "icloud.com",
        "proton.me",
        "qq.com",
    } <= FREE_MAIL_DOMAINS
    assert is_free_mail("yahoo.fr") and is_free_mail("gmx.ch") and is_free_mail("yandex.kz")
    assert not is_free_mail("outlook.acme.com") and not is_free_mail("acme.com")


def test_quoted_newline_file_rejections_name_their_lines() -> None:
    _, rows = clean_file(FIXTURES / "quoted_newlines.csv")
    rejected = [(row.line, [issue.reason for issue in row.issues]) for row in rows if row.rejected]
    assert rejected == [
        (4, ["no email, phone or name identifies a person"]),
        (8, ["not a valid email address: An email address must have an @-sign.",
             "no email, phone or name identifies a person"]),
    ]  # fmt: skip


def test_linkedin_file() -> None:
    _, rows = clean_file(FIXTURES / "linkedin.csv")
    jane, john, ghost = rows
    assert jane.contact == {
        "first_name": "Jane",
        "last_name": "Doe",
        "emails": ["jane@acme.com"],
        "title": "Head of Growth",
        "custom": {"linkedin_url": "https://www.linkedin.com/in/janedoe", "connected_on": "2024-05-31"},
    }
    assert jane.organization is not None and jane.organization["domain"] == "acme.com"
    assert john.organization is not None and john.organization == {
        "name": "Globex", "domain": None, "employees": None, "employees_min": None, "employees_max": None,
        "industry": None, "country": None,
    }  # fmt: skip
    assert (ghost.line, ghost.rejected) == (7, True)


def test_zoom_file() -> None:
    _, rows = clean_file(FIXTURES / "zoom_registrants.csv")
    amy, raj, kim = rows
    assert amy.contact["phones"] == ["+16505550199"]
    assert amy.contact["custom"]["registration_time"] == "2024-05-28T10:15:22"
    assert raj.contact["custom"]["registration_time"] == "2024-06-01T20:00:00"  # month first, learnt above
    assert raj.organization is not None and (
        raj.organization["employees_min"],
        raj.organization["employees_max"],
    ) == (1, 20)
    assert (kim.line, kim.rejected, reasons(kim)) == (
        10,
        False,
        [("Email", "warning", "not a valid email address: An email address must have an @-sign.")],
    )


def test_hubspot_file() -> None:
    _, rows = clean_file(FIXTURES / "hubspot.csv")
    ann, bo, nobody = rows
    assert ann.contact["emails"] == ["ann.lee@initech.io"]
    assert ann.contact["stage"] == "mql" and ann.contact["timezone"] == "America/Chicago"
    assert ann.organization is not None and ann.organization["employees"] == 1200
    assert bo.contact["phones"] == ["+447700900123"] and bo.contact["timezone"] == "Europe/London"
    assert nobody.rejected and nobody.line == 4


def test_outlook_file() -> None:
    _, rows = clean_file(FIXTURES / "outlook.csv")
    hans, sarah = rows
    assert (hans.contact["first_name"], hans.contact["last_name"]) == ("Hans", "Müller")
    assert hans.contact["phones"] == ["+4989123456", "+491712345678"]
    assert hans.contact["custom"]["name_prefix"] == "Mr."
    assert (sarah.contact["first_name"], sarah.contact["last_name"]) == ("Sarah", "O'Connor")
    assert sarah.contact["emails"] == ["sarah.oconnor@contoso.ie", "s.oconnor@outlook.com"]


def test_generic_semicolon_file_uses_european_numbers_and_the_row_country() -> None:
    _, rows = clean_file(FIXTURES / "generic_semicolon.csv")
    juergen, anna = rows
    assert juergen.contact["phones"] == ["+49301234567"]
    assert juergen.organization is not None and juergen.organization["employees"] == 1200
    assert anna.contact["phones"] == ["+436641234567"] and anna.organization is None


def test_google_file_labels_and_notes() -> None:
    _, rows = clean_file(FIXTURES / "google.csv")
    jane = rows[0]
    assert jane.contact["tags"] == ["Conference"]
    assert jane.contact["custom"]["notes"] == "Met at SaaStr"
    assert jane.contact["emails"] == ["jane.doe@acme.com", "jane.doe@gmail.com"]
