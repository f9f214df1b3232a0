"""Docs stay in step with the code: every setting, command, event type and endpoint is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from leadwell.cli import app
from leadwell.config import Settings
from leadwell.events.types import EVENT_TYPES

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [line for line in README.read_text().splitlines() if line.startswith("make ")]
    assert [line.split()[:2] for line in lines[:2]] == [["make", "demo"], ["make", "test"]]


def test_every_setting_is_documented() -> None:
    operations = (DOCS / "operations.md").read_text()
    for name in Settings.model_fields:
        assert f"`LEADWELL_{name.upper()}`" in operations, name
        assert f"`{name}`" in operations, name


def _commands(group: Any, prefix: str = "leadwell") -> list[str]:
    """Full names of the leaf commands under a (Typer's own) click group."""
    names = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_documented() -> None:
    reference = (DOCS / "cli.md").read_text()
    group = typer.main.get_command(app)
    commands = _commands(group)
    assert len(commands) >= 10
    for command in commands:
        assert f"`{command}" in reference, command


def test_every_event_type_is_documented() -> None:
    events = (DOCS / "events.md").read_text()
    for event_type in EVENT_TYPES:
        assert f"| `{event_type}` |" in events, event_type
