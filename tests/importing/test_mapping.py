"""Auto mapping of real exports and of plain headers, custom-field names, and --map overrides."""

from __future__ import annotations

import pytest

from leadwell.contacts.fields import clean_custom
from leadwell.contacts.importing.mapping import (
    TARGETS,
    Mapping,
    apply_overrides,
    auto_map,
    custom_name,
    header_key,
    identifies_a_person,
    looks_like_date_column,
)
from leadwell.errors import InvalidInput
from tests.importing.conftest import FIXTURES
from tests.importing.helpers import read_rows


def mapped(name: str) -> Mapping:
    headers, _ = read_rows(FIXTURES / name)
    return auto_map(headers)


def test_google_old_layout() -> None:
    mapping = mapped("google.csv")
    assert mapping.profile == "google"
    assert mapping.columns == {
        "Name": "full_name",
        "Given Name": "first_name",
        "Additional Name": "custom:additional_name",
        "Family Name": "last_name",
        "Name Prefix": "custom:name_prefix",
        "Birthday": "custom:birthday",
        "Notes": "notes",
        "Group Membership": "tags",
        "E-mail 1 - Type": "custom:e_mail_1_type",
        "E-mail 1 - Value": "email",
        "E-mail 2 - Type": "custom:e_mail_2_type",
        "E-mail 2 - Value": "email_2",
        "Phone 1 - Type": "custom:phone_1_type",
        "Phone 1 - Value": "phone",
        "Address 1 - City": "city",
        "Address 1 - Country": "country",
        "Organization 1 - Name": "company",
        "Organization 1 - Title": "title",
        "Website 1 - Value": "website",
    }


def test_google_new_layout() -> None:
    mapping = mapped("google_new.csv")
    assert mapping.profile == "google"
    expected = {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Organization Name": "company",
        "Organization Title": "title",
        "Labels": "tags",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone",
        "Website 1 - Value": "website",
        "Middle Name": "custom:middle_name",
    }
    assert {header: mapping.columns[header] for header in expected} == expected


def test_outlook() -> None:
    mapping = mapped("outlook.csv")
    assert mapping.profile == "outlook"
    expected = {
        "Title": "custom:name_prefix",  # Outlook's "Title" is Mr./Ms., not a job title
        "Job Title": "title",
        "Company": "company",
        "E-mail Address": "email",
        "E-mail 2 Address": "email_2",
        "Business Phone": "phone",
        "Mobile Phone": "phone_2",
        "Home Phone": "phone_3",
        "Business Street": "street",
        "Business City": "city",
        "Business State": "region",
        "Business Postal Code": "postal_code",
        "Business Country/Region": "country",
        "Categories": "tags",
        "Notes": "notes",
        "Web Page": "website",
    }
    assert {header: mapping.columns[header] for header in expected} == expected


def test_hubspot() -> None:
    mapping = mapped("hubspot.csv")
    assert mapping.profile == "hubspot"
    expected = {
        "Record ID": "custom:record_id",
        "Email": "email",
        "Phone Number": "phone",
        "Mobile Phone Number": "phone_2",
        "Company Name": "company",
        "Job Title": "title",
        "Lifecycle Stage": "stage",
        "Lead Status": "custom:lead_status",
        "Number of Employees": "employees",
        "Website URL": "website",
        "Industry": "industry",
        "Country/Region": "country",
        "State/Region": "region",
        "Time Zone": "timezone",
        "Original Source": "source",
        "Create Date": "custom:create_date",
    }
    assert {header: mapping.columns[header] for header in expected} == expected


def test_mautic() -> None:
    mapping = mapped("mautic.csv")
    assert mapping.profile == "mautic"
    expected = {
        "title": "custom:name_prefix",
        "firstname": "first_name",
        "lastname": "last_name",
        "email": "email",
        "phone": "phone",
        "mobile": "phone_2",
        "company": "company",
        "position": "title",
        "tags": "tags",
        "stage": "stage",
        "points": "custom:points",
        "website": "website",
    }
    assert {header: mapping.columns[header] for header in expected} == expected


def test_linkedin() -> None:
    mapping = mapped("linkedin.csv")
    assert mapping.profile == "linkedin"
    assert mapping.columns == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "URL": "custom:linkedin_url",  # a profile page, never the company's website
        "Email Address": "email",
        "Company": "company",
        "Position": "title",
        "Connected On": "custom:connected_on",
    }


def test_zoom() -> None:
    mapping = mapped("zoom_registrants.csv")
    assert mapping.profile == "zoom"
    expected = {
        "Email": "email",
        "Organization": "company",
        "Job Title": "title",
        "Country/Region": "country",
        "No of Employees": "employees",
        "Registration Time": "custom:registration_time",
        "Approval Status": "custom:approval_status",
    }
    assert {header: mapping.columns[header] for header in expected} == expected


