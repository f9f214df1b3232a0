"""What promoting a variant changes, in words, for the confirmation the page asks before it does
(see :func:`leadwell.experiments.promote.promote` for what is written)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, EmailTemplate, Experiment, ExperimentVariant
from leadwell.experiments.subjects import subject_label

AFTERWARDS = (
    "The experiment becomes scaled: everyone new gets {key}, the people already assigned keep their "
    "variant, and the worker watches {key}'s rate against the level it was tested at."
)


def _name(session: Session, model: type[EmailTemplate] | type[Asset], row_id: int | None) -> str:
    if row_id is None:
        return "none"
    column = model.name if model is EmailTemplate else Asset.title
    return str(session.scalar(select(column).where(model.id == row_id)) or "(deleted)")


def _change(session: Session, experiment: Experiment, variant: ExperimentVariant, subject: str) -> str:
    overrides = variant.overrides or {}
    if experiment.kind == "email_template":
        return (
            f"{subject} sends only its variant {variant.template_variant_key!r} from now on "
            "(the other variants' weights become 0)."
        )
    if experiment.kind == "sequence_step":
        template = _name(session, EmailTemplate, variant.template_id)
        return f"{subject} sends the template {template!r} from now on."
    if experiment.kind == "landing_page":
        changed = [
            label for key, label in (("title", "title"), ("body_markdown", "text")) if overrides.get(key)
        ]
        what = " and ".join(changed) or "nothing (this variant overrides nothing)"
        return f"{subject} takes {variant.key}'s {what}."
    if experiment.kind == "form":
        parts = [
            label
            for key, label in (("submit_label", "button label"), ("thank_you", "thank-you text"))
            if overrides.get(key)
        ]
        hidden = overrides.get("hide_fields") or []
        if hidden:
            parts.append(f"loses the fields {', '.join(hidden)} for good")
        return (
            f"{subject} takes {variant.key}'s "
            + (" and ".join(parts) or "settings (it changes nothing)")
            + "."
        )
    if experiment.kind == "magnet":
        return f"{subject} delivers {_name(session, Asset, variant.asset_id)!r} from now on."
    return (
        f"Nothing changes inside leadwell: your systems keep reading {variant.key}'s details "
        "for everyone new."
    )


def promotion_effects(
    session: Session, experiment: Experiment, variants: list[ExperimentVariant]
) -> dict[str, str]:
    """Variant key → what promoting it changes, then what happens to the experiment."""
    subject = subject_label(session, experiment)
    return {
        variant.key: f"{_change(session, experiment, variant, subject)} {AFTERWARDS.format(key=variant.key)}"
        for variant in variants
    }
