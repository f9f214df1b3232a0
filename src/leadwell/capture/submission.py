"""Reading and checking a posted form: the body, the hidden context fields and each field's value.

Nothing here touches the database. A body that is not a plain URL-encoded form in UTF-8, or that
repeats a field, is refused whole (:class:`Refused`); values that a person can correct (a missing
required field, a malformed address) come back as per-field messages so the form can be shown again
with what was typed kept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from email_validator import EmailNotValidError, validate_email

from leadwell.capture.abuse import HONEYPOT_FIELD, TOKEN_FIELD, Refused
from leadwell.contacts.fields import phone_to_e164
from leadwell.contacts.importing.countries import country_code
from leadwell.db.models import Form

MAX_BODY_BYTES = 64 * 1024
MAX_VALUE_LENGTH = 2000
MAX_FIELDS = 200
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX = 200
CONSENT_FIELD = "lw_consent"
VISITOR_FIELD = "lw_vid"
REFERRER_FIELD = "lw_referrer"
PAGE_URL_FIELD = "lw_page_url"
# Names the form itself uses; a field of the user's may not have one of them as its key.
RESERVED_FIELD_NAMES = frozenset(
    {*UTM_KEYS, CONSENT_FIELD, VISITOR_FIELD, REFERRER_FIELD, PAGE_URL_FIELD, TOKEN_FIELD, HONEYPOT_FIELD}
)
FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox", "number", "url")
# Contact fields a form field may fill (``maps_to``), with their length limits; ``custom.<key>``
# fills a custom field. ``name`` is a full name, split into first and last.
MAPPABLE = {
    "email": 320,
    "first_name": 120,
    "last_name": 120,
    "name": 240,
    "phone": 40,
    "title": 200,
    "organization": 300,
    "company": 300,
    "country": 80,
    "city": 120,
    "region": 120,
    "street": 300,
    "postal_code": 20,
    "website": 2000,
}
_CUSTOM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
Value = str | int | float | bool | None


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form as the prospect sees it."""

    key: str
    label: str
    type: str
    maps_to: str | None
    required: bool
    options: tuple[tuple[str, str], ...] = ()

    @property
    def limit(self) -> int:
        """The longest value accepted: the mapped contact field's size, else the general limit."""
        return MAPPABLE.get(self.maps_to or "", MAX_VALUE_LENGTH)


def _options(raw: Any) -> tuple[tuple[str, str], ...]:
    """``["A", "B"]`` or ``[{"value": "a", "label": "A"}]`` as (value, label) pairs."""
    pairs: list[tuple[str, str]] = []
    for option in raw if isinstance(raw, list) else []:
        if isinstance(option, dict):
            value = str(option.get("value", option.get("label", "")))
            pairs.append((value, str(option.get("label", value))))
        elif option is not None:
            pairs.append((str(option), str(option)))
    return tuple(pairs)


def field_specs(form: Form) -> list[FieldSpec]:
    """The form's fields, ignoring any with no usable key or a reserved one."""
    specs: list[FieldSpec] = []
    for raw in form.fields or []:
        key = str(raw.get("key") or "").strip()
        if not key or key in RESERVED_FIELD_NAMES or any(spec.key == key for spec in specs):
            continue
        kind = str(raw.get("type") or "text")
        specs.append(
            FieldSpec(
                key=key,
                label=str(raw.get("label") or key),
                type=kind if kind in FIELD_TYPES else "text",
                maps_to=(str(raw["maps_to"]).strip() or None) if raw.get("maps_to") else None,
                required=bool(raw.get("required")),
                options=_options(raw.get("options")),
            )
        )
    return specs


