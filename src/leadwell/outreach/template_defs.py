"""Email templates and their variants: list, create, change, archive.

A template has a name, a slug (lowercase letters, digits and '-', unique in the workspace) and one
or more variants keyed ``a``, ``b``, ``c``… Each variant holds a subject, an HTML body, a plain
text body and a weight (how often it is chosen against the others; at least one above 0). Every
save checks every variant; a refused save lists every problem with its field
(``variants[b].html``) and line, and stores nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_int, clean_text
from leadwell.db.models import EmailTemplate, TemplateVariant
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.outreach.render import MAX_SUBJECT, TemplateProblem, check_variant
from leadwell.outreach.slugs import checked_slug

VARIANT_KEY = re.compile(r"[a-z]")
MAX_VARIANTS = 10
MAX_BODY = 200_000  # characters of one HTML or text body
MAX_WEIGHT = 1000
MAX_LISTED_PROBLEMS = 20


@dataclass
class VariantInput:
    """One variant as the editor, the CLI or a TOML file gives it; text as typed."""

    key: str = ""
    subject: str = ""
    html: str = ""
    text: str = ""
    weight: str | int = 1


@dataclass
class TemplateInput:
    """A template as given: name, slug (blank makes one from the name) and its variants."""

    name: str
    slug: str = ""
    variants: list[VariantInput] = field(default_factory=list)


@dataclass(frozen=True)
class FieldProblem:
    """A template problem placed on the editor's field (``variants[b].html``), with its line."""

    field: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.field}: line {self.line}: {self.message}"


class TemplateRefused(InvalidInput):
    """A save refused for problems in the variants; ``problems`` holds every one of them."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        shown = "; ".join(str(problem) for problem in problems[:MAX_LISTED_PROBLEMS])
        more = (
            f"; and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
        )
        super().__init__(shown + more, field=problems[0].field)
        self.problems = problems


@dataclass(frozen=True)
class TemplateRow:
    """A line of the templates list."""

    slug: str
    name: str
    variants: int
    updated_at: datetime
    archived: bool


def variant_inputs(variants: list[TemplateVariant]) -> list[VariantInput]:
    """Stored variants as editor values."""
    return [VariantInput(v.key, v.subject, v.html, v.text, v.weight) for v in variants]


def next_key(keys: list[str]) -> str:
    """The first letter not yet used as a variant key ("a" for none, "c" after "a" and "b")."""
    return next((letter for letter in "abcdefghijklmnopqrstuvwxyz" if letter not in keys), "z")


def get_template(session: Session, workspace_id: int, slug: str) -> EmailTemplate:
    """The workspace's template with ``slug``, else :class:`NotFound`."""
    template = session.scalar(
        select(EmailTemplate).where(EmailTemplate.workspace_id == workspace_id, EmailTemplate.slug == slug)
    )
    if template is None:
        raise NotFound(f"template: no template {slug[:80]!r} in this workspace", field="template")
    return template


def variants_of(session: Session, template_id: int) -> list[TemplateVariant]:
    """A template's variants in key order."""
    query = select(TemplateVariant).where(TemplateVariant.template_id == template_id)
    return list(session.scalars(query.order_by(TemplateVariant.key)))


def list_templates(session: Session, workspace_id: int, archived: bool = False) -> list[TemplateRow]:
    """The workspace's templates, most recently changed first; archived ones only when asked."""
    counts = (
        select(TemplateVariant.template_id, func.count().label("variants"))
        .group_by(TemplateVariant.template_id)
        .subquery()
    )
    query = (
        select(EmailTemplate, func.coalesce(counts.c.variants, 0))
        .outerjoin(counts, counts.c.template_id == EmailTemplate.id)
        .where(EmailTemplate.workspace_id == workspace_id)
    )
    if not archived:
        query = query.where(EmailTemplate.archived_at.is_(None))
    query = query.order_by(EmailTemplate.updated_at.desc(), EmailTemplate.id.desc())
    return [
        TemplateRow(t.slug, t.name, int(count), t.updated_at, t.archived_at is not None)
        for t, count in session.execute(query)
    ]


def _variant_fields(index: int, variant: VariantInput) -> tuple[str, int]:
    """The variant's key and weight checked (errors name ``variants[i]`` as the editor numbers it)."""
    key = variant.key.strip().lower()
    if not VARIANT_KEY.fullmatch(key):
        raise InvalidInput(
            f"variants[{index}].key: one lowercase letter (a, b, c…), got {variant.key[:20]!r}",
            field=f"variants[{index}].key",
        )
    weight = clean_int(variant.weight, f"variants[{key}].weight", 0, MAX_WEIGHT, 1)
    return key, weight


def _size_problems(where: str, variant: VariantInput) -> list[FieldProblem]:
    problems = []
    if len(variant.subject) > MAX_SUBJECT:
        problems.append(FieldProblem(f"{where}.subject", 1, f"at most {MAX_SUBJECT} characters"))
    for part in ("html", "text"):
        if len(getattr(variant, part)) > MAX_BODY:
            problems.append(FieldProblem(f"{where}.{part}", 1, f"at most {MAX_BODY:,} characters"))
    return problems


