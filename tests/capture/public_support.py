"""Shared by the public form tests: forms, pages and magnets made through the ORM, a reader of the
rendered form's inputs, and counts of everything a submission writes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    Consent,
    Contact,
    Event,
    Form,
    FormSubmission,
    LandingPage,
    Organization,
    Visitor,
    Workspace,
)
from leadwell.db.session import Database

_numbers = itertools.count(1)
CONSENT_TEXT = "I agree that Acme may email me about its services. I can unsubscribe at any time."
FIELDS: list[dict[str, Any]] = [
    {"key": "email", "label": "Work email", "type": "email", "maps_to": "email", "required": True},
    {"key": "first_name", "label": "First name", "type": "text", "maps_to": "first_name", "required": True},
    {"key": "last_name", "label": "Last name", "type": "text", "maps_to": "last_name", "required": False},
    {"key": "phone", "label": "Phone", "type": "tel", "maps_to": "phone", "required": False},
    {"key": "company", "label": "Company", "type": "text", "maps_to": "organization", "required": False},
    {"key": "country", "label": "Country", "type": "text", "maps_to": "country", "required": False},
    {
        "key": "size",
        "label": "Team size",
        "type": "select",
        "maps_to": "custom.team_size",
        "required": False,
        "options": ["1-10", "11-50", "51+"],
    },
    {"key": "budget", "label": "Budget", "type": "number", "maps_to": None, "required": False},
    {"key": "site", "label": "Your site", "type": "url", "maps_to": None, "required": False},
    {"key": "note", "label": "Anything else?", "type": "textarea", "maps_to": None, "required": False},
    {"key": "newsletter", "label": "Newsletter", "type": "checkbox", "maps_to": "custom.newsletter"},
]


def make_asset(session: Session, workspace: Workspace, kind: str = "pdf", **fields: Any) -> Asset:
    number = next(_numbers)
    values: dict[str, Any] = {"slug": f"guide-{number}", "title": f"The pricing guide {number}"}
    values.update(fields)
    asset = Asset(workspace_id=workspace.id, kind=kind, **values)
    session.add(asset)
    session.flush()
    return asset


def make_form(session: Session, workspace: Workspace, **fields: Any) -> Form:
    number = next(_numbers)
    values: dict[str, Any] = {
        "slug": f"guide-form-{number}",
        "name": f"Guide form {number}",
        "fields": FIELDS,
        "consent_text": CONSENT_TEXT,
        "consent_required": False,
        "allowed_origins": [],
        "submit_label": "Get the guide",
        "thank_you": "Thanks! Your guide is ready.",
        "min_fill_seconds": 0,
    }
    values.update(fields)
    form = Form(workspace_id=workspace.id, **values)
    session.add(form)
    session.flush()
    return form


def make_page(session: Session, workspace: Workspace, form: Form | None, **fields: Any) -> LandingPage:
    number = next(_numbers)
    values: dict[str, Any] = {
        "slug": f"pricing-guide-{number}",
        "title": "The 2027 pricing guide",
        "body_markdown": "Learn **how to price** consulting work.\n\n- one\n- two",
        "form_id": form.id if form is not None else None,
        "published": True,
    }
    values.update(fields)
    page = LandingPage(workspace_id=workspace.id, **values)
    session.add(page)
    session.flush()
    return page


class _Inputs(HTMLParser):
    """Collects the named inputs of the first form on a page, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.action: str | None = None
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._done:
            return
        attributes = dict(attrs)
        if tag == "form":
            self._in_form = True
            self.action = attributes.get("action")
        elif self._in_form and tag in ("input", "textarea", "select") and attributes.get("name"):
            self.inputs[str(attributes["name"])] = {"tag": tag, **attributes}

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_inputs(html: str) -> dict[str, dict[str, str | None]]:
    """The rendered form's named inputs (name → attributes, with ``tag``)."""
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def hidden_values(html: str) -> dict[str, str]:
    """The hidden inputs a browser would send back with the form."""
    return {
        name: attributes.get("value") or ""
        for name, attributes in form_inputs(html).items()
        if attributes.get("type") == "hidden"
    }


@dataclass(frozen=True)
class Counts:
    contacts: int
    events: int
    submissions: int
    consents: int
    identified_visitors: int
    organizations: int


def counts(db: Database) -> Counts:
    """How many rows of everything a submission may write."""
    with db.session() as session:

        def number(query: Any) -> int:
            return int(session.scalar(query) or 0)

        return Counts(
            contacts=number(select(func.count()).select_from(Contact)),
            events=number(select(func.count()).select_from(Event)),
            submissions=number(select(func.count()).select_from(FormSubmission)),
            consents=number(select(func.count()).select_from(Consent)),
            identified_visitors=number(select(func.count()).where(Visitor.contact_id.is_not(None))),
            organizations=number(select(func.count()).select_from(Organization)),
        )