@pytest.mark.parametrize(
    ("name", "profile"),
    [("generic_semicolon.csv", "generic"), ("tabs.tsv", "generic"), ("cp1252.csv", "generic")],
)
def test_plain_files_are_generic(name: str, profile: str) -> None:
    assert mapped(name).profile == profile


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("e_mail", "email"),
        ("EMAIL", "email"),
        ("first name", "first_name"),
        ("FirstName", "first_name"),
        ("Vorname", "first_name"),
        ("Prénom", "first_name"),
        ("Surname", "last_name"),
        ("Company Name", "company"),
        ("Organisation", "company"),
        ("# Employees", "employees"),
        ("Employees", "employees"),
        ("Company size", "employees"),
        ("Website", "website"),
        ("Mobile", "phone"),
        ("Tel", "phone"),
        ("Telephone Number", "phone"),
        ("Full Name", "full_name"),
        ("Name", "full_name"),
        ("Country", "country"),
        ("Zip", "postal_code"),
        ("Postcode", "postal_code"),
        ("State/Province", "region"),
        ("Job Title", "title"),
        ("Lead Source", "source"),
        ("Unsubscribed", "consent"),
        ("Time Zone", "timezone"),
    ],
)
def test_plain_header_spellings(header: str, target: str) -> None:
    assert auto_map(["Anything else", header]).columns[header] == target


def test_better_named_column_wins_and_slots_fill_in_order() -> None:
    columns = auto_map(
        ["Personal Email", "Email", "Work Email", "Other Email", "Home Phone", "Phone"]
    ).columns
    assert columns == {
        "Personal Email": "email_3",
        "Email": "email",
        "Work Email": "email_2",
        "Other Email": "custom:other_email",
        "Home Phone": "phone_2",
        "Phone": "phone",
    }


def test_second_column_for_a_single_field_becomes_custom() -> None:
    columns = auto_map(["Company", "Company Name"]).columns
    assert columns == {"Company": "company", "Company Name": "custom:company_name"}


def test_custom_names_are_safe_and_unique() -> None:
    columns = auto_map(["Lead Score", "lead-score", "2nd Choice", "电话", "Größe (cm)", ""]).columns
    assert list(columns.values()) == [
        "custom:lead_score",
        "custom:lead_score_2",
        "custom:col_2nd_choice",
        "custom:column_4",
        "custom:grosse_cm",
        "custom:column_6",
    ]
    clean_custom({target.removeprefix("custom:"): "x" for target in columns.values()})


def test_custom_name_is_cut_to_a_valid_length() -> None:
    name = custom_name("x" * 200)
    assert len(name) <= 64
    clean_custom({name: 1})


def test_header_key_ignores_case_accents_and_punctuation() -> None:
    assert header_key("E-mail Address") == header_key("email_address") == "emailaddress"
    assert header_key("Straße") == "strasse"


def test_date_columns_are_recognised_by_header() -> None:
    dated = ["Connected On", "Registration Time", "Create Date", "created_at", "Last Active", "Birthday"]
    plain = ["Time in Session (minutes)", "Time Zone", "Purchasing Time Frame", "Notes", "Record ID"]
    assert all(looks_like_date_column(header) for header in dated)
    assert not any(looks_like_date_column(header) for header in plain)


def test_overrides_set_ignore_and_custom() -> None:
    mapping = auto_map(["Mail Addr", "Nom complet", "Junk", "Stuff"])
    changed = apply_overrides(
        mapping, ["Mail Addr=email", "nom complet=full_name", "Junk=ignore", "Stuff=custom:my_stuff"]
    )
    assert changed.columns == {
        "Mail Addr": "email",
        "Nom complet": "full_name",
        "Junk": "ignore",
        "Stuff": "custom:my_stuff",
    }
    assert changed.profile == mapping.profile
    assert mapping.columns["Junk"] == "custom:junk"  # the original is not changed


def test_override_takes_a_field_from_the_column_that_had_it() -> None:
    mapping = apply_overrides(auto_map(["Email", "Backup Mail"]), ["Backup Mail=email"])
    assert mapping.columns == {"Email": "custom:email", "Backup Mail": "email"}


def test_shared_fields_may_come_from_several_columns() -> None:
    mapping = apply_overrides(auto_map(["Email", "Tags A", "Tags B"]), ["Tags A=tags", "Tags B=tags"])
    assert mapping.columns == {"Email": "email", "Tags A": "tags", "Tags B": "tags"}


def test_column_names_with_equals_signs_split_on_the_last_one() -> None:
    mapping = apply_overrides(auto_map(["a=b", "Email"]), ["a=b=notes"])
    assert mapping.columns["a=b"] == "notes"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("Email", "not of the form 'Column=field'"),
        ("=email", "not of the form"),
        ("Email=", "not of the form"),
        ("Nope=email", "no column named 'Nope'"),
        ("Email=e-mail", "'e-mail' is not a field"),
        ("Email=custom:has space", "custom field name"),
    ],
)
def test_bad_overrides_name_map_and_the_culprit(override: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        apply_overrides(auto_map(["Email", "Name"]), [override])
    assert caught.value.field == "--map"
    assert "--map" in caught.value.detail


def test_one_field_for_two_columns_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'email' is given to both 'A' and 'B'"):
        apply_overrides(auto_map(["A", "B"]), ["A=email", "B=email"])


def test_identifies_a_person() -> None:
    assert identifies_a_person(auto_map(["Phone", "Notes"]))
    assert identifies_a_person(auto_map(["Last Name"]))
    assert not identifies_a_person(auto_map(["Company", "Website", "Notes"]))
    assert not identifies_a_person(apply_overrides(auto_map(["Email"]), ["Email=ignore"]))


def test_targets_cover_the_documented_fields() -> None:
    documented = (
        "first_name last_name full_name email email_2 email_3 phone phone_2 phone_3 title company website "
        "employees industry company_country street city region postal_code country timezone source consent "
        "stage tags notes ignore"
    )
    assert set(TARGETS) == set(documented.split())
