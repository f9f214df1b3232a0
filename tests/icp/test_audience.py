"""Audience export: targeting specs for Meta and LinkedIn, customer-list normalisation and hashing."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadwell.errors import InvalidInput
from leadwell.icp.audience import (
    LINKEDIN_COLUMNS,
    META_COLUMNS,
    NOTES,
    customer_list_rows,
    linkedin_list_rows,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_state,
    normalize_zip,
    sha256_hex,
    targeting_spec,
    write_customer_list,
)

# Digests computed once outside the code under test (sha256sum of the literal bytes) and pasted here.
SHA_TEST_EMAIL = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"  # test@example.com
SHA_US_PHONE = "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a"  # 14155550123
SHA_JOSE = "d994e1d001886fe5b45b1267bd1fa2b752ac50742579bd3dad7b2a2aa0ed6866"  # josé (UTF-8)
SHA_SAN_DIEGO = "4fb5ca3b980f7bc3ec7a71345c4e025aa55c604e8faca407614ca648e8a35331"  # sandiego


def digest(text: str) -> str:
    """The expected digest, computed here independently of the module under test."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- hashing ------------------------------------------------------------------------------------------


def test_sha256_hex_matches_pasted_digests() -> None:
    assert sha256_hex("test@example.com") == SHA_TEST_EMAIL
    assert sha256_hex("14155550123") == SHA_US_PHONE
    assert sha256_hex("josé") == SHA_JOSE
    assert sha256_hex("sandiego") == SHA_SAN_DIEGO


def test_the_pasted_digests_agree_with_hashlib() -> None:
    assert digest("test@example.com") == SHA_TEST_EMAIL
    assert digest("josé") == SHA_JOSE


def test_normalized_values_hash_to_the_pasted_digests() -> None:
    assert sha256_hex(normalize_email("  Test@Example.COM ")) == SHA_TEST_EMAIL
    assert sha256_hex(normalize_phone("+1 (415) 555-0123")) == SHA_US_PHONE
    assert sha256_hex(normalize_name("JOSÉ")) == SHA_JOSE
    assert sha256_hex(normalize_city(" San Diego ")) == SHA_SAN_DIEGO


# --- normalisers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("test@example.com", "test@example.com"),
        ("  Test@Example.COM \t", "test@example.com"),
        ("Jane.Doe+News@Sub.Example.CO.UK", "jane.doe+news@sub.example.co.uk"),
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_normalize_email(raw: str | None, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["not-an-email", "jane doe@example.com", "@example.com", "jane@localhost"])
def test_normalize_email_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+14155550123", None, "14155550123"),
        ("+1 (415) 555-0123", None, "14155550123"),
        ("+1 (415) 555-0123", "GB", "14155550123"),  # a + number ignores the region
        ("(415) 555-0123", "US", "14155550123"),
        ("415.555.0123", "us", "14155550123"),
        ("0044 20 7946 0958", "GB", "442079460958"),
        ("0044 20 7946 0958", None, "442079460958"),
        ("011 44 20 7946 0958", "US", "442079460958"),
        ("020 7946 0958", "GB", "442079460958"),  # national trunk prefix 0 dropped
        ("+44 (0)20 7946 0958", None, "442079460958"),
        ("06 12 34 56 78", "FR", "33612345678"),
        ("", "US", ""),
        (None, None, ""),
    ],
)
def test_normalize_phone(raw: str | None, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [("(415) 555-0123", None), ("4155550123", None), ("12", "US"), ("call me", "US")],
)
def test_normalize_phone_rejects_numbers_without_a_country_code(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, region)
    assert caught.value.field == "phone"


