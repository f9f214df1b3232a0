"""``leadwell outreach templates`` end to end on a real database: check and apply TOML files, list,
show (which apply reads back), preview for a contact, and the exit codes of bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import Mailbox
from leadwell.db.session import Database
from tests import factories
from tests.conftest import Tenant

runner = CliRunner()

GOOD = """
name = "After the white paper"
slug = "paper-follow-up"

[variants.a]
subject = "Your copy, {{ first_name | default('there') }}"
html = '''
<p>Hello {{ first_name | default("there") }},</p>
<p>How is {{ company }} doing?</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
'''

[variants.b]
subject = "The paper for {{ company | default('you') }}"
weight = 0
text = "Hello {{ first_name }}"
"""

BROKEN = """
name = "Broken"

[variants.a]
subject = "Hi {{ frist_name }}"
html = '''
<p>ok</p>
<p>{{ custom }}</p>
'''

[variants.b]
subject = "Fine"
text = '''
one
{% if first_name %}
'''
"""


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["outreach", "templates", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def write(tmp_path: Path, text: str, name: str = "t.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_lists_every_problem_with_variant_part_and_line(tmp_path: Path) -> None:
    assert "2 variant(s), no problems" in run("check", write(tmp_path, GOOD))
    output = run("check", write(tmp_path, BROKEN), code=2)
    assert output.splitlines() == [
        "error: variants[a].subject: line 1: unknown merge field 'frist_name' (did you mean 'first_name'?)",
        "error: variants[a].html: line 2: 'custom' needs a field name: custom.<key>",
        "error: variants[b].text: line 2: Unexpected end of template. Jinja was looking for the following "
        "tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ]
    assert "does not exist" in run("check", str(tmp_path / "missing.toml"), code=2)
    assert "not valid TOML" in run("check", write(tmp_path, "name = ", "bad.toml"), code=2)


def test_apply_show_list_and_apply_again(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert run("apply", write(tmp_path, GOOD), *common) == "paper-follow-up: created\n"
    shown = run("show", "paper-follow-up", *common)
    assert "[variants.b]\nsubject = \"The paper for {{ company | default('you') }}\"\nweight = 0" in shown
    # What `show` prints, `apply` takes back unchanged.
    assert run("apply", write(tmp_path, shown, "shown.toml"), *common) == "paper-follow-up: updated\n"
    assert run("show", "paper-follow-up", *common) == shown
    listed = json.loads(run("list", *common, "--format", "json"))
    assert [(row["slug"], row["variants"], row["archived"]) for row in listed] == [
        ("paper-follow-up", 2, False)
    ]
    assert "paper-follow-up" in run("list", *common)
    assert "variants[a].subject: line 1" in run("apply", write(tmp_path, BROKEN, "b.toml"), *common, code=2)
    assert "no template 'nope'" in run("show", "nope", *common, code=2)


def test_preview_prints_what_a_contact_gets(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    with db.session() as session:
        factories.make_contact(
            session, tenant.workspace, first_name="Ada", last_name="L", email="ada@engines.example"
        )
        session.add(
            Mailbox(
                workspace_id=tenant.workspace.id,
                slug="main",
                from_name="Bo",
                from_email="bo@acme.example",
                smtp_host="127.0.0.1",
            )
        )
    run("apply", write(tmp_path, GOOD), *common)
    result = runner.invoke(
        app,
        ["outreach", "templates", "preview", "paper-follow-up", "--contact", "ADA@engines.example", *common],
    )
    assert result.exit_code == 0, result.output
    # Variant b has weight 0: everyone gets a.
    assert result.stdout.startswith(
        "Variant: a\nSubject: Your copy, Ada\n\nHello Ada,\n\nHow is doing?\n\nUnsubscribe"
    )
    assert result.stderr == "warning: company is empty for this contact and has no default\n"
    other = run("preview", "paper-follow-up", "--contact", "ada@engines.example", "--variant", "b", *common)
    assert other == "Variant: b\nSubject: The paper for you\n\nHello Ada\n"
    assert "no variant 'c'" in run(
        "preview", "paper-follow-up", "--contact", "ada@engines.example", "--variant", "c", *common, code=2
    )
    assert "nobody with the address" in run(
        "preview", "paper-follow-up", "--contact", "who@x.example", *common, code=2
    )
