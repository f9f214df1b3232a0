"""Template pages: the list, a new template, the editor (name, variants with subject, HTML, text and
weight) and the preview for a real contact.

The editor is a plain HTML form: "Add a variant", "Remove" and "Preview" post the draft back, so it
works without JavaScript and nothing is saved until "Save". With htmx, the contact search answers
as it is typed and a preview replaces only the preview panel (and the problems shown by each
field). A preview renders the draft as it stands and stores nothing. Owners and marketers edit;
salespeople read templates and preview them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadwell.capture.admin_common import Posted, PostedForm, done
from leadwell.db.models import Contact, EmailTemplate
from leadwell.errors import LeadwellError, NotFound
from leadwell.ids import BadId
from leadwell.outreach import template_defs as defs
from leadwell.outreach import template_preview as previews
from leadwell.outreach.render import MERGE_FIELDS
from leadwell.outreach.render_sandbox import FILTERS
from leadwell.outreach.sequence_page_common import not_found_as_404, page, refused, require_editor
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Template created.",
    "saved": "Saved.",
    "archived": "Archived: hidden from the lists; what uses it keeps it.",
    "restored": "Restored.",
}
EDITOR = "outreach/template_edit.html"
PREVIEW = "outreach/template_preview.html"


def draft_of(posted: Posted) -> defs.TemplateInput:
    """The template as the editor posted it, variant rows in their order."""
    variants: list[defs.VariantInput] = []
    for index in range(defs.MAX_VARIANTS + 1):
        prefix = f"variants[{index}]"
        if f"{prefix}.key" not in posted.values:
            break
        variants.append(
            defs.VariantInput(
                key=posted.get(f"{prefix}.key"),
                subject=posted.get(f"{prefix}.subject"),
                html=posted.get(f"{prefix}.html"),
                text=posted.get(f"{prefix}.text"),
                weight=posted.get(f"{prefix}.weight", "1"),
            )
        )
    return defs.TemplateInput(name=posted.get("name"), slug=posted.get("slug"), variants=variants)


def new_draft() -> defs.TemplateInput:
    """A new template's starting point: one variant with a greeting and the unsubscribe link."""
    html = (
        '<p>Hello {{ first_name | default("there") }},</p>\n\n<p></p>\n\n'
        "<p>{{ sender.name }}</p>\n"
        '<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>\n'
    )
    return defs.TemplateInput(name="", variants=[defs.VariantInput("a", "", html, "", 1)])


def _edit_rows(draft: defs.TemplateInput, action: str) -> bool:
    """Add or remove a variant as a button asked; False for any other action."""
    kind, _, number = action.partition(":")
    if kind == "add-variant" and len(draft.variants) < defs.MAX_VARIANTS:
        keys = [variant.key.strip().lower() for variant in draft.variants]
        draft.variants.append(defs.VariantInput(defs.next_key(keys), "", "", "", 1))
        return True
    if kind == "remove-variant" and number.isdigit() and int(number) < len(draft.variants):
        del draft.variants[int(number)]
        return True
    return False


def problem_slots(
    draft: defs.TemplateInput, error: LeadwellError | None, preview: dict[str, Any] | None
) -> dict[str, list[str]]:
    """Problems to show beside each variant's fields, keyed ``"<row>.<part>"`` (``"1.html"``): a
    refused save's, else the preview's."""
    slots: dict[str, list[str]] = {}
    rows = {f"variants[{variant.key.strip().lower()}]": row for row, variant in enumerate(draft.variants)}
    if isinstance(error, defs.TemplateRefused):
        for problem in error.problems:
            where, _, part = problem.field.rpartition(".")
            if where in rows:
                line = f"line {problem.line}: {problem.message}"
                slots.setdefault(f"{rows[where]}.{part}", []).append(line)
        return slots
    for row, shown in enumerate((preview or {}).get("variants", [])):
        for found in shown.problems:
            slots.setdefault(f"{row}.{found.part}", []).append(f"line {found.line}: {found.message}")
    return slots


def _editor(
    request: Request,
    scope: PageScope,
    draft: defs.TemplateInput,
    template: EmailTemplate | None,
    error: LeadwellError | None = None,
    **extra: Any,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "draft": draft,
        "email_template": template,
        "merge_fields": MERGE_FIELDS,
        "filters": [name for name in FILTERS if name != "d"],
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "preview": None,
        **extra,
    }
    context["slots"] = problem_slots(draft, error, context["preview"])
    if error is not None:
        return refused(request, EDITOR, scope, error, **context)
    return page(request, EDITOR, scope, **context)


def _load(scope: PageScope, slug: str) -> tuple[EmailTemplate, defs.TemplateInput]:
    with scope.db.session() as session, not_found_as_404("template"):
        template = defs.get_template(session, scope.workspace_id, slug)
        variants = defs.variant_inputs(defs.variants_of(session, template.id))
        session.expunge(template)
    return template, defs.TemplateInput(template.name, template.slug, variants)


@router.get("/outreach/templates", name="outreach_templates")
def templates_list(request: Request, scope: Page, archived: bool = False) -> HTMLResponse:
    """Templates with their variants and when they last changed; archived ones on request."""
    with scope.db.session() as session:
        rows = defs.list_templates(session, scope.workspace_id, archived)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "outreach/template_list.html", scope, rows=rows, archived=archived, notice=notice)


@router.get("/outreach/templates/new", name="outreach_template_new")
def template_new(request: Request, scope: Page) -> HTMLResponse:
    """The editor for a new template."""
    require_editor(scope)
    return _editor(request, scope, new_draft(), None)