def test_normalize_phone_rejects_an_unknown_region() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone("415 555 0123", "XX")
    assert caught.value.field == "default_region"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John ", "john"),
        ("JOHN", "john"),
        ("O'Brien", "obrien"),
        ("Mary-Jane", "maryjane"),
        ("van der Berg", "vanderberg"),
        ("F.", "f"),
        ("José", "josé"),
        ("Jose\u0301", "josé"),  # decomposed accent: composed (NFC) before hashing
        ("ÉMILIE", "émilie"),
        ("Nuñez, Jr.", "nuñezjr"),
        ("", ""),
        (" .- ", ""),
        (None, ""),
    ],
)
def test_normalize_name(raw: str | None, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_decomposed_and_composed_names_hash_alike() -> None:
    assert sha256_hex(normalize_name("Jose\u0301")) == sha256_hex(normalize_name("José")) == SHA_JOSE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("San Diego", "sandiego"),
        ("  NEW   YORK ", "newyork"),
        ("St. Louis", "stlouis"),
        ("Winston-Salem", "winstonsalem"),
        ("São Paulo", "saopaulo"),
        ("Zürich", "zurich"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_city(raw: str | None, expected: str) -> None:
    assert normalize_city(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("California", "US", "ca"),
        ("CA", "US", "ca"),
        ("ca", "us", "ca"),
        (" N.Y. ", "US", "ny"),
        ("new york", "US", "ny"),
        ("NEW HAMPSHIRE", "US", "nh"),
        ("District of Columbia", "US", "dc"),
        ("Washington, D.C.", "US", "dc"),
        ("Washington", "US", "wa"),
        ("Puerto Rico", "US", "pr"),
        ("Ontario", "CA", "ontario"),
        ("ON", "CA", "on"),
        ("Île-de-France", "FR", "iledefrance"),
        ("Baden-Württemberg", "DE", "badenwurttemberg"),
        ("California", None, "california"),  # without a country the generic rule applies
        ("", "US", ""),
        (None, "US", ""),
    ],
)
def test_normalize_state(raw: str | None, country: str | None, expected: str) -> None:
    assert normalize_state(raw, country) == expected


@pytest.mark.parametrize("raw", ["Narnia", "ZZ", "Ontario"])
def test_normalize_state_rejects_what_is_not_a_us_state(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_state(raw, "US")
    assert caught.value.field == "st"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94103", "US", "94103"),
        ("94103-1234", "US", "94103"),
        ("941031234", "US", "94103"),
        (" 94103 1234 ", "us", "94103"),
        ("02134", "US", "02134"),
        ("SW1A 1AA", "GB", "sw1a1aa"),
        ("m1 1ae", "GB", "m11ae"),
        ("EC1A 1BB", "UK", "ec1a1bb"),
        ("K1A 0B1", "CA", "k1a0b1"),
        ("75018", "FR", "75018"),
        ("100-0001", "JP", "1000001"),
        ("00-950", "PL", "00950"),
        ("94103-1234", None, "941031234"),  # without a country the generic rule applies
        ("", "US", ""),
        (None, "GB", ""),
    ],
)
def test_normalize_zip(raw: str | None, country: str | None, expected: str) -> None:
    assert normalize_zip(raw, country) == expected


@pytest.mark.parametrize("raw", ["9410", "94103-12", "ABCDE", "SW1A 1AA"])
def test_normalize_zip_rejects_what_is_not_a_us_zip(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_zip(raw, "US")
    assert caught.value.field == "zip"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("US", "us"), (" gb ", "gb"), ("UK", "gb"), ("de", "de"), ("", ""), (None, "")],
)
def test_normalize_country(raw: str | None, expected: str) -> None:
    assert normalize_country(raw) == expected


@pytest.mark.parametrize("raw", ["USA", "United States", "XX", "U"])
def test_normalize_country_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_country(raw)
    assert caught.value.field == "country"


# --- Meta customer list -------------------------------------------------------------------------------

CONTACT: dict[str, Any] = {
    "emails": ["  Test@Example.COM", "second@example.com"],
    "phones": ["+1 (415) 555-0123", "+14155550199"],
    "first_name": "José",
    "last_name": "O'Brien",
    "city": "San Diego",
    "region": "California",
    "postal_code": "92101-1234",
    "country": "US",
}


def test_customer_list_row_hashes_every_normalized_value() -> None:
    rows = list(customer_list_rows([CONTACT], None))
    assert rows == [
        {
            "email": SHA_TEST_EMAIL,
            "phone": SHA_US_PHONE,
            "fn": SHA_JOSE,
            "ln": digest("obrien"),
            "ct": SHA_SAN_DIEGO,
            "st": digest("ca"),
            "zip": digest("92101"),
            "country": digest("us"),
        }
    ]
    assert list(rows[0]) == list(META_COLUMNS) == ["email", "phone", "fn", "ln", "ct", "st", "zip", "country"]


