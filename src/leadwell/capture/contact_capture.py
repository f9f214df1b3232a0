"""The "Forms and consent" panel of a contact's page: which forms they filled, where they came from,
and every consent they gave or withdrew in the exact words they saw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Consent, Form, FormSubmission, LandingPage

# A contact page is not an audit export: the most recent rows are what a salesperson reads.
SHOWN = 20
UTM_ORDER = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class SubmissionShown:
    """One form submission: the form, when, the page it was on and where the visitor came from."""

    form: str
    page: str | None
    submitted_at: datetime
    utm: list[tuple[str, str]]
    referrer: str | None
    page_url: str | None


@dataclass(frozen=True)
class ConsentShown:
    """One consent record as stored: its state, exact text, time, address and form."""

    state: str
    text: str
    given_at: datetime
    ip: str | None
    form: str | None


def _utm_pairs(utm: dict[str, str]) -> list[tuple[str, str]]:
    """UTM parameters in their conventional order, names without the ``utm_`` prefix."""
    known = [(key.removeprefix("utm_"), utm[key]) for key in UTM_ORDER if utm.get(key)]
    return known + sorted((k, v) for k, v in utm.items() if k not in UTM_ORDER and v)


def submissions_of(session: Session, workspace_id: int, contact_id: int) -> list[SubmissionShown]:
    """The contact's most recent form submissions, newest first."""
    rows = session.execute(
        select(FormSubmission, Form.name, LandingPage.slug)
        .join(Form, Form.id == FormSubmission.form_id)
        .outerjoin(LandingPage, LandingPage.id == FormSubmission.landing_page_id)
        .where(FormSubmission.workspace_id == workspace_id, FormSubmission.contact_id == contact_id)
        .order_by(FormSubmission.submitted_at.desc(), FormSubmission.id.desc())
        .limit(SHOWN)
    ).all()
    return [
        SubmissionShown(form, page, row.submitted_at, _utm_pairs(row.utm or {}), row.referrer, row.page_url)
        for row, form, page in rows
    ]


def consents_of(session: Session, workspace_id: int, contact_id: int) -> list[ConsentShown]:
    """The contact's consent records, newest first."""
    rows = session.execute(
        select(Consent, Form.name)
        .outerjoin(Form, Form.id == Consent.form_id)
        .where(Consent.workspace_id == workspace_id, Consent.contact_id == contact_id)
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(SHOWN)
    ).all()
    return [ConsentShown(row.state, row.text, row.given_at, row.ip, form) for row, form in rows]
