"""Form definitions: their fields, consent, gated magnet, allowed origins, limits; create and change.

A form's slug is public and unique across the installation (embed URLs carry no workspace). Its
``fields`` are stored as ``{"key", "label", "type", "maps_to", "required", "options"}`` dicts (the
contract the public form pages read). Exactly one field takes the email address: a submission
without one could not become a contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.assets import get_asset
from leadwell.capture.values import clean_int, clean_origin, clean_slug, clean_text
from leadwell.db.models import Form, FormSubmission
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound

FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox", "number", "url")
CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "name",  # a full name, split into first and last
    "phone",
    "title",
    "organization",
    "website",
    "city",
    "region",
    "country",
    "street",
    "postal_code",
)
# Hidden fields the public form adds itself: a visible field must not take their names.
RESERVED_KEYS = frozenset({"vid", "ref", "nonce", "csrf_token", "consent", "started", "page", "form"})
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 30
MAX_OPTIONS = 50
MAX_ORIGINS = 20


@dataclass
class FieldInput:
    """One field row as the editor sends it."""

    key: str = ""
    label: str = ""
    type: str = "text"
    maps_to: str = ""
    required: bool = False
    options: str = ""  # one per line, for select fields

    @property
    def blank(self) -> bool:
        return not (self.key.strip() or self.label.strip() or self.maps_to.strip() or self.options.strip())


@dataclass
class FormInput:
    """What an editor or the CLI sends for a form; text as typed, cleaned by the service."""

    name: str
    slug: str = ""
    fields: list[FieldInput] = field(default_factory=list)
    consent_text: str = ""
    consent_required: bool = False
    asset: str = ""  # the gated magnet's slug
    allowed_origins: str = ""  # one per line
    submit_label: str = "Send"
    thank_you: str = ""
    min_fill_seconds: str = "3"
    per_ip_per_hour: str = "20"
    per_form_per_minute: str = "120"
    source: str = ""


def default_fields() -> list[FieldInput]:
    """A new form's starting fields: email, first and last name."""
    return [
        FieldInput("email", "Email", "email", "email", True),
        FieldInput("first_name", "First name", "text", "first_name", False),
        FieldInput("last_name", "Last name", "text", "last_name", False),
    ]


def _maps_to(row: FieldInput, key: str, where: str) -> str:
    target = row.maps_to.strip() or f"custom.{key}"
    if target in CONTACT_FIELDS:
        return target
    custom = target.removeprefix("custom.")
    if target.startswith("custom.") and _KEY_RE.match(custom):
        return target
    raise InvalidInput(
        f"{where}.maps_to: {target[:60]!r} is not a contact field ({', '.join(CONTACT_FIELDS)}) "
        "nor custom.<name> (lowercase letters, digits, _)",
        field=f"{where}.maps_to",
    )


def _options(row: FieldInput, where: str) -> list[str]:
    if row.type != "select":
        return []
    options = [clean_text(line, f"{where}.options", 200) for line in row.options.splitlines() if line.strip()]
    if not options:
        raise InvalidInput(
            f"{where}.options: a select field needs options, one per line", field=f"{where}.options"
        )
    if len(options) > MAX_OPTIONS or len(set(options)) != len(options):
        raise InvalidInput(
            f"{where}.options: at most {MAX_OPTIONS} options, each once", field=f"{where}.options"
        )
    return options


def clean_field(row: FieldInput, index: int) -> dict[str, Any]:
    """One field row checked, as stored; errors name ``fields[i].<part>``."""
    where = f"fields[{index}]"
    key = row.key.strip().lower()
    if not _KEY_RE.match(key) or key in RESERVED_KEYS or key.startswith(("utm_", "lw_")):
        raise InvalidInput(
            f"{where}.key: {row.key[:40]!r} must be a name of lowercase letters, digits and _ "
            "(starting with a letter, not utm_… nor one of the form's hidden names)",
            field=f"{where}.key",
        )
    if row.type not in FIELD_TYPES:
        raise InvalidInput(f"{where}.type: one of {', '.join(FIELD_TYPES)}", field=f"{where}.type")
    target = _maps_to(row, key, where)
    if (target == "email") != (row.type == "email"):
        raise InvalidInput(
            f"{where}.type: the field that takes the email address has type email, and only it",
            field=f"{where}.type",
        )
    if row.type == "checkbox" and not target.startswith("custom."):
        raise InvalidInput(
            f"{where}.maps_to: a checkbox can only fill a custom field", field=f"{where}.maps_to"
        )
    if target == "email" and not row.required:
        raise InvalidInput(f"{where}.required: the email field must be required", field=f"{where}.required")
    return {
        "key": key,
        "label": clean_text(row.label, f"{where}.label", 200, required=True),
        "type": row.type,
        "maps_to": target,
        "required": bool(row.required),
        "options": _options(row, where),
    }


