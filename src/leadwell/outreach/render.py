"""Email templates: checking, the merge context of a contact, rendering, and choosing a variant.

A variant has three parts written in Jinja2 — ``subject``, ``html`` and ``text`` — rendered in a
sandbox (see :mod:`leadwell.outreach.render_sandbox`). The HTML part escapes merged values, the
subject and text keep them verbatim. :func:`check_variant` finds syntax errors, unknown merge
fields and unavailable features with their line numbers before anything is queued; a known field
with no value renders as "" and is reported in :attr:`Rendered.missing` unless the template gives
it a fallback (``{{ first_name | default("there") }}``).
"""

from __future__ import annotations

import hashlib
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template
from jinja2.exceptions import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.contacts.importing.countries import country_name
from leadwell.db.models import Contact, Mailbox, Organization, TemplateVariant
from leadwell.errors import InvalidInput, NotFound
from leadwell.outreach.render_checks import FLAT_FIELDS, KNOWN_NAMES, check_part
from leadwell.outreach.render_sandbox import FieldGroup, Missing, sandbox_for
from leadwell.outreach.render_text import html_to_text

PARTS = ("subject", "html", "text")
MERGE_FIELDS: tuple[str, ...] = KNOWN_NAMES
"""Every merge field a template may use; ``custom.<key>`` stands for each custom field."""
MAX_SUBJECT = 500  # the stored subject's length; a longer rendered one is cut
MAX_RENDERED = 1_000_000  # characters of one rendered body
_LINE_BREAKS = re.compile(r"\s+")


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template: the part ("subject", "html", "text"), its line (1-based)
    and what is wrong ("unknown merge field 'frist_name'")."""

    part: str
    line: int
    message: str


class TemplateInvalid(InvalidInput):
    """A template that cannot be rendered; ``detail`` names the part and line of the first problem
    and ``problems`` lists them all."""

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.part}: line {first.line}: {first.message}{more}", field=first.part)
        self.problems = list(problems)


@dataclass(frozen=True)
class Rendered:
    """A rendered variant. ``missing`` names the merge fields printed without a value nor a default."""

    subject: str
    html: str
    text: str
    missing: list[str]


def check_variant(subject: str, html: str, text: str) -> list[TemplateProblem]:
    """Every problem of a variant's three parts, part by part in line order; empty when it is fine."""
    problems = [
        _problem
        for part, source in zip(PARTS, (subject, html, text), strict=True)
        for _problem in _checked(part, source)[1]
    ]
    if not subject.strip():
        problems.insert(0, TemplateProblem("subject", 1, "the subject is empty"))
    elif "\n" in subject.strip() or "\r" in subject:
        problems.insert(0, TemplateProblem("subject", 1, "the subject must be one line"))
    if not html.strip() and not text.strip():
        problems.append(TemplateProblem("html", 1, "the message has no body: write the HTML or the text"))
    return problems


@lru_cache(maxsize=1024)
def _checked(part: str, source: str) -> tuple[Template | None, tuple[TemplateProblem, ...]]:
    """A part compiled once (templates render for thousands of contacts), or its problems."""
    problems = tuple(
        TemplateProblem(part, problem.line, problem.message) for problem in check_part(part, source)
    )
    if problems:
        return None, problems
    sandbox = sandbox_for(part)
    code = sandbox.compile(source, name=part, filename=f"<{part}>")
    return sandbox.template_class.from_code(sandbox, code, sandbox.make_globals(None)), ()


def _failure_line(error: BaseException, part: str) -> int:
    """The template line a render error happened on (Jinja rewrites tracebacks to template lines)."""
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == f"<{part}>"
    ]
    return (lines[-1] or 1) if lines else 1


def _render_part(part: str, source: str, values: dict[str, Any]) -> str:
    template, problems = _checked(part, source)
    if template is None:
        raise TemplateInvalid(problems)
    try:
        output = template.render(values)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as error:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        raise TemplateInvalid([TemplateProblem(part, _failure_line(error, part), message[:300])]) from None
    if len(output) > MAX_RENDERED:
        raise TemplateInvalid(
            [TemplateProblem(part, 1, f"the rendered {part} is longer than {MAX_RENDERED:,}")]
        )
    return output