def parse_body(raw: bytes, content_type: str | None) -> dict[str, str]:
    """The posted fields of a URL-encoded UTF-8 body, each at most once."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise Refused(415, "Content-Type", "send the form as application/x-www-form-urlencoded")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise Refused(400, "body", "not valid UTF-8 text") from None
    except ValueError:
        raise Refused(400, "body", f"more than {MAX_FIELDS} fields") from None
    posted: dict[str, str] = {}
    for key, value in pairs:
        if key in posted:
            raise Refused(400, key[:60], "sent more than once")
        posted[key] = value
    return posted


@dataclass
class Context:
    """Where a submission came from: the hidden fields the rendered form carried."""

    utm: dict[str, str] = field(default_factory=dict)
    referrer: str | None = None
    page_url: str | None = None
    visitor_key: str | None = None


def _web_address(value: str, name: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_VALUE_LENGTH or _CONTROL.search(text):
        raise Refused(400, name, f"at most {MAX_VALUE_LENGTH} characters of plain text")
    return text


def read_context(posted: dict[str, str]) -> Context:
    """The hidden fields, checked: a tampered one is refused (people never type into them)."""
    utm: dict[str, str] = {}
    for key in UTM_KEYS:
        value = posted.get(key, "").strip()
        if len(value) > UTM_MAX or _CONTROL.search(value):
            raise Refused(400, key, f"at most {UTM_MAX} characters of plain text")
        if value:
            utm[key] = value
    visitor = posted.get(VISITOR_FIELD, "").strip()
    return Context(
        utm=utm,
        referrer=_web_address(posted.get(REFERRER_FIELD, ""), REFERRER_FIELD),
        page_url=_web_address(posted.get(PAGE_URL_FIELD, ""), PAGE_URL_FIELD),
        visitor_key=visitor[:64] or None,
    )


def _email(value: str) -> str:
    try:
        return str(validate_email(value, check_deliverability=False).normalized.lower())
    except EmailNotValidError as error:
        raise ValueError(f"not an email address ({error})") from None


def _number(value: str) -> int | float:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number) or abs(number) > 1e15:
        raise ValueError("not a number") from None
    return int(number) if number.is_integer() else number


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("not a web address (start it with https://)")
    return value


def _clean_value(spec: FieldSpec, value: str) -> Value:
    """One non-blank value as stored; raises ValueError with the message the prospect sees."""
    if spec.type != "textarea" and "\n" in value:
        raise ValueError("one line only")
    if spec.type == "email" or spec.maps_to == "email":
        return _email(value)
    if spec.type == "number":
        return _number(value)
    if spec.type == "url":
        return _url(value)
    if spec.type == "select" and value not in {option for option, _label in spec.options}:
        raise ValueError("choose one of the options")
    if spec.maps_to == "country" and country_code(value) is None:
        raise ValueError("not a country we know")
    return value


def clean_fields(specs: list[FieldSpec], posted: dict[str, str]) -> tuple[dict[str, Value], dict[str, str]]:
    """Each field's cleaned value, and a message for each field at fault (empty when all is well)."""
    values: dict[str, Value] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        raw = posted.get(spec.key)
        if spec.type == "checkbox":
            values[spec.key] = raw is not None
            if spec.required and raw is None:
                errors[spec.key] = "tick this box to continue"
            continue
        text = (raw or "").replace("\r\n", "\n").strip()
        if _CONTROL.search(text):
            errors[spec.key] = "contains characters that are not text"
        elif len(text) > spec.limit:
            errors[spec.key] = f"at most {spec.limit} characters (this has {len(text)})"
        elif not text:
            values[spec.key] = None
            if spec.required:
                errors[spec.key] = "required"
        else:
            try:
                values[spec.key] = _clean_value(spec, text)
            except ValueError as error:
                errors[spec.key] = str(error)
    _check_phones(specs, values, errors)
    return values, errors


def _region(specs: list[FieldSpec], values: dict[str, Value]) -> str | None:
    for spec in specs:
        if spec.maps_to == "country" and isinstance(values.get(spec.key), str):
            return country_code(str(values[spec.key]))
    return None


def _check_phones(specs: list[FieldSpec], values: dict[str, Value], errors: dict[str, str]) -> None:
    """Phone numbers must be dialable; one without +<code> is read in the form's country, if given."""
    region = _region(specs, values)
    for spec in specs:
        value = values.get(spec.key)
        if (
            spec.key in errors
            or not isinstance(value, str)
            or not (spec.type == "tel" or spec.maps_to == "phone")
        ):
            continue
        e164 = phone_to_e164(value, region)
        if e164 is None:
            errors[spec.key] = "not a phone number (start it with +<country code>)"
        elif spec.maps_to == "phone":
            values[spec.key] = e164


def custom_key(key: str) -> str:
    """A form field's key as a custom-field name (letters, digits and _)."""
    if _CUSTOM_KEY.fullmatch(key):
        return key
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", key)[:64]
    return cleaned if cleaned and not cleaned[0].isdigit() else f"f_{cleaned}"[:64]


def consent_given(form: Form, posted: dict[str, str], errors: dict[str, str]) -> bool:
    """Whether the consent box was ticked; a required one left empty is an error on its field."""
    ticked = bool(form.consent_text) and CONSENT_FIELD in posted
    if form.consent_text and form.consent_required and not ticked:
        errors[CONSENT_FIELD] = "tick this box to continue"
    return ticked
