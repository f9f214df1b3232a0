"""The country table: complete, unambiguous, and consistent with the codes the rest of leadwell accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadwell.contacts.fields import COUNTRY_CODES
from leadwell.contacts.importing import countries
from leadwell.contacts.importing.countries import COUNTRY_NAMES, country_code, normalize_country_text


def _table_lines() -> list[tuple[str, list[str]]]:
    entries: list[tuple[str, list[str]]] = []
    for line in countries._TABLE.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            entries[-1][1].extend(line.strip().split("|"))
        else:
            code, alpha3, names = line.split(" ", 2)
            entries.append((code, [alpha3, *names.split("|")]))
    return entries


def test_every_iso_country_is_there_once() -> None:
    codes = [code for code, _ in _table_lines()]
    assert len(codes) == len(set(codes)) >= 250
    assert set(codes) <= COUNTRY_CODES  # every answer is accepted by clean_country


def test_no_name_points_to_two_countries() -> None:
    seen: dict[str, str] = {}
    for code, names in _table_lines():
        for name in [code, *names]:
            key = normalize_country_text(name)
            assert seen.setdefault(key, code) == code, f"{name!r} is both {seen[key]} and {code}"


def test_short_and_official_names() -> None:
    assert country_code("Germany") == country_code("Federal Republic of Germany") == "DE"
    assert country_code("Viet Nam") == country_code("Vietnam") == "VN"
    assert country_code("Bosnia & Herzegovina") == "BA"
    assert country_code("gbr") == "GB"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("España", "ES"),
        ("Italia", "IT"),
        ("Nederland", "NL"),
        ("België", "BE"),
        ("Sverige", "SE"),
        ("Norge", "NO"),
        ("Danmark", "DK"),
        ("Suomi", "FI"),
        ("Polska", "PL"),
        ("Česko", "CZ"),
        ("Éire", "IE"),
        ("Brasil", "BR"),
        ("México", "MX"),
        ("Türkiye", "TR"),
        ("Россия", "RU"),
        ("日本", "JP"),
        ("대한민국", "KR"),
        ("भारत", "IN"),
        ("UAE", "AE"),
        ("Holland", "NL"),
        ("U.S.A.", "US"),
        ("the united states of america", "US"),
    ],
)
def test_native_names_and_aliases(name: str, code: str) -> None:
    assert country_code(name) == code


def test_unknown_names() -> None:
    assert country_code("Narnia") is None
    assert country_code("") is None


def test_matches_debian_iso_codes_when_installed() -> None:
    """Every short name in Debian's iso-codes package is understood (make test installs it)."""
    source = Path("/usr/share/iso-codes/json/iso_3166-1.json")
    assert source.exists(), "install Debian's iso-codes: apt-get install iso-codes"
    for entry in json.loads(source.read_text())["3166-1"]:
        assert country_code(entry["name"]) == entry["alpha_2"]
        assert country_code(entry["alpha_3"]) == entry["alpha_2"]
    assert len(COUNTRY_NAMES) > 1000