def clean_fields(rows: list[FieldInput]) -> list[dict[str, Any]]:
    """The non-blank rows checked: unique keys and targets, exactly one email field. Errors name
    the row as the editor shows it (``fields[2].key``), blank rows included in the count."""
    kept = [(index, row) for index, row in enumerate(rows) if not row.blank]
    if len(kept) > MAX_FIELDS:
        raise InvalidInput(f"fields: at most {MAX_FIELDS} fields", field="fields")
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    targets: set[str] = set()
    for index, row in kept:
        item = clean_field(row, index)
        where = f"fields[{index}]"
        if item["key"] in keys:
            raise InvalidInput(f"{where}.key: {item['key']!r} is used twice", field=f"{where}.key")
        if item["maps_to"] in targets:
            raise InvalidInput(
                f"{where}.maps_to: two fields fill {item['maps_to']}", field=f"{where}.maps_to"
            )
        keys.add(item["key"])
        targets.add(item["maps_to"])
        cleaned.append(item)
    if "email" not in targets:
        raise InvalidInput("fields: the form needs exactly one email field (type email)", field="fields")
    return cleaned


def clean_origins(text: str) -> list[str]:
    """Allowed origins, one per line (or comma), normalised and de-duplicated in order."""
    origins: list[str] = []
    lines = [line for line in re.split(r"[\n,]", text) if line.strip()]
    if len(lines) > MAX_ORIGINS:
        raise InvalidInput(f"allowed_origins: at most {MAX_ORIGINS} origins", field="allowed_origins")
    for index, line in enumerate(lines):
        origin = clean_origin(line, f"allowed_origins[{index}]")
        if origin not in origins:
            origins.append(origin)
    return origins


def get_form(session: Session, workspace_id: int, slug: str) -> Form:
    """The workspace's form with ``slug``, else :class:`NotFound`."""
    form = session.scalar(select(Form).where(Form.workspace_id == workspace_id, Form.slug == slug))
    if form is None:
        raise NotFound(f"form: no form {slug[:80]!r} in this workspace", field="form")
    return form


def list_forms(session: Session, workspace_id: int, archived: bool = False) -> list[Form]:
    """The workspace's forms, newest first; archived ones only when asked."""
    query = select(Form).where(Form.workspace_id == workspace_id)
    if not archived:
        query = query.where(Form.archived_at.is_(None))
    return list(session.scalars(query.order_by(Form.created_at.desc(), Form.id.desc())))


def _apply(session: Session, workspace_id: int, form: Form, data: FormInput) -> None:
    form.name = clean_text(data.name, "name", 200, required=True)
    form.fields = clean_fields(data.fields)
    consent = clean_text(data.consent_text, "consent_text", 2000)
    if data.consent_required and not consent:
        raise InvalidInput("consent_text: a required consent needs its exact words", field="consent_text")
    form.consent_text = consent or None
    form.consent_required = bool(consent) and data.consent_required
    gated = data.asset.strip()
    if gated:
        try:
            asset = get_asset(session, workspace_id, gated)
        except NotFound:
            raise InvalidInput(f"asset: no magnet {gated[:80]!r} in this workspace", field="asset") from None
        if asset.archived_at is not None and asset.id != form.asset_id:
            raise InvalidInput(f"asset: the magnet {gated!r} is archived", field="asset")
        form.asset_id = asset.id
    else:
        form.asset_id = None
    form.allowed_origins = clean_origins(data.allowed_origins)
    form.submit_label = clean_text(data.submit_label, "submit_label", 80) or "Send"
    form.thank_you = clean_text(data.thank_you, "thank_you", 5000)
    form.min_fill_seconds = clean_int(data.min_fill_seconds, "min_fill_seconds", 0, 600, 3)
    form.per_ip_per_hour = clean_int(data.per_ip_per_hour, "per_ip_per_hour", 1, 100_000, 20)
    form.per_form_per_minute = clean_int(data.per_form_per_minute, "per_form_per_minute", 1, 1_000_000, 120)
    form.source = clean_text(data.source, "source", 120) or None


def create_form(session: Session, workspace_id: int, data: FormInput) -> Form:
    """A new form; the slug (unique across the installation) defaults to one made from the name."""
    slug = clean_slug(data.slug, data.name)
    if session.scalar(select(Form.id).where(Form.slug == slug)) is not None:
        raise Conflict(f"slug: {slug!r} is already taken; choose another", field="slug")
    form = Form(workspace_id=workspace_id, slug=slug, name="", fields=[], allowed_origins=[])
    _apply(session, workspace_id, form, data)
    session.add(form)
    session.flush()
    return form


def update_form(session: Session, workspace_id: int, slug: str, data: FormInput) -> Form:
    """Change a form; its slug stays (embed snippets on other sites use it)."""
    form = get_form(session, workspace_id, slug)
    _apply(session, workspace_id, form, data)
    form.updated_at = utcnow()
    session.flush()
    return form


def field_inputs(form: Form) -> list[FieldInput]:
    """A stored form's fields as editor rows."""
    return [
        FieldInput(
            str(item.get("key", "")),
            str(item.get("label", "")),
            str(item.get("type", "text")),
            str(item.get("maps_to", "")),
            bool(item.get("required")),
            "\n".join(item.get("options") or []),
        )
        for item in form.fields
    ]


def remove_form(session: Session, workspace_id: int, slug: str) -> str:
    """Delete a form nobody submitted, or archive one with submissions; "deleted" or "archived"."""
    form = get_form(session, workspace_id, slug)
    used = session.scalar(select(FormSubmission.id).where(FormSubmission.form_id == form.id).limit(1))
    if used is not None:
        form.archived_at = form.archived_at or utcnow()
        return "archived"
    session.delete(form)
    session.flush()
    return "deleted"


def restore_form(session: Session, workspace_id: int, slug: str) -> Form:
    """Bring an archived form back."""
    form = get_form(session, workspace_id, slug)
    form.archived_at = None
    return form
