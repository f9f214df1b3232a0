"""Opaque public ids.

Inside, rows have integer ids; outside, each travels as ``<prefix>_<id in base 36>_<tag>``, where the
tag is an HMAC of kind and id under the installation's secret. Ids cannot be guessed or enumerated
(``ct_1_…`` does not lead to ``ct_2_…``), and an id of one kind is never accepted as another.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

PREFIXES: Final = {
    "contact": "ct",
    "organization": "org",
    "event": "ev",
    "deal": "dl",
    "workspace": "ws",
    "user": "usr",
    "token": "tok",
    "duplicate": "dup",
    "merge": "mrg",
    "import": "imp",
    "broadcast": "bc",
    "message": "msg",
}
_TAG_LENGTH = 10
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class BadId(ValueError):
    """An id that is malformed, of another kind, or not signed by this installation."""


def _base36(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 36)
        digits.append(_ALPHABET[remainder])
        if number == 0:
            return "".join(reversed(digits))


class IdCodec:
    """Encodes and decodes public ids with one secret key."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"leadwell-ids:" + secret.encode()).digest()

    def _tag(self, kind: str, number: int) -> str:
        mac = hmac.new(self._key, f"{kind}:{number}".encode(), hashlib.sha256).hexdigest()
        return mac[:_TAG_LENGTH]

    def encode(self, kind: str, number: int) -> str:
        """The public id of row ``number`` of ``kind``."""
        return f"{PREFIXES[kind]}_{_base36(number)}_{self._tag(kind, number)}"

    def decode(self, kind: str, public_id: str) -> int:
        """The row id behind ``public_id``; raises :class:`BadId` unless it is a genuine id of ``kind``."""
        parts = public_id.split("_")
        if len(parts) != 3 or parts[0] != PREFIXES[kind] or not parts[1] or len(parts[1]) > 13:
            raise BadId(f"not a {kind} id: {public_id[:40]!r}")
        try:
            number = int(parts[1], 36)
        except ValueError:
            raise BadId(f"not a {kind} id: {public_id[:40]!r}") from None
        if not hmac.compare_digest(parts[2], self._tag(kind, number)):
            raise BadId(f"not a {kind} id: {public_id[:40]!r}")
        return number