def test_empty_values_give_empty_cells_not_the_hash_of_nothing() -> None:
    contact = {"emails": ["jane@example.com"], "phones": [], "first_name": " ", "city": None}
    (row,) = customer_list_rows([contact], None)
    assert row == {
        "email": digest("jane@example.com"),
        "phone": "",
        "fn": "",
        "ln": "",
        "ct": "",
        "st": "",
        "zip": "",
        "country": "",
    }
    assert sha256_hex("") not in row.values()


def test_rejected_values_leave_cells_empty_and_are_reported() -> None:
    contact = {
        "emails": ["not an email", "jane@example.com"],
        "phones": ["555-0123"],
        "region": "Narnia",
        "postal_code": "ABC",
        "country": "US",
    }
    issues: list[InvalidInput] = []
    (row,) = customer_list_rows([contact], None, issues=issues)
    assert row["email"] == digest("jane@example.com")
    assert (row["phone"], row["st"], row["zip"]) == ("", "", "")
    assert [issue.field for issue in issues] == [
        "contacts[0].emails[0]",
        "contacts[0].phones[0]",
        "contacts[0].region",
        "contacts[0].postal_code",
    ]


def test_default_region_completes_phones_and_locates_contacts_without_a_country() -> None:
    contact = {"phones": ["(415) 555-0123"], "region": "New York", "postal_code": "10001-0001"}
    (row,) = customer_list_rows([contact], "US")
    assert row["phone"] == SHA_US_PHONE
    assert row["st"] == digest("ny")
    assert row["zip"] == digest("10001")
    assert row["country"] == ""  # the country column only carries what the contact says


def test_contacts_without_email_phone_or_full_name_are_left_out() -> None:
    contacts: list[dict[str, Any]] = [
        {"first_name": "Ann", "last_name": "Lee"},
        {"first_name": "Ann", "city": "Paris", "country": "FR"},
        {"emails": ["bob@example.com"]},
    ]
    issues: list[InvalidInput] = []
    rows = list(customer_list_rows(contacts, None, issues=issues))
    assert [(row["fn"], row["email"]) for row in rows] == [
        (digest("ann"), ""),
        ("", digest("bob@example.com")),
    ]
    assert [issue.field for issue in issues] == ["contacts[1]"]


def test_a_bad_default_region_is_rejected_before_any_row() -> None:
    with pytest.raises(InvalidInput) as caught:
        customer_list_rows([CONTACT], "Mars")
    assert caught.value.field == "default_region"


# --- LinkedIn contact list ----------------------------------------------------------------------------


def test_linkedin_rows_hash_only_the_email() -> None:
    contact = {
        **CONTACT,
        "first_name": "  José ",
        "title": "Head of Marketing",
        "company": "Acme Corp",
        "country": "us",
    }
    (row,) = linkedin_list_rows([contact])
    assert row == {
        "email": SHA_TEST_EMAIL,
        "firstname": "José",
        "lastname": "O'Brien",
        "jobtitle": "Head of Marketing",
        "employeecompany": "Acme Corp",
        "country": "US",
        "googleaid": "",
    }
    assert list(row) == list(LINKEDIN_COLUMNS)


def test_linkedin_rows_cut_text_to_linkedins_lengths_and_skip_unmatchable_contacts() -> None:
    contacts: list[dict[str, Any]] = [
        {"first_name": "A" * 40, "last_name": "B", "title": "T" * 60, "company": "C" * 55},
        {"first_name": "Solo", "country": "DE"},
    ]
    issues: list[InvalidInput] = []
    rows = list(linkedin_list_rows(contacts, issues=issues))
    assert len(rows) == 1
    assert (rows[0]["firstname"], rows[0]["jobtitle"], rows[0]["employeecompany"]) == (
        "A" * 35,
        "T" * 50,
        "C" * 50,
    )
    assert rows[0]["email"] == ""
    assert [issue.field for issue in issues] == ["contacts[1]"]


# --- writing ------------------------------------------------------------------------------------------


def test_write_customer_list_writes_utf8_csv_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    count = write_customer_list(path, customer_list_rows([CONTACT], None))
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    assert count == 1
    assert lines[0] == "email,phone,fn,ln,ct,st,zip,country"
    assert lines[1].split(",")[:2] == [SHA_TEST_EMAIL, SHA_US_PHONE]
    assert lines[2:] == [""]


