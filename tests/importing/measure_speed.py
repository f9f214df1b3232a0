"""How long reading and cleaning take per row, on a generated messy CSV (not a test: run it by hand).

    .venv/bin/python -m tests.importing.measure_speed [ROWS]

The file mixes what real exports hold: names in capitals, full names only, addresses in odd case
and a few broken ones, phones in national and international formats, sizes as "1,200" or "51-200",
country names and codes, several date formats, tags and a few custom columns.
"""

from __future__ import annotations

import csv
import random
import resource
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from leadwell.contacts.importing.cleaning import RowCleaner
from leadwell.contacts.importing.mapping import auto_map
from leadwell.contacts.importing.reader import open_table

HEADERS = [
    "First Name", "Last Name", "Full Name", "Email", "Phone", "Company", "Website", "Employees",
    "Country", "Job Title", "City", "Lifecycle Stage", "Tags", "Created", "Lead Score", "Favourite Colour",
]  # fmt: skip
FIRST = ["Anna", "Ben", "Chloé", "David", "Eva", "Felix", "Grace", "Hugo", "Ines", "Jack", "Karin", "Liam"]
LAST = ["Smith", "Müller", "O'Brien", "McDonald", "van der Berg", "García", "Rossi", "Dubois", "Kowalski"]
COUNTRIES = {"US": ["United States", "USA", "US"], "DE": ["Germany", "Deutschland", "DE"],
             "GB": ["United Kingdom", "UK", "GB"], "FR": ["France", "FR"]}  # fmt: skip
PHONES = {"US": "({a}) {b}-{c}", "DE": "030 {b}{c}", "GB": "020 {b} {c}", "FR": "+33 1 {c} {c}"}
SIZES = ["1,200", "51-200", "10", "500+", "1.2k", "11 - 50", "", "", "5000"]
STAGES = ["Lead", "Marketing Qualified Lead", "Customer", "Subscriber", "", "Opportunity"]
DATES = ["2024-05-{d:02d}", "{d:02d}/05/2024", "May {d}, 2024", "2024-05-{d:02d} 14:05:00"]


def messy_row(rng: random.Random, number: int) -> list[str]:
    """One row of a messy export."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country = rng.choice(list(COUNTRIES))
    company = f"Company {rng.randrange(5000)}"
    domain = company.lower().replace(" ", "") + rng.choice([".com", ".de", ".co.uk"])
    # Addresses are ASCII in practice, whatever the name: "Chloé Müller" is chloe.muller@...
    local = unicodedata.normalize("NFKD", f"{first}.{last}{number}").encode("ascii", "ignore").decode()
    local = local.replace(" ", "").replace("'", "")
    email = rng.choice([f"{local}@{domain}", f"{local.upper()}@{domain}", f"{local}@gmail.com"])
    if rng.random() < 0.03:
        email = email.replace("@", " at ")
    full = ""
    if rng.random() < 0.05:
        full, first, last = f"{last}, {first}", "", ""
    elif rng.random() < 0.1:
        first, last = first.upper(), last.upper()
    digits = {"a": rng.randrange(200, 999), "b": rng.randrange(200, 999), "c": rng.randrange(1000, 9999)}
    phone = PHONES[country].format(**digits) if rng.random() < 0.6 else ""
    website = rng.choice([f"https://www.{domain}/", domain, f"www.{domain}", ""])
    created = rng.choice(DATES).format(d=rng.randrange(1, 29))
    tags = rng.choice(["", "webinar", "webinar, ebook", "vip|newsletter"])
    return [
        first, last, full, email, phone, company, website, rng.choice(SIZES),
        rng.choice(COUNTRIES[country]), rng.choice(["CEO", "Head of Growth", "", "Engineer"]),
        rng.choice(["Berlin", "London", "New York", "Paris"]), rng.choice(STAGES), tags, created,
        str(rng.randrange(100)), rng.choice(["blue", "green", ""]),
    ]  # fmt: skip


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for number in range(rows):
            writer.writerow(messy_row(rng, number))


def measure(path: Path, clean: bool) -> tuple[float, int, int]:
    """CPU seconds (steadier than wall time on a shared machine), rows and issues for one pass."""
    started = time.process_time()
    rows = issues = 0
    with open_table(path) as table:
        cleaner = RowCleaner(auto_map(table.headers), default_region="US")
        for line, cells in table.rows:
            rows += 1
            if clean:
                issues += len(cleaner.clean(line, cells).issues)
    return time.process_time() - started, rows, issues


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "messy.csv"
        write_file(path, count)
        read_seconds, rows, _ = measure(path, clean=False)
        total_seconds, rows, issues = measure(path, clean=True)
    print(f"rows {rows}, issues {issues}")
    print(f"reading           {read_seconds / rows * 1e6:6.1f} µs/row")
    print(f"reading+cleaning  {total_seconds / rows * 1e6:6.1f} µs/row")
    print(f"cleaning alone    {(total_seconds - read_seconds) / rows * 1e6:6.1f} µs/row")
    print(f"peak memory       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB")


if __name__ == "__main__":
    main()
