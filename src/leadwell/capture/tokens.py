"""Signed tokens for the public surface: links that identify a contact without exposing ids.

A token is the compact JSON of a small payload, signed with an HMAC under the installation's secret
and a *purpose*, so that a token made for one use (a delivery link) is refused for another (a
click redirect). Tokens are URL-safe. Altering any character makes verification fail; a token may
carry its own expiry (``max_age`` when verifying).
"""

from __future__ import annotations

from typing import Any, Final

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

# Every purpose a token may have; a new one is a code change, never a value from a request.
PURPOSES: Final = frozenset({"deliver", "open", "click", "visitor", "form", "unsubscribe", "inbound"})


class BadToken(ValueError):
    """A token that is malformed, altered, made for another purpose, or not signed here."""


class ExpiredToken(BadToken):
    """A genuine token past its ``max_age``."""


class TokenSigner:
    """Signs and verifies payloads for each purpose with one secret."""

    def __init__(self, secret: str) -> None:
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret, salt=f"leadwell-{purpose}") for purpose in PURPOSES
        }

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A token carrying ``payload`` (small JSON: ints and short strings) for ``purpose``."""
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> dict[str, Any]:
        """The payload of a genuine ``purpose`` token; raises :class:`BadToken` or :class:`ExpiredToken`."""
        if len(token) > 2000:
            raise BadToken("token: too long")
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired:
            raise ExpiredToken("token: expired") from None
        except BadData:
            raise BadToken("token: not a valid link") from None
        if not isinstance(payload, dict):
            raise BadToken("token: not a valid link")
        return payload