def _values(context: dict[str, Any], sink: list[str]) -> dict[str, Any]:
    """The context as the sandbox sees it: empty fields become :class:`Missing`, groups read by dot."""
    values = dict(context)
    for name in FLAT_FIELDS:
        value = values.get(name)
        if value is None or value == "" or value == []:
            values[name] = Missing(name, sink)
    for group in ("custom", "sender"):
        raw = values.get(group)
        values[group] = FieldGroup(group, raw if isinstance(raw, dict) else {}, sink)
    return values


def render_variant(variant: TemplateVariant, context: dict[str, Any]) -> Rendered:
    """Render a variant for one contact's ``context`` (see :func:`merge_context`).

    Raises :class:`TemplateInvalid` for a template with problems or one that fails while rendering
    (a filter given a bad value). The subject becomes one line of at most 500 characters; an empty
    text part is derived from the rendered HTML.
    """
    problems = check_variant(variant.subject, variant.html, variant.text)
    if problems:
        raise TemplateInvalid(problems)
    sink: list[str] = []
    values = _values(context, sink)
    subject = _LINE_BREAKS.sub(" ", _render_part("subject", variant.subject, values)).strip()[:MAX_SUBJECT]
    html = _render_part("html", variant.html, values) if variant.html.strip() else ""
    text = _render_part("text", variant.text, values) if variant.text.strip() else html_to_text(html)
    return Rendered(subject=subject, html=html, text=text, missing=list(sink))


def merge_context(
    session: Session,
    workspace_id: int,
    contact: Contact,
    mailbox: Mailbox | None,
    links: dict[str, str],
) -> dict[str, Any]:
    """The merge fields of ``contact`` sending from ``mailbox``, plus ``links`` (``unsubscribe_url``…).

    Values are plain text (custom fields keep their numbers and lists); a field without a value
    is "". Nothing is read outside ``workspace_id``.
    """
    organization = None
    if contact.organization_id is not None:
        organization = session.scalar(
            select(Organization).where(
                Organization.id == contact.organization_id, Organization.workspace_id == workspace_id
            )
        )
    domain = (organization.domain if organization else None) or ""
    return {
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "full_name": " ".join(part for part in (contact.first_name, contact.last_name) if part),
        "email": contact.email or "",
        "title": contact.title or "",
        "phone": contact.phones[0] if contact.phones else "",
        "company": organization.name if organization else "",
        "website": f"https://{domain}" if domain else "",
        "domain": domain,
        "city": contact.city or "",
        "country": country_name(contact.country) or "",
        "today": datetime.now(UTC).date().isoformat(),
        "custom": dict(contact.custom or {}),
        "sender": {
            "name": mailbox.from_name if mailbox else "",
            "email": mailbox.from_email if mailbox else "",
        },
        "unsubscribe_url": "",
        "magnet_title": "",
        "magnet_url": "",
        **links,
    }


def _fraction(seed: str) -> float:
    """A number in [0, 1) fixed by ``seed``: the first 8 bytes of its SHA-256."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") / 2**64


def choose_variant(session: Session, template_id: int, seed: str) -> TemplateVariant:
    """The variant ``seed`` (a contact, say) gets: weighted by ``weight``, the same every time.

    The template's id is mixed into the seed, so one contact's draws in two templates are
    independent. With every weight 0 the first variant is used.
    """
    variants = list(
        session.scalars(
            select(TemplateVariant)
            .where(TemplateVariant.template_id == template_id)
            .order_by(TemplateVariant.key)
        )
    )
    if not variants:
        raise NotFound(f"template: no variants for template {template_id}", field="template")
    total = sum(max(variant.weight, 0) for variant in variants)
    if total <= 0:
        return variants[0]
    point = _fraction(f"{template_id}:{seed}") * total
    for variant in variants:
        point -= max(variant.weight, 0)
        if point < 0:
            return variant
    return variants[-1]  # only reached through rounding at the very top of the range
