"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# Hashed on first use with whatever hasher is current, so an unknown email costs what a known one does.
_decoy_hash: str | None = None


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash new passwords with ``hasher`` from now on.

    Hashes made earlier still verify: an argon2 hash carries its own parameters. The test suite
    uses a cheap hasher, since thousands of tests create users and log in.
    """
    global _hasher, _decoy_hash
    _hasher = hasher
    _decoy_hash = None


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_decoy(password: str) -> None:
    """Spend the time a real verification takes, so the answer for an unknown account comes as
    slowly as for a known one."""
    global _decoy_hash
    if _decoy_hash is None:
        _decoy_hash = hash_password("not-a-real-password")
    verify_password(_decoy_hash, password)