def test_write_customer_list_with_linkedin_columns(tmp_path: Path) -> None:
    path = tmp_path / "linkedin.csv"
    contact = {"emails": ["test@example.com"], "first_name": "Zoë", "last_name": "Ng", "company": "A, B & C"}
    count = write_customer_list(path, linkedin_list_rows([contact]), LINKEDIN_COLUMNS)
    assert count == 1
    assert path.read_bytes().decode("utf-8") == (
        "email,firstname,lastname,jobtitle,employeecompany,country,googleaid\r\n"
        f'{SHA_TEST_EMAIL},Zoë,Ng,,"A, B & C",,\r\n'
    )


def test_write_customer_list_with_no_rows_writes_the_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    assert write_customer_list(path, []) == 0
    assert path.read_bytes().decode("utf-8") == "email,phone,fn,ln,ct,st,zip,country\r\n"


# --- targeting specs ----------------------------------------------------------------------------------

AVATAR: dict[str, Any] = {
    "roles": ["Head of Marketing", " CMO ", "CMO"],
    "industries": ["Software"],
    "company_sizes": ["11-50", "100-250"],
    "locations": ["US", "San Diego, US", "uk"],
    "age_min": 16,
    "age_max": 70,
    "interests": ["B2B marketing"],
    "pains": ["too few qualified leads"],
    "goals": ["predictable pipeline"],
    "objections": ["no time"],
    "channels": ["LinkedIn", "podcasts"],
}


def test_meta_spec() -> None:
    assert targeting_spec(AVATAR, "meta") == {
        "platform": "meta",
        "note": NOTES["meta"],
        "geo_locations": {"countries": ["US", "GB"], "cities": [{"name": "San Diego", "country": "US"}]},
        "age_min": 18,
        "age_max": 65,
        "interests": [{"name": "B2B marketing"}],
        "work_positions": [{"name": "Head of Marketing"}, {"name": "CMO"}],
        "industries": [{"name": "Software"}],
        "adjustments": [
            "age_min: 16 became 18 (Meta targets ages 18 to 65+)",
            "age_max: 70 became 65 (Meta targets ages 18 to 65+)",
            "company_sizes: left out (Meta has no company-size targeting)",
        ],
    }


def test_linkedin_spec() -> None:
    assert targeting_spec({**AVATAR, "age_min": 30, "age_max": 60}, "linkedin") == {
        "platform": "linkedin",
        "note": NOTES["linkedin"],
        "locations": [{"country": "US"}, {"country": "GB"}, {"name": "San Diego", "country": "US"}],
        "jobTitles": ["Head of Marketing", "CMO"],
        "industries": ["Software"],
        "companySizes": ["11-50", "51-200", "201-500"],
        "ageRanges": ["25-34", "35-54", "55+"],
        "interests": ["B2B marketing"],
        "adjustments": [],
    }


@pytest.mark.parametrize("platform", ["meta", "linkedin"])
def test_specs_are_json_ready_and_say_they_are_a_starting_point(platform: str) -> None:
    spec = targeting_spec(AVATAR, cast(Any, platform))
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec
    assert spec["note"].startswith("A starting spec to paste into")
    assert not {"pains", "goals", "objections", "channels"} & set(spec)


@pytest.mark.parametrize("platform", ["meta", "linkedin"])
def test_an_empty_avatar_gives_an_empty_spec(platform: str) -> None:
    assert targeting_spec({}, cast(Any, platform)) == {
        "platform": platform,
        "note": NOTES[platform],
        "adjustments": [],
    }


@pytest.mark.parametrize(
    ("age_min", "age_max", "expected", "adjusted"),
    [
        (18, 65, {"age_min": 18, "age_max": 65}, []),
        (25, 44, {"age_min": 25, "age_max": 44}, []),
        (16, 70, {"age_min": 18, "age_max": 65}, ["age_min", "age_max"]),
        (10, 18, {"age_min": 18, "age_max": 18}, ["age_min"]),
        (70, 80, {"age_min": 65, "age_max": 65}, ["age_min", "age_max"]),
        (None, 40, {"age_max": 40}, []),
        (66, None, {"age_min": 65}, ["age_min"]),
        (None, None, {}, []),
    ],
)
def test_meta_ages_are_clamped_to_18_to_65(
    age_min: int | None, age_max: int | None, expected: dict[str, int], adjusted: list[str]
) -> None:
    spec = targeting_spec({"age_min": age_min, "age_max": age_max}, "meta")
    assert {key: spec[key] for key in ("age_min", "age_max") if key in spec} == expected
    assert [note.split(":")[0] for note in spec["adjustments"]] == adjusted


