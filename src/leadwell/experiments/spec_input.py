"""An experiment as people write it — a TOML file for ``leadwell experiment create --from``, or the
new-experiment page's form — turned into an :class:`ExperimentSpec`.

Both arrive as one mapping with subjects, templates and magnets named by slug::

    slug = "welcome-subject"
    name = "Welcome email: a question in the subject"
    kind = "email_template"          # sequence_step, landing_page, form, magnet, channel_offer
    subject = "welcome"              # a step: "SEQUENCE/N"; none for channel_offer
    primary_metric = "reply"
    guardrails = [{ metric = "unsubscribe", tolerance = 0.1 }]

    [[variants]]
    key = "A"
    name = "Statement"
    template_variant = "a"           # sequence_step: template = "slug"; magnet: asset = "slug"

Values are checked for their type here (the error names the key, ``variants[1].weight``); what
they mean — a metric that exists, weights that add up, a subject that may be tested — is checked
by :func:`leadwell.experiments.definitions.create_experiment`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from leadwell.db.models import Asset, EmailTemplate
from leadwell.errors import InvalidInput
from leadwell.experiments.specs import ExperimentSpec, VariantSpec
from leadwell.experiments.subject_choices import id_to_slug, slug_to_id, subject_id

TOP_KEYS = frozenset(
    {
        "slug", "name", "hypothesis", "kind", "subject", "primary_metric", "guardrails", "statistic",
        "alpha", "power", "minimum_effect", "baseline_rate", "allocation", "window_days", "max_days",
        "variants",
    }
)  # fmt: skip
VARIANT_KEYS = frozenset(
    {"key", "name", "weight", "is_control", "template_variant", "template", "asset", "overrides"}
)
GUARDRAIL_KEYS = frozenset({"metric", "tolerance"})


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        field = f"{where}.{unknown[0]}" if where else unknown[0]
        raise InvalidInput(f"{field}: unknown key (use {', '.join(sorted(allowed))})", field=field)


def text(data: Mapping[str, Any], key: str, field: str, default: str = "") -> str:
    """A text value (stripped); ``default`` when absent."""
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: text is expected", field=field)
    return value.strip()


def number(data: Mapping[str, Any], key: str, field: str) -> float | None:
    """A number given as such or as text ("0.05", "5%"); None when absent or empty."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: a number is expected", field=field)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        written = value.strip().replace(",", ".")
        try:
            return float(written[:-1]) / 100 if written.endswith("%") else float(written)
        except ValueError:
            pass
    raise InvalidInput(f"{field}: a number is expected (got {str(value)[:40]!r})", field=field)


def whole(data: Mapping[str, Any], key: str, field: str) -> int | None:
    """A whole number given as such or as text; None when absent or empty."""
    value = number(data, key, field)
    if value is None:
        return None
    if value != int(value):
        raise InvalidInput(f"{field}: a whole number is expected (got {value:g})", field=field)
    return int(value)


def _flag(data: Mapping[str, Any], key: str, field: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("", "on", "true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("on", "true", "yes", "1")
    raise InvalidInput(f"{field}: true or false is expected", field=field)


def _overrides(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = data.get("overrides", {})
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}.overrides: a table of values is expected", field=f"{where}.overrides")
    return dict(value)


def variant_spec(session: Session, workspace_id: int, position: int, data: Any) -> VariantSpec:
    """One variant; templates and magnets by slug."""
    where = f"variants[{position}]"
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{where}: a table [[variants]] is expected", field=where)
    _unknown(data, VARIANT_KEYS, where)
    weight = number(data, "weight", f"{where}.weight")
    template_variant = text(data, "template_variant", f"{where}.template_variant")
    return VariantSpec(
        key=text(data, "key", f"{where}.key").upper(),
        name=text(data, "name", f"{where}.name"),
        weight=1.0 if weight is None else weight,
        is_control=_flag(data, "is_control", f"{where}.is_control"),
        template_variant_key=template_variant or None,
        template_id=slug_to_id(
            session,
            EmailTemplate,
            workspace_id,
            text(data, "template", f"{where}.template"),
            f"{where}.template",
        ),
        asset_id=slug_to_id(
            session, Asset, workspace_id, text(data, "asset", f"{where}.asset"), f"{where}.asset"
        ),
        overrides=_overrides(data, where),
    )


def _guardrails(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = data.get("guardrails", [])
    if not isinstance(value, list):
        raise InvalidInput("guardrails: a list of { metric, tolerance } is expected", field="guardrails")
    rails = []
    for position, item in enumerate(value):
        where = f"guardrails[{position}]"
        if isinstance(item, str):
            item = {"metric": item}
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where}: {{ metric, tolerance }} is expected", field=where)
        _unknown(item, GUARDRAIL_KEYS, where)
        tolerance = number(item, "tolerance", f"{where}.tolerance")
        rails.append({"metric": text(item, "metric", f"{where}.metric"), "tolerance": tolerance or 0.0})
    return rails


def _variants(session: Session, workspace_id: int, data: Mapping[str, Any]) -> list[VariantSpec]:
    value = data.get("variants", [])
    if not isinstance(value, list):
        raise InvalidInput("variants: a list of [[variants]] tables is expected", field="variants")
    return [variant_spec(session, workspace_id, position, item) for position, item in enumerate(value)]


def experiment_spec(session: Session, workspace_id: int, data: Mapping[str, Any]) -> ExperimentSpec:
    """The spec ``data`` describes; an error names the key at fault. Settings left out keep the
    spec's defaults."""
    _unknown(data, TOP_KEYS, "")
    kind = text(data, "kind", "kind")
    spec = ExperimentSpec(
        slug=text(data, "slug", "slug"),
        name=text(data, "name", "name"),
        kind=kind,
        subject_id=subject_id(session, workspace_id, kind, text(data, "subject", "subject")),
        primary_metric=text(data, "primary_metric", "primary_metric"),
        variants=_variants(session, workspace_id, data),
        hypothesis=text(data, "hypothesis", "hypothesis"),
        guardrails=_guardrails(data),
        minimum_effect=number(data, "minimum_effect", "minimum_effect"),
        baseline_rate=number(data, "baseline_rate", "baseline_rate"),
        max_days=whole(data, "max_days", "max_days"),
    )
    spec.statistic = text(data, "statistic", "statistic") or spec.statistic
    spec.allocation = text(data, "allocation", "allocation") or spec.allocation
    alpha, power = number(data, "alpha", "alpha"), number(data, "power", "power")
    window_days = whole(data, "window_days", "window_days")
    spec.alpha = spec.alpha if alpha is None else alpha
    spec.power = spec.power if power is None else power
    spec.window_days = spec.window_days if window_days is None else window_days
    return spec


def variant_data(session: Session, variant: VariantSpec) -> dict[str, Any]:
    """A variant spec as the form and the TOML file write it (templates and magnets by slug)."""
    return {
        "key": variant.key,
        "name": variant.name,
        "weight": variant.weight,
        "is_control": variant.is_control,
        "template_variant": variant.template_variant_key or "",
        "template": id_to_slug(session, EmailTemplate, variant.template_id),
        "asset": id_to_slug(session, Asset, variant.asset_id),
        "overrides": dict(variant.overrides),
    }
