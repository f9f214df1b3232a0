"""What the links in emails need outside a web request: the public address and the signing secret."""

from __future__ import annotations

from dataclasses import dataclass

from leadwell.capture.tokens import TokenSigner
from leadwell.config import Settings, load_settings
from leadwell.db.session import Database, stored_secret_key


@dataclass(frozen=True)
class Signing:
    """The installation's public address (``public_url``) and its token signer."""

    public_url: str
    signer: TokenSigner


def signing_for(db: Database, settings: Settings | None = None) -> Signing:
    """The public address and secret key of ``settings`` (default: the configured ones; the secret
    stored in ``db`` when none is configured). Read afresh on each call: callers that run often
    (the worker) keep the result."""
    settings = settings or load_settings()
    secret = settings.secret_key.get_secret_value() if settings.secret_key else stored_secret_key(db)
    assert secret is not None  # created on first use
    return Signing(settings.public_url, TokenSigner(secret))
