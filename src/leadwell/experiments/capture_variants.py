"""Experiments on the public capture surface: what a visitor sees of a landing page and its form.

- ``landing_page``: the variant's ``overrides`` replace the page's ``title`` and ``body_markdown``.
- ``form``: its ``overrides`` replace the ``submit_label`` and the ``thank_you`` words, and
  ``hide_fields`` leaves out optional fields (a required field is always shown).
- ``magnet``: the form delivers the variant's lead magnet (``asset_id``) instead of its own.

Serving a page or a form frame assigns the browser's visitor (its contact's assignment first, once
a form has identified it) and records the exposure. A form post reads the same assignment back
through the visitor key the rendered form carried, so the thank-you words, the fields checked and
the magnet delivered are those of the variant the prospect was shown. A post assigns nobody: a form
rendered to a browser without a visitor (past the new-visitor limit) is answered as the control.

A variant's page or form is a copy that never joins a session: the stored rows stay as written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from leadwell.capture.visitors import find_visitor
from leadwell.db.models import (
    Asset,
    Experiment,
    ExperimentVariant,
    Form,
    LandingPage,
    Visitor,
)
from leadwell.experiments.assignment import assign, assignment_of, expose, running_experiment

FORM_KINDS = ("form", "magnet")
Row = TypeVar("Row", Form, LandingPage)


def _copy(row: Row, **changes: Any) -> Row:
    """A detached copy of ``row`` with ``changes`` (deferred columns, such as a page's image bytes,
    are left out: nothing shown from a copy reads them)."""
    mapper = sa_inspect(type(row))
    values = {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs if not attr.deferred}
    return type(row)(**{**values, **changes})


def _text(overrides: dict[str, Any], key: str) -> str | None:
    value = overrides.get(key)
    return value if isinstance(value, str) else None


def page_variant(page: LandingPage, variant: ExperimentVariant) -> LandingPage:
    """``page`` as ``variant`` shows it."""
    overrides = variant.overrides or {}
    title, body = _text(overrides, "title"), _text(overrides, "body_markdown")
    if not title and body is None:
        return page
    return _copy(page, title=title or page.title, body_markdown=page.body_markdown if body is None else body)


def form_variant(session: Session, form: Form, kind: str, variant: ExperimentVariant) -> Form:
    """``form`` as ``variant`` of a ``form`` or ``magnet`` experiment shows it."""
    if kind == "magnet":
        asset = session.get(Asset, variant.asset_id) if variant.asset_id is not None else None
        if asset is None or asset.workspace_id != form.workspace_id or asset.archived_at is not None:
            return form
        return _copy(form, asset_id=asset.id)
    overrides = variant.overrides or {}
    hidden = overrides.get("hide_fields")
    hidden_keys = {key for key in hidden if isinstance(key, str)} if isinstance(hidden, list) else set()
    fields = [
        field
        for field in form.fields or []
        if not (field.get("key") in hidden_keys and not field.get("required"))
    ]
    label, thanks = _text(overrides, "submit_label"), _text(overrides, "thank_you")
    return _copy(
        form,
        fields=fields,
        submit_label=label or form.submit_label,
        thank_you=form.thank_you if thanks is None else thanks,
    )


def _shown(session: Session, experiment: Experiment, visitor: Visitor, now: datetime) -> ExperimentVariant:
    """Assign the visitor (its contact's assignment first) and record that it saw its variant."""
    unit: dict[str, Any] = {"contact_id": visitor.contact_id, "visitor_id": visitor.id}
    variant = assign(session, experiment, now=now, **unit)
    expose(session, experiment, variant, now=now, **unit)
    return variant


def page_for_visitor(session: Session, page: LandingPage, visitor: Visitor, now: datetime) -> LandingPage:
    """The page as the visitor's variant shows it, the visitor assigned and exposed."""
    experiment = running_experiment(session, page.workspace_id, "landing_page", page.id)
    if experiment is None:
        return page
    return page_variant(page, _shown(session, experiment, visitor, now))


def form_under_test(session: Session, form: Form) -> bool:
    """Whether a form or magnet experiment runs on ``form``."""
    return any(running_experiment(session, form.workspace_id, kind, form.id) for kind in FORM_KINDS)


def form_for_visitor(session: Session, form: Form, visitor: Visitor, now: datetime) -> Form:
    """The form as the visitor's variants show it, the visitor assigned and exposed."""
    shown = form
    for kind in FORM_KINDS:
        experiment = running_experiment(session, form.workspace_id, kind, form.id)
        if experiment is not None:
            shown = form_variant(session, shown, kind, _shown(session, experiment, visitor, now))
    return shown


def _assigned(session: Session, experiment: Experiment, visitor: Visitor) -> ExperimentVariant | None:
    found = assignment_of(session, experiment, contact_id=visitor.contact_id, visitor_id=visitor.id)
    return session.get(ExperimentVariant, found.variant_id) if found is not None else None


def shown_at_render(
    session: Session, form: Form, page: LandingPage | None, visitor_key: str | None
) -> tuple[Form, LandingPage | None]:
    """The form (and page) a post answers for: as the variants the visitor behind ``visitor_key``
    was assigned showed them; as stored when the key names no visitor or nobody was assigned."""
    visitor = find_visitor(session, form.workspace_id, visitor_key)
    if visitor is None:
        return form, page
    for kind in FORM_KINDS:
        experiment = running_experiment(session, form.workspace_id, kind, form.id)
        variant = _assigned(session, experiment, visitor) if experiment is not None else None
        if variant is not None:
            form = form_variant(session, form, kind, variant)
    if page is not None:
        experiment = running_experiment(session, page.workspace_id, "landing_page", page.id)
        variant = _assigned(session, experiment, visitor) if experiment is not None else None
        page = page_variant(page, variant) if variant is not None else page
    return form, page
