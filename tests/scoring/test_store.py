"""Scoring settings versions in the database, on each backend."""

from __future__ import annotations

import pytest

from leadwell.db.session import Database
from leadwell.errors import NotFound
from leadwell.scoring.settings import default_settings, from_document, parse_toml
from leadwell.scoring.store import apply_settings, current_settings, list_versions, settings_version
from leadwell.scoring.toml_text import to_toml
from tests import factories


def test_versions_are_added_only_when_the_settings_change(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        user = factories.make_user(session, workspace)
        other = factories.make_workspace(session)
        assert current_settings(session, workspace.id) == (0, default_settings())
        # The defaults, written out and read back, are the defaults: no version for them.
        assert (
            apply_settings(session, workspace.id, parse_toml(to_toml(default_settings().document))).outcome
            == "unchanged"
        )
        faster = from_document({**default_settings().document, "half_life_days": 7})
        first = apply_settings(session, workspace.id, faster, created_by_id=user.id)
        assert (first.version, first.changed, first.outcome) == (1, True, "new version")
        assert apply_settings(session, workspace.id, from_document(dict(faster.document))).changed is False
        second = apply_settings(session, workspace.id, from_document({"rules": []}))
        assert second.version == 2
        version, settings = current_settings(session, workspace.id)
        assert (version, settings.rules, settings.half_life_days) == (2, (), 30)
        assert settings_version(session, workspace.id, 1).half_life_days == 7
        assert settings_version(session, workspace.id, 0) is default_settings()
        with pytest.raises(NotFound) as missing:
            settings_version(session, workspace.id, 3)
        assert missing.value.field == "version"
        assert current_settings(session, other.id)[0] == 0  # per workspace
        rows = list_versions(session, workspace.id)
        assert [(row.version, row.created_by) for row in rows] == [(2, None), (1, user.email)]


def test_settings_are_compiled_once_per_stored_document(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        apply_settings(session, workspace.id, from_document({"half_life_days": 12}))
        first = current_settings(session, workspace.id)[1]
        assert current_settings(session, workspace.id)[1] is first
        assert settings_version(session, workspace.id, 1) is first
