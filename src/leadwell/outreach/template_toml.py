"""Templates as TOML files, for ``leadwell outreach templates check|apply|show``.

    name = "After the white paper"
    slug = "paper-follow-up"

    [variants.a]
    subject = "Your copy, {{ first_name | default('there') }}"
    weight = 1
    html = '''
    <p>Hello {{ first_name | default("there") }},</p>
    '''
    text = ""

Bodies are written as multi-line literal strings where they can be, so a file read back by
:func:`template_toml` and written out again is the same template.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from leadwell.db.models import EmailTemplate, TemplateVariant
from leadwell.errors import InvalidInput
from leadwell.outreach.template_defs import TemplateInput, VariantInput

TOP_KEYS = frozenset({"name", "slug", "variants"})
VARIANT_KEYS = frozenset({"subject", "html", "text", "weight"})
# Characters a TOML literal string cannot hold (control characters other than tab and newline).
_UNLITERAL = {chr(code) for code in range(32) if chr(code) not in "\t\n"} | {"\x7f"}


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{key}: text is expected", field=f"{where}.{key}")
    return value


def _variant(key: str, data: Any) -> VariantInput:
    where = f"variants[{key}]"
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: a table [variants.{key}] is expected", field=where)
    unknown = sorted(set(data) - VARIANT_KEYS)
    if unknown:
        raise InvalidInput(
            f"{where}.{unknown[0]}: unknown key (use {', '.join(sorted(VARIANT_KEYS))})",
            field=f"{where}.{unknown[0]}",
        )
    weight = data.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise InvalidInput(f"{where}.weight: a whole number is expected", field=f"{where}.weight")
    return VariantInput(
        key, _text(data, "subject", where), _text(data, "html", where), _text(data, "text", where), weight
    )


def template_toml(text: str) -> TemplateInput:
    """A template read from TOML text; errors name the key (``variants[b].weight``) or the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"file: not valid TOML ({error})", field="file") from None
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise InvalidInput(f"{unknown[0]}: unknown key (use name, slug, [variants.a]…)", field=unknown[0])
    variants = data.get("variants", {})
    if not isinstance(variants, dict) or not variants:
        raise InvalidInput("variants: at least one [variants.a] table is needed", field="variants")
    return TemplateInput(
        name=_text(data, "name", "template").strip() if "name" in data else "",
        slug=_text(data, "slug", "template"),
        variants=[_variant(key, value) for key, value in variants.items()],
    )


def _string(value: str) -> str:
    """A TOML string for ``value``: multi-line literal when possible (readable), else basic."""
    if "\n" in value and "'''" not in value and not value.endswith("'") and not set(value) & _UNLITERAL:
        # The newline right after the opening quotes is dropped by TOML readers.
        return f"'''\n{value}'''"
    # A JSON string is a TOML basic string, but for DEL, which JSON leaves as it is.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml(template: EmailTemplate, variants: list[TemplateVariant]) -> str:
    """The template as TOML that :func:`template_toml` reads back to the same template."""
    lines = [f"name = {_string(template.name)}", f"slug = {_string(template.slug)}"]
    for variant in variants:
        lines += [
            "",
            f"[variants.{variant.key}]",
            f"subject = {_string(variant.subject)}",
            f"weight = {variant.weight}",
            f"html = {_string(variant.html)}",
            f"text = {_string(variant.text)}",
        ]
    return "\n".join(lines) + "\n"