@pytest.mark.parametrize(
    ("sizes", "buckets"),
    [
        (["1"], ["1"]),
        (["1-10"], ["1", "2-10"]),
        (["2-10"], ["2-10"]),
        (["10-11"], ["2-10", "11-50"]),
        (["50-51"], ["11-50", "51-200"]),
        (["200"], ["51-200"]),
        (["100-250"], ["51-200", "201-500"]),
        (["100 – 250"], ["51-200", "201-500"]),
        (["201-500"], ["201-500"]),
        (["1000+"], ["501-1000", "1001-5000", "5001-10000", "10001+"]),
        (["1001+"], ["1001-5000", "5001-10000", "10001+"]),
        (["10,001+"], ["10001+"]),
        (["10000-10001"], ["5001-10000", "10001+"]),
        (
            ["1-1000000"],
            ["1", "2-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"],
        ),
        (["5001-10000", "11-50", "20-30"], ["11-50", "5001-10000"]),
    ],
)
def test_linkedin_company_size_buckets(sizes: list[str], buckets: list[str]) -> None:
    assert targeting_spec({"company_sizes": sizes}, "linkedin")["companySizes"] == buckets


@pytest.mark.parametrize(
    ("age_min", "age_max", "buckets"),
    [
        (18, 24, ["18-24"]),
        (24, 25, ["18-24", "25-34"]),
        (35, 54, ["35-54"]),
        (54, 55, ["35-54", "55+"]),
        (16, 20, ["18-24"]),
        (None, 30, ["18-24", "25-34"]),
        (40, None, ["35-54", "55+"]),
        (70, 90, ["55+"]),
        (0, 120, ["18-24", "25-34", "35-54", "55+"]),
    ],
)
def test_linkedin_age_buckets(age_min: int | None, age_max: int | None, buckets: list[str]) -> None:
    assert targeting_spec({"age_min": age_min, "age_max": age_max}, "linkedin")["ageRanges"] == buckets


def test_locations_are_upper_cased_and_deduplicated() -> None:
    spec = targeting_spec({"locations": ["us", "US", " Austin ,  us ", "Austin, US", "UK"]}, "meta")
    assert spec["geo_locations"] == {
        "countries": ["US", "GB"],
        "cities": [{"name": "Austin", "country": "US"}],
    }


@pytest.mark.parametrize("platform", ["meta", "linkedin"])
@pytest.mark.parametrize(
    ("avatar", "field"),
    [
        ({"locations": ["US", "XX"]}, "avatar.locations[1]"),
        ({"locations": ["San Diego"]}, "avatar.locations[0]"),
        ({"locations": ["San Diego, USA"]}, "avatar.locations[0]"),
        ({"locations": [", US"]}, "avatar.locations[0]"),
        ({"locations": "US"}, "avatar.locations"),
        ({"age_min": 40, "age_max": 30}, "avatar.age_min"),
        ({"age_min": "18"}, "avatar.age_min"),
        ({"age_max": True}, "avatar.age_max"),
        ({"age_min": -1}, "avatar.age_min"),
        ({"age_max": 15}, "avatar.age_max"),
        ({"company_sizes": ["11-50", "lots"]}, "avatar.company_sizes[1]"),
        ({"company_sizes": ["50-10"]}, "avatar.company_sizes[0]"),
        ({"company_sizes": ["0-10"]}, "avatar.company_sizes[0]"),
        ({"company_sizes": ["11-50", "51-200", "+500"]}, "avatar.company_sizes[2]"),
        ({"roles": "CMO"}, "avatar.roles"),
        ({"industries": ["Software", 3]}, "avatar.industries[1]"),
    ],
)
def test_malformed_avatars_are_rejected(platform: str, avatar: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        targeting_spec(avatar, cast(Any, platform))
    assert caught.value.field == field


def test_an_unknown_platform_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        targeting_spec(AVATAR, cast(Any, "tiktok"))
    assert caught.value.field == "platform"


@given(st.text(max_size=40))
def test_normalized_text_is_stable_and_has_no_spaces_punctuation_or_capitals(text: str) -> None:
    for normalize in (normalize_name, normalize_city, lambda value: normalize_state(value, "FR")):
        once = normalize(text)
        assert normalize(once) == once
        assert once == once.lower()
        assert all(unicodedata.category(char)[0] in "LM" for char in once)
