"""Password hashing: argon2id, hashes outlive a change of cost, unknown accounts cost the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from leadwell.auth import passwords


@pytest.fixture
def restore_hasher() -> Iterator[None]:
    current = passwords._hasher
    yield
    passwords.use_hasher(current)


def test_production_hash_is_argon2id_at_library_defaults(restore_hasher: None) -> None:
    passwords.use_hasher(PasswordHasher())
    stored = passwords.hash_password("correct horse battery")
    defaults = PasswordHasher()
    assert stored.startswith(
        f"$argon2id$v=19$m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}$"
    )
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")


def test_hashes_made_at_another_cost_still_verify(restore_hasher: None) -> None:
    passwords.use_hasher(PasswordHasher(time_cost=2, memory_cost=256, parallelism=1))
    stored = passwords.hash_password("s3cret-enough")
    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    assert passwords.verify_password(stored, "s3cret-enough")
    assert not passwords.verify_password(stored, "s3cret-enougH")


def test_garbage_hash_is_a_mismatch_not_an_error() -> None:
    assert not passwords.verify_password("not-a-hash", "anything")


def test_decoy_hash_follows_the_current_cost(restore_hasher: None) -> None:
    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=128, parallelism=1))
    passwords.verify_decoy("whatever")
    assert passwords._decoy_hash is not None
    assert "m=128,t=1,p=1" in passwords._decoy_hash
