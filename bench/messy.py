"""A generated messy contacts file for the import benchmark, written to disk row by row.

About 5% of rows repeat an earlier person in another spelling (case, spaces, a second phone format),
about 2% are invalid (no email, phone or name; or a broken address with nothing else), and the rest
mix the formats real exports have: "1,200" and "100-250" sizes, country names, phones with and
without a country code, websites with schemes. Seeded, so every run writes the same file.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Sofia",
    "Mateo",
    "Amara",
    "Hiroshi",
    "Ingrid",
    "Kwame",
    "Lucía",
    "Nikolai",
    "Priya",
    "Zoe",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "García",
    "Okafor",
    "Tanaka",
    "Johansson",
    "Mensah",
    "Ivanova",
    "Sharma",
    "Müller",
)
WORDS = ("North", "Blue", "Granite", "Summit", "River", "Pioneer", "Harbor", "Atlas", "Cedar", "Vertex")
KINDS = ("Logistics", "Realty", "Health", "Software", "Partners", "Foods", "Energy", "Labs")
COUNTRIES = (
    "United States",
    "USA",
    "US",
    "United Kingdom",
    "UK",
    "Germany",
    "Deutschland",
    "Canada",
    "Netherlands",
    "Australia",
    "France",
    "",
)
SIZES = ("12", "1,200", "100-250", "45", "1.2k", "500+", "", "80", "3000", "11-50")
HEADER = [
    "First Name",
    "Last Name",
    "E-mail Address",
    "Mobile Phone",
    "Company Name",
    "Website",
    "# Employees",
    "Country",
    "Job Title",
    "Lead Source",
    "Favourite Colour",
]
TITLES = ("CEO", "Founder", "Head of Operations", "VP Sales", "IT Manager", "CFO", "Office Manager", "")
COLOURS = ("red", "green", "blue", "", "")


def _company(rng: random.Random, number: int) -> tuple[str, str]:
    name = f"{rng.choice(WORDS)} {rng.choice(KINDS)} {number % 20_000}"
    return name, name.lower().replace(" ", "") + ".com"


def _row(rng: random.Random, index: int) -> list[str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company, domain = _company(rng, rng.randrange(1_000_000))
    # Addresses are ASCII, as nearly all in real lists are (names keep their accents).
    plain = unicodedata.normalize("NFKD", f"{first}.{last}.{index}@{domain}".lower())
    email = plain.encode("ascii", "ignore").decode()
    phone = f"+1 415 {rng.randrange(200, 999)} {rng.randrange(1000, 9999)}" if rng.random() < 0.6 else ""
    website = rng.choice((f"https://www.{domain}", domain, f"http://{domain}/about", ""))
    return [
        first,
        last,
        email,
        phone,
        company,
        website,
        rng.choice(SIZES),
        rng.choice(COUNTRIES),
        rng.choice(TITLES),
        "purchased list",
        rng.choice(COLOURS),
    ]


def _respelled(rng: random.Random, row: list[str]) -> list[str]:
    """The same person written differently: the address in other case and padding, names upper-case."""
    copy = list(row)
    copy[2] = f"  {row[2].upper()} " if rng.random() < 0.5 else row[2].title()
    copy[0], copy[1] = row[0].upper(), row[1].upper()
    copy[3] = copy[3].replace(" ", "-")
    return copy


def _invalid(rng: random.Random) -> list[str]:
    if rng.random() < 0.5:
        return ["", "", "", "", rng.choice(WORDS), "", "", "", "", "", "orphan"]
    return ["", "", "not-an-address@", "", "", "", "", "", "", "", ""]


def write_messy_csv(path: Path, rows: int, seed: int) -> Path:
    """Write ``rows`` data rows (plus a header) to ``path``; returns it."""
    rng = random.Random(seed)
    recent: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(rows):
            roll = rng.random()
            if roll < 0.02:
                writer.writerow(_invalid(rng))
                continue
            if roll < 0.07 and recent:
                writer.writerow(_respelled(rng, rng.choice(recent)))
                continue
            row = _row(rng, index)
            writer.writerow(row)
            recent.append(row)
            if len(recent) > 5000:  # duplicates are near one another, as in real merged lists
                recent.pop(0)
    return path
