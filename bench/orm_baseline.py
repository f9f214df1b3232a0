"""The import baseline: the same file read with csv and inserted row by row through the ORM.

No cleaning, no matching: one ``Contact`` and one ``ContactEmail`` per row, flushed one at a time and
committed every 1,000 rows, the way a quick script would do it. Run as its own process so its peak
memory can be measured: ``python -m bench.orm_baseline FILE URL WORKSPACE_ID LIMIT``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from leadwell.db.models import Contact, ContactEmail
from leadwell.db.session import Database


def insert_row_by_row(path: Path, url: str, workspace_id: int, limit: int) -> int:
    """Insert up to ``limit`` rows of ``path``; returns how many were inserted."""
    db = Database(url)
    done = 0
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle, db.sessions() as session:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            if done >= limit:
                break
            email = row[2].strip().lower() or None
            if email in seen:
                continue  # the unique index would refuse it; a quick script skips it like this
            contact = Contact(
                workspace_id=workspace_id,
                first_name=row[0],
                last_name=row[1],
                email=email,
                phones=[row[3]] if row[3] else [],
                title=row[8] or None,
                source=row[9],
                custom={},
                tags=[],
            )
            session.add(contact)
            session.flush()
            if email:
                seen.add(email)
                session.add(ContactEmail(workspace_id=workspace_id, contact_id=contact.id, email=email))
                session.flush()
            done += 1
            if done % 1000 == 0:
                session.commit()
        session.commit()
    db.dispose()
    return done


if __name__ == "__main__":
    print(insert_row_by_row(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