@router.post("/outreach/templates/new", name="outreach_template_create", response_model=None)
def template_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Create the template, or show the draft again: a variant added or removed, a preview, or
    what is wrong."""
    require_editor(scope)
    draft = draft_of(posted)
    action = posted.get("action", "save")
    if _edit_rows(draft, action):
        return _editor(request, scope, draft, None)
    if action.startswith("preview"):
        return _editor(request, scope, draft, None, **_preview(scope, posted, draft, None))
    try:
        with scope.db.session() as session:
            slug = defs.create_template(session, scope.workspace_id, draft).slug
    except LeadwellError as error:
        return _editor(request, scope, draft, None, error)
    return done(request, "created", "outreach_template", slug=slug)


@router.post("/outreach/templates/preview", name="outreach_template_preview")
def template_preview(request: Request, scope: Page, posted: PostedForm) -> HTMLResponse:
    """The preview panel for the posted draft (htmx), with each field's problems swapped in beside it."""
    draft = draft_of(posted)
    template = None
    if posted.get("template"):
        template, _saved = _load(scope, posted.get("template"))
    found = _preview(scope, posted, draft, template)
    slots = problem_slots(draft, None, found["preview"])
    return page(request, PREVIEW, scope, draft=draft, slots=slots, oob=True, **found)


@router.get("/outreach/templates/preview/contacts", name="outreach_template_contacts")
def template_contacts(request: Request, scope: Page, preview_q: str = "") -> HTMLResponse:
    """Contacts matching the search, as buttons that preview the template for them (htmx)."""
    with scope.db.session() as session:
        found = previews.find_contacts(session, scope.workspace_id, preview_q)
        session.expunge_all()
    return page(request, "outreach/template_contacts.html", scope, found=found, searched=preview_q.strip())


@router.get("/outreach/templates/{slug}", name="outreach_template")
def template_page(request: Request, scope: Page, slug: str) -> HTMLResponse:
    """A template's editor (read-only for salespeople)."""
    template, draft = _load(scope, slug)
    return _editor(request, scope, draft, template)


@router.post("/outreach/templates/{slug}", name="outreach_template_save", response_model=None)
def template_save(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Save the template, or show the draft again (a variant added or removed, a preview, a refusal)."""
    template, _saved = _load(scope, slug)
    draft = draft_of(posted)
    action = posted.get("action", "save")
    if action.startswith("preview"):
        return _editor(request, scope, draft, template, **_preview(scope, posted, draft, template))
    require_editor(scope)
    draft.slug = template.slug
    if _edit_rows(draft, action):
        return _editor(request, scope, draft, template)
    try:
        with scope.db.session() as session:
            defs.update_template(session, scope.workspace_id, slug, draft)
    except LeadwellError as error:
        return _editor(request, scope, draft, template, error)
    return done(request, "saved", "outreach_template", slug=slug)


@router.post("/outreach/templates/{slug}/archive", name="outreach_template_archive", response_model=None)
def template_archive(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Hide a template from lists and pickers."""
    require_editor(scope)
    with scope.db.session() as session, not_found_as_404("template"):
        defs.archive_template(session, scope.workspace_id, slug)
    return done(request, "archived", "outreach_template", slug=slug)


@router.post("/outreach/templates/{slug}/restore", name="outreach_template_restore", response_model=None)
def template_restore(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Offer an archived template again."""
    require_editor(scope)
    with scope.db.session() as session, not_found_as_404("template"):
        defs.restore_template(session, scope.workspace_id, slug)
    return done(request, "restored", "outreach_template", slug=slug)


def _chosen_contact(scope: PageScope, posted: Posted) -> tuple[Contact | None, list[Contact]]:
    """The contact to preview for: the one a result button named, else the first search match;
    and the search's matches."""
    action = posted.get("action", "")
    public_id = action.partition(":")[2] or posted.get("preview_contact")
    with scope.db.session() as session:
        found = previews.find_contacts(session, scope.workspace_id, posted.get("preview_q"))
        contact = None
        if public_id:
            try:
                number = scope.codec.decode("contact", public_id)
                contact = previews.contact_by_id(session, scope.workspace_id, number)
            except (BadId, NotFound):
                contact = None
        session.expunge_all()
    return contact or (found[0] if found else None), found


def _preview(
    scope: PageScope, posted: Posted, draft: defs.TemplateInput, template: EmailTemplate | None
) -> dict[str, Any]:
    """What the preview panel shows: each variant rendered for the chosen contact, or why not."""
    contact, found = _chosen_contact(scope, posted)
    result: dict[str, Any] = {"found": found, "searched": posted.get("preview_q").strip(), "contact": contact}
    if contact is None or not draft.variants:
        return {"preview": result}
    public_url = scope.app.settings.public_url
    with scope.db.session() as session:
        contact = previews.contact_by_id(session, scope.workspace_id, contact.id)
        mailbox = previews.sender_of(session, scope.workspace_id)
        context = previews.preview_context(session, scope.workspace_id, contact, mailbox, public_url)
        chosen = previews.chosen_key(session, template.id, contact) if template is not None else None
        result["sender"] = mailbox.from_email if mailbox else None
        session.expunge_all()
    result["contact"] = contact
    result["chosen"] = chosen
    result["variants"] = [previews.preview_variant(variant, context) for variant in draft.variants]
    result["public_id"] = scope.codec.encode("contact", contact.id)
    return {"preview": result}
