"""Email addresses as outreach handles them: checked without DNS, ASCII only, lower case.

An address that fails here never reaches an SMTP server. International domain names are kept in
their ASCII (``xn--``) form, and addresses whose local part needs SMTPUTF8 are refused: not every
server accepts them, and a refusal mid-conversation would cost a retry cycle.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from leadwell.errors import InvalidInput

MAX_ADDRESS = 320


def normalize_address(email: str) -> str:
    """The form addresses are compared and stored in (suppression list, outbox): trimmed, lower case."""
    return email.strip().lower()


def checked_address(value: str | None, field: str) -> str:
    """``value`` as a deliverable-looking address (syntax only, no DNS), normalized; else
    :class:`InvalidInput` naming ``field`` and what is wrong."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field}: an email address is needed", field=field)
    if len(text) > MAX_ADDRESS:
        raise InvalidInput(f"{field}: at most {MAX_ADDRESS} characters", field=field)
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"{field}: {text[:80]!r} is not a valid address ({error})", field=field) from None
    return normalize_address(checked.ascii_email or checked.normalized)


def domain_of(address: str) -> str:
    """The domain part of a checked address."""
    return address.rpartition("@")[2]
