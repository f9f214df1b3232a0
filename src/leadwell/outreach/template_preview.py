"""Previewing a template for a real contact: what they would receive, what is missing, what is wrong.

A preview reads and never writes: the unsubscribe link is a placeholder (a real one is signed per
message when it is queued), and links are shown untracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from leadwell.contacts.service import ContactFilters, filtered_contacts
from leadwell.db.models import Contact, Mailbox, TemplateVariant
from leadwell.errors import NotFound
from leadwell.outreach.mailboxes import default_mailbox, mailbox_by_slug
from leadwell.outreach.render import (
    Rendered,
    TemplateInvalid,
    TemplateProblem,
    check_variant,
    choose_variant,
    merge_context,
    render_variant,
)
from leadwell.outreach.template_defs import VariantInput

MAX_FOUND = 10
PREVIEW_UNSUBSCRIBE = "/u/preview-only"  # after public_url; not a working link


@dataclass(frozen=True)
class Preview:
    """One variant rendered for one contact: the result (None when the template has problems),
    warnings for fields printed empty, and problems with their part and line."""

    key: str
    rendered: Rendered | None
    warnings: list[str] = field(default_factory=list)
    problems: list[TemplateProblem] = field(default_factory=list)


def find_contacts(session: Session, workspace_id: int, q: str, limit: int = MAX_FOUND) -> list[Contact]:
    """Contacts whose name, email or company contains ``q`` (the preview's contact picker)."""
    text = q.strip()[:100]
    if not text:
        return []
    query = filtered_contacts(workspace_id, ContactFilters(q=text)).order_by(Contact.id.desc()).limit(limit)
    return list(session.scalars(query))


def contact_by_id(session: Session, workspace_id: int, contact_id: int) -> Contact:
    """A live contact of the workspace, else :class:`NotFound`."""
    contact = session.scalar(
        filtered_contacts(workspace_id, ContactFilters()).where(Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound("contact: no such contact in this workspace", field="contact")
    return contact


def contact_by_email(session: Session, workspace_id: int, email: str) -> Contact:
    """The live contact with this address (any of theirs), else :class:`NotFound`."""
    query = filtered_contacts(workspace_id, ContactFilters(email=email))
    contact = session.scalar(query.limit(1))
    if contact is None:
        raise NotFound(f"contact: nobody with the address {email[:120]!r} in this workspace", field="contact")
    return contact


def sender_of(session: Session, workspace_id: int, mailbox_slug: str = "") -> Mailbox | None:
    """The named mailbox, else the workspace's default sending mailbox (None when it has none)."""
    if mailbox_slug.strip():
        return mailbox_by_slug(session, workspace_id, mailbox_slug.strip())
    return default_mailbox(session, workspace_id)


def warnings_for(missing: list[str]) -> list[str]:
    """The editor's warnings for merge fields printed without a value nor a default."""
    return [f"{name} is empty for this contact and has no default" for name in missing]


def preview_variant(variant: VariantInput, context: dict[str, object]) -> Preview:
    """Render a variant as given (saved or not) with a contact's merge ``context``."""
    key = variant.key.strip().lower() or "?"
    problems = check_variant(variant.subject, variant.html, variant.text)
    if problems:
        return Preview(key, None, problems=problems)
    stored = TemplateVariant(key=key, subject=variant.subject, html=variant.html, text=variant.text)
    try:
        rendered = render_variant(stored, dict(context))
    except TemplateInvalid as error:
        return Preview(key, None, problems=error.problems)
    return Preview(key, rendered, warnings_for(rendered.missing))


def preview_context(
    session: Session, workspace_id: int, contact: Contact, mailbox: Mailbox | None, public_url: str
) -> dict[str, object]:
    """A contact's merge context for previews, with the placeholder unsubscribe link."""
    links = {"unsubscribe_url": public_url.rstrip("/") + PREVIEW_UNSUBSCRIBE}
    return merge_context(session, workspace_id, contact, mailbox, links)


def chosen_key(session: Session, template_id: int, contact: Contact) -> str:
    """The variant this contact gets when the template is sent (the outbox seeds with the contact's id)."""
    return choose_variant(session, template_id, str(contact.id)).key


def variant_of(variants: list[VariantInput], key: str) -> VariantInput:
    """The variant with ``key``, else the first."""
    return next((variant for variant in variants if variant.key.strip().lower() == key), variants[0])
