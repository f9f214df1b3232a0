"""Settings, declared once.

Every setting is read from the environment (``LEADWELL_<NAME>``), then from ``leadwell.toml`` in the
working directory, then falls back to its default. The same declarations feed the CLI, the docs
(``docs/operations.md`` lists them, and a test checks it does) and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE = Path("leadwell.toml")
DEFAULT_DATABASE_URL = "sqlite:///leadwell.db"


class Settings(BaseSettings):
    """Process-wide configuration for web, worker and CLI."""

    model_config = SettingsConfigDict(
        env_prefix="LEADWELL_", toml_file=CONFIG_FILE, extra="ignore", validate_default=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db (embedded default) or postgresql://user@host/db.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies, CSRF tokens and public ids. When unset, `leadwell init` "
        "generates one and stores it in the database so every process sharing it agrees.",
    )
    host: str = Field("127.0.0.1", description="Address `leadwell serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `leadwell serve` listens on.")
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted, in bytes (1 MiB)."
    )
    max_upload_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        description="Largest upload accepted (import files, lead magnets, page images), in bytes (200 MiB).",
    )
    data_dir: Path = Field(
        Path("leadwell-data"), description="Where uploaded files wait between the import wizard's steps."
    )
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Failed logins allowed per client address per minute before 429."
    )
    tracking_requests_per_minute: int = Field(
        120_000,
        ge=1,
        description="Tracking hits (pixel, click, beacons, page views) allowed per client address per "
        "minute before 429; generous because mail providers fetch pixels for many readers from one address.",
    )
    tracking_queue_size: int = Field(
        10_000,
        ge=1,
        description="Tracking hits one web process holds while they wait for their commit; beyond it, 503.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address prospects reach this installation at: links in emails (unsubscribe, "
        "tracking, delivery) start with it.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server for outgoing mail.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field("leadwell@localhost", description="Default From address for outgoing mail.")
    model_retrain_days: int = Field(
        7,
        ge=0,
        le=3650,
        description="The worker retrains a workspace's predictive model when its last one is this many "
        "days old and outcomes changed since; 0 never retrains on a schedule.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(**overrides: Any) -> Settings:
    """Read settings; keyword arguments (from CLI options) win over environment and file."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
