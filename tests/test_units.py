"""Unit tests for small pure pieces: ids, cursors, rate limiting, field cleaning, event schemas, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadwell.config import Settings
from leadwell.contacts import fields
from leadwell.errors import InvalidInput
from leadwell.events.types import EVENT_TYPES, validate_properties
from leadwell.ids import PREFIXES, BadId, IdCodec
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.web.problems import field_name
from leadwell.web.ratelimit import RateLimiter

codec = IdCodec("unit-secret")


@given(st.sampled_from(sorted(PREFIXES)), st.integers(min_value=1, max_value=2**63 - 1))
def test_public_ids_round_trip(kind: str, number: int) -> None:
    assert codec.decode(kind, codec.encode(kind, number)) == number


@given(st.integers(min_value=1, max_value=2**62))
def test_ids_do_not_cross_kinds_secrets_or_neighbours(number: int) -> None:
    public = codec.encode("contact", number)
    with pytest.raises(BadId):
        codec.decode("deal", public.replace("ct_", "dl_"))
    with pytest.raises(BadId):
        IdCodec("another-installation").decode("contact", public)
    tag = public.split("_")[2]
    neighbour = codec.encode("contact", number + 1).rsplit("_", 1)[0] + "_" + tag
    with pytest.raises(BadId):
        codec.decode("contact", neighbour)


@pytest.mark.parametrize("junk", ["", "ct", "ct__", "ct_zz_", "ct_!!_abc", "ct_1_2_3", "x" * 500])
def test_malformed_ids_are_refused(junk: str) -> None:
    with pytest.raises(BadId):
        codec.decode("contact", junk)


@given(st.integers(min_value=0, max_value=2**63))
def test_cursors_round_trip(number: int) -> None:
    assert decode_cursor(encode_cursor(number)) == number


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(limit=3, window=60)
    assert [limiter.hit("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.hit("b", now=3)  # keys are independent
    assert limiter.hit("a", now=60.5)  # the first hit left the window
    limiter.reset("a")
    assert limiter.hit("a", now=61)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("https://www.Example.COM/path?x=1", "example.com"),
        ("acme.co.uk", "acme.co.uk"),
        ("", None),
        ("http://sub.domain.io:8080", "sub.domain.io"),
    ],
)
def test_domains(raw: str, clean: str | None) -> None:
    assert fields.clean_domain(raw) == clean


def test_phones_need_a_country_unless_a_region_is_given() -> None:
    assert fields.clean_phones(["+44 20 7946 0958", "+442079460958"]) == ["+442079460958"]
    assert fields.clean_phones(["(415) 555-0100"], default_region="US") == ["+14155550100"]
    with pytest.raises(InvalidInput) as error:
        fields.clean_phones(["+14155550100", "(415) 555-0100"])
    assert error.value.field == "phones[1]"


def test_every_event_type_has_a_schema_and_rejects_strangers() -> None:
    assert validate_properties("call_logged", {"outcome": "connected", "duration_seconds": 240}) == {
        "outcome": "connected",
        "duration_seconds": 240,
    }
    assert validate_properties("stage_changed", {"from": "lead", "to": "mql"}) == {
        "from": "lead",
        "to": "mql",
    }
    with pytest.raises(InvalidInput) as error:
        validate_properties("email_clicked", {"url": "javascript:alert(1)"}, "events[3]")
    assert error.value.field == "events[3].properties.url"
    assert len(EVENT_TYPES) >= 18


def test_problem_field_names() -> None:
    assert field_name(("body", "emails", 1)) == "emails[1]"
    assert field_name(("query", "limit")) == "limit"
    assert field_name(("body", "events", 0, "properties", "percent")) == "events[0].properties.percent"
    assert field_name(("body",)) == "body"


def test_settings_come_from_env_then_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leadwell.toml").write_text('database_url = "sqlite:///from-file.db"\nport = 9000\n')
    monkeypatch.setenv("LEADWELL_PORT", "9100")
    settings = Settings()
    assert settings.database_url == "sqlite:///from-file.db" and settings.port == 9100
    with pytest.raises(ValueError, match="database_url"):
        Settings(database_url="mysql://nope")
