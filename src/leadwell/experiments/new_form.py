"""The new-experiment form's values: read from a post, prefilled from the subject's defaults, and
turned into the mapping :func:`leadwell.experiments.spec_input.experiment_spec` reads (the same a
TOML file gives ``leadwell experiment create``).

Variant fields are posted as ``variants[0].name``, ``variants[1].overrides.title``…: the names the
service's errors use, so a refused value is marked where it was typed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted
from leadwell.errors import LeadwellError
from leadwell.experiments.definitions import default_variants
from leadwell.experiments.spec_input import variant_data
from leadwell.experiments.subject_choices import subject_id

MAX_VARIANTS = 6
KEYS = "ABCDEF"
# What each kind's variant changes, as overrides typed in the form.
OVERRIDE_FIELDS = {
    "landing_page": ("title", "body_markdown"),
    "form": ("submit_label", "thank_you"),
    "channel_offer": ("description",),
}
SETTINGS = ("alpha", "power", "minimum_effect", "baseline_rate", "window_days", "max_days")
DEFAULTS = {
    "statistic": "sequential",
    "allocation": "fixed",
    "alpha": "0.05",
    "power": "0.8",
    "minimum_effect": "20%",
    "window_days": "30",
}
_VARIANT_FIELD = re.compile(r"^variants\[(\d)\]\.(.+)$")


@dataclass
class Draft:
    """The form as shown: every value as text, the variants as dicts of text."""

    values: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))
    variants: list[dict[str, Any]] = field(default_factory=list)
    guardrails: dict[str, str] = field(default_factory=dict)  # metric key → tolerance as typed

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def blank_variant(position: int) -> dict[str, Any]:
    """An empty variant row: key by position, the first is the control."""
    return {"key": KEYS[position], "name": "", "weight": "1", "is_control": position == 0, "overrides": {}}


def _variant_of(posted: Posted, position: int, control: str) -> dict[str, Any]:
    prefix = f"variants[{position}]."
    row: dict[str, Any] = {"overrides": {}, "is_control": control == str(position)}
    for name, value in posted.values.items():
        match = _VARIANT_FIELD.match(name)
        if not name.startswith(prefix) or match is None:
            continue
        part = match.group(2)
        if part.startswith("overrides."):
            row["overrides"][part.removeprefix("overrides.")] = value
        else:
            row[part] = value
    hidden = posted.lists.get(f"{prefix}overrides.hide_fields", [])
    if hidden:
        row["overrides"]["hide_fields"] = hidden
    return row


def draft_of(posted: Posted) -> Draft:
    """The form's values as posted."""
    names = ("name", "slug", "hypothesis", "kind", "subject", "primary_metric", "statistic", "allocation")
    # A setting the form did not show yet (no kind chosen) keeps its default; one emptied stays empty.
    values = dict(DEFAULTS)
    values.update(
        {name: posted.values[name].strip() for name in (*names, *SETTINGS) if name in posted.values}
    )
    try:
        count = max(0, min(MAX_VARIANTS, int(posted.get("variant_count") or 0)))
    except ValueError:
        count = 0
    control = posted.get("control", "0")
    variants = [_variant_of(posted, position, control) for position in range(count)]
    guardrails = {key: posted.get(f"tolerance.{key}") for key in posted.lists.get("guardrails", [])}
    return Draft(values, variants, guardrails)


def prefill(session: Session, workspace_id: int, draft: Draft) -> Draft:
    """The variants the chosen kind and subject start from (the subject's current version as the
    control A, a B to edit; a template's own variants), or two blank rows when there is no subject
    yet or it is not valid."""
    kind = draft.get("kind")
    try:
        subject = subject_id(session, workspace_id, kind, draft.get("subject"))
        if subject is None and kind != "channel_offer":
            raise LookupError
        specs = default_variants(session, workspace_id, kind, subject)
    except (LeadwellError, LookupError):
        draft.variants = [blank_variant(0), blank_variant(1)]
        return draft
    rows = []
    for spec in specs:
        row = variant_data(session, spec)
        row["weight"] = f"{row['weight']:g}"
        rows.append(row)
    draft.variants = rows
    return draft


def _overrides(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    typed = row.get("overrides", {})
    kept: dict[str, Any] = {}
    for name in OVERRIDE_FIELDS.get(kind, ()):
        value = str(typed.get(name, "")).strip()
        if value:
            kept[name] = value
    if kind == "form" and typed.get("hide_fields"):
        kept["hide_fields"] = list(typed["hide_fields"])
    return kept


def spec_data(draft: Draft) -> dict[str, Any]:
    """The mapping ``experiment_spec`` reads: empty settings left out (their defaults apply)."""
    kind = draft.get("kind")
    data: dict[str, Any] = {
        name: draft.get(name)
        for name in (
            "slug",
            "name",
            "hypothesis",
            "kind",
            "subject",
            "primary_metric",
            "statistic",
            "allocation",
        )
    }
    data.update({name: draft.get(name) for name in SETTINGS if draft.get(name)})
    data["guardrails"] = [
        {"metric": key, "tolerance": _tolerance(value)} for key, value in draft.guardrails.items()
    ]
    data["variants"] = [
        {
            "key": str(row.get("key", "")),
            "name": str(row.get("name", "")),
            "weight": str(row.get("weight", "")),
            "is_control": bool(row.get("is_control")),
            "template_variant": str(row.get("template_variant", "")),
            "template": str(row.get("template", "")),
            "asset": str(row.get("asset", "")),
            "overrides": _overrides(kind, row),
        }
        for row in draft.variants
    ]
    return data


def _tolerance(typed: str) -> str:
    """A tolerance as typed in percent ("10" means 10 %), as the spec reads it ("10%")."""
    typed = typed.strip()
    return f"{typed.rstrip('%')}%" if typed else "0"