def _placed(where: str, problems: list[TemplateProblem]) -> list[FieldProblem]:
    return [FieldProblem(f"{where}.{p.part}", p.line, p.message) for p in problems]


def clean_variants(variants: list[VariantInput]) -> list[tuple[str, int, VariantInput]]:
    """Every variant checked: ``(key, weight, variant)`` in key order, or :class:`TemplateRefused`
    listing every problem of every variant (or :class:`InvalidInput` for a bad key or weight)."""
    if not variants:
        raise InvalidInput("variants: a template needs at least one variant", field="variants")
    if len(variants) > MAX_VARIANTS:
        raise InvalidInput(f"variants: at most {MAX_VARIANTS} variants", field="variants")
    cleaned: dict[str, tuple[str, int, VariantInput]] = {}
    problems: list[FieldProblem] = []
    for index, variant in enumerate(variants):
        key, weight = _variant_fields(index, variant)
        if key in cleaned:
            raise InvalidInput(
                f"variants[{key}].key: the key {key!r} is used twice", field=f"variants[{key}].key"
            )
        where = f"variants[{key}]"
        sized = _size_problems(where, variant)
        problems += sized or _placed(where, check_variant(variant.subject, variant.html, variant.text))
        cleaned[key] = (key, weight, variant)
    if problems:
        raise TemplateRefused(problems)
    if not any(weight > 0 for _key, weight, _variant in cleaned.values()):
        raise InvalidInput("variants: at least one variant needs a weight above 0", field="variants")
    return [cleaned[key] for key in sorted(cleaned)]


def _store_variants(session: Session, template: EmailTemplate, variants: list[VariantInput]) -> None:
    """Replace the template's variants with ``variants`` (changed in place, added, removed)."""
    cleaned = clean_variants(variants)
    existing = {variant.key: variant for variant in variants_of(session, template.id)}
    keep = [key for key, _weight, _variant in cleaned]
    session.execute(
        delete(TemplateVariant)
        .where(TemplateVariant.template_id == template.id, TemplateVariant.key.not_in(keep))
        .execution_options(synchronize_session="fetch")
    )
    for key, weight, given in cleaned:
        stored = existing.get(key) or TemplateVariant(template_id=template.id, key=key)
        stored.subject = given.subject.strip()
        stored.html = given.html
        stored.text = given.text
        stored.weight = weight
        session.add(stored)


def _free_slug(session: Session, workspace_id: int, slug: str, template_id: int | None = None) -> None:
    query = select(EmailTemplate.id).where(
        EmailTemplate.workspace_id == workspace_id, EmailTemplate.slug == slug
    )
    taken = session.scalar(query)
    if taken is not None and taken != template_id:
        raise Conflict(f"slug: {slug!r} is already taken by another template; choose another", field="slug")


def create_template(session: Session, workspace_id: int, data: TemplateInput) -> EmailTemplate:
    """A new template with its variants; the slug defaults to one made from the name."""
    name = clean_text(data.name, "name", 200, required=True)
    slug = checked_slug(data.slug, name)
    _free_slug(session, workspace_id, slug)
    clean_variants(data.variants)  # refuse before anything is added to the session
    template = EmailTemplate(workspace_id=workspace_id, slug=slug, name=name)
    session.add(template)
    session.flush()
    _store_variants(session, template, data.variants)
    session.flush()
    return template


def update_template(session: Session, workspace_id: int, slug: str, data: TemplateInput) -> EmailTemplate:
    """Change a template's name, slug (a blank one keeps it) and variants."""
    template = get_template(session, workspace_id, slug)
    name = clean_text(data.name, "name", 200, required=True)
    new_slug = checked_slug(data.slug, name) if data.slug.strip() else template.slug
    _free_slug(session, workspace_id, new_slug, template.id)
    clean_variants(data.variants)
    template.name = name
    template.slug = new_slug
    template.updated_at = utcnow()  # variants changing do not touch the template row by themselves
    _store_variants(session, template, data.variants)
    session.flush()
    return template


def apply_template(session: Session, workspace_id: int, data: TemplateInput) -> tuple[EmailTemplate, bool]:
    """Create the template with ``data.slug``, or change it when it exists; ``(template, created)``."""
    slug = checked_slug(data.slug, data.name)
    exists = session.scalar(
        select(EmailTemplate.id).where(EmailTemplate.workspace_id == workspace_id, EmailTemplate.slug == slug)
    )
    data.slug = slug
    if exists is None:
        return create_template(session, workspace_id, data), True
    return update_template(session, workspace_id, slug, data), False


def archive_template(session: Session, workspace_id: int, slug: str) -> EmailTemplate:
    """Hide a template from the lists and pickers; messages and sequences that use it keep it."""
    template = get_template(session, workspace_id, slug)
    template.archived_at = template.archived_at or utcnow()
    return template


def restore_template(session: Session, workspace_id: int, slug: str) -> EmailTemplate:
    """Bring an archived template back."""
    template = get_template(session, workspace_id, slug)
    template.archived_at = None
    return template
