"""Templates and their variants on a real database: create, change, archive, refusals that list every
problem by field and line, TOML files read and written back, and the preview helpers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import EmailTemplate, Mailbox, TemplateVariant, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.outreach import template_defs as defs
from leadwell.outreach import template_preview as previews
from leadwell.outreach.template_toml import template_toml, to_toml
from tests import factories

GOOD = defs.VariantInput("a", "Hi {{ first_name | default('there') }}", "<p>Hello</p>", "", 1)


def workspace_of(db: Database) -> int:
    with db.session() as session:
        return factories.make_workspace(session).id


def stored(session: Session, workspace_id: int) -> list[tuple[str, str, int]]:
    query = (
        select(EmailTemplate.slug, TemplateVariant.key, TemplateVariant.weight)
        .join(TemplateVariant, TemplateVariant.template_id == EmailTemplate.id)
        .where(EmailTemplate.workspace_id == workspace_id)
        .order_by(EmailTemplate.slug, TemplateVariant.key)
    )
    return [(slug, key, weight) for slug, key, weight in session.execute(query)]


def test_create_update_and_list_templates(db: Database) -> None:
    workspace_id = workspace_of(db)
    with db.session() as session:
        created = defs.create_template(
            session, workspace_id, defs.TemplateInput("After the Paper!", "", [GOOD])
        )
        assert created.slug == "after-the-paper"
    with db.session() as session:
        b = defs.VariantInput("B", "Your copy", "", "Plain {{ email }}", "3")
        defs.update_template(
            session, workspace_id, "after-the-paper", defs.TemplateInput("Renamed", "", [GOOD, b])
        )
    with db.session() as session:
        assert stored(session, workspace_id) == [("after-the-paper", "a", 1), ("after-the-paper", "b", 3)]
        [row] = defs.list_templates(session, workspace_id)
        assert (row.slug, row.name, row.variants, row.archived) == ("after-the-paper", "Renamed", 2, False)
        defs.update_template(session, workspace_id, "after-the-paper", defs.TemplateInput("Renamed", "", [b]))
    with db.session() as session:
        assert stored(session, workspace_id) == [("after-the-paper", "b", 3)]


def test_archived_templates_leave_the_list_until_restored(db: Database) -> None:
    workspace_id = workspace_of(db)
    with db.session() as session:
        defs.create_template(session, workspace_id, defs.TemplateInput("Old news", "", [GOOD]))
        defs.archive_template(session, workspace_id, "old-news")
    with db.session() as session:
        assert defs.list_templates(session, workspace_id) == []
        assert [row.archived for row in defs.list_templates(session, workspace_id, archived=True)] == [True]
        defs.restore_template(session, workspace_id, "old-news")
    with db.session() as session:
        assert [row.slug for row in defs.list_templates(session, workspace_id)] == ["old-news"]


def test_every_problem_of_every_variant_is_listed_and_nothing_stored(db: Database) -> None:
    workspace_id = workspace_of(db)
    bad_a = defs.VariantInput("a", "Hi {{ frist_name }}", "<p>\n{{ custom }}</p>", "", 1)
    bad_b = defs.VariantInput("b", "Fine", "<p>ok</p>", "one\ntwo\n{{ nobody }", 1)
    with db.session() as session, pytest.raises(defs.TemplateRefused) as raised:
        defs.create_template(session, workspace_id, defs.TemplateInput("Broken", "", [bad_a, bad_b]))
    assert [str(problem) for problem in raised.value.problems] == [
        "variants[a].subject: line 1: unknown merge field 'frist_name' (did you mean 'first_name'?)",
        "variants[a].html: line 2: 'custom' needs a field name: custom.<key>",
        "variants[b].text: line 3: unexpected '}'",
    ]
    assert raised.value.field == "variants[a].subject"
    assert raised.value.detail.startswith("variants[a].subject: line 1: unknown merge field 'frist_name'")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmailTemplate)) == 0


@pytest.mark.parametrize(
    ("variants", "field", "words"),
    [
        ([], "variants", "at least one variant"),
        ([defs.VariantInput("ab", "x", "y")], "variants[0].key", "one lowercase letter"),
        ([GOOD, defs.VariantInput("A", "x", "y")], "variants[a].key", "used twice"),
        ([defs.VariantInput("a", "x", "y", "", -1)], "variants[a].weight", "between 0 and 1000"),
        ([defs.VariantInput("a", "x", "y", "", "many")], "variants[a].weight", "not a whole number"),
        ([defs.VariantInput("a", "x", "y", "", 0)], "variants", "weight above 0"),
        ([GOOD] * 11, "variants", "at most 10"),
    ],
)
def test_bad_variants_are_refused_by_field(
    db: Database, variants: list[defs.VariantInput], field: str, words: str
) -> None:
    workspace_id = workspace_of(db)
    with db.session() as session, pytest.raises(InvalidInput) as raised:
        defs.create_template(session, workspace_id, defs.TemplateInput("T", "", variants))
    assert raised.value.field == field and words in raised.value.detail


def test_oversized_parts_are_refused_before_they_are_parsed(db: Database) -> None:
    workspace_id = workspace_of(db)
    huge = defs.VariantInput("a", "s" * 501, "<p>" * 70_000, "", 1)
    with db.session() as session, pytest.raises(defs.TemplateRefused) as raised:
        defs.create_template(session, workspace_id, defs.TemplateInput("Huge", "", [huge]))
    assert [problem.field for problem in raised.value.problems] == ["variants[a].subject", "variants[a].html"]


def test_slugs_are_checked_and_unique_per_workspace(db: Database) -> None:
    workspace_id, other_id = workspace_of(db), workspace_of(db)
    with db.session() as session:
        defs.create_template(session, workspace_id, defs.TemplateInput("Welcome", "welcome", [GOOD]))
        defs.create_template(session, other_id, defs.TemplateInput("Welcome", "welcome", [GOOD]))
    with db.session() as session, pytest.raises(Conflict, match="already taken"):
        defs.create_template(session, workspace_id, defs.TemplateInput("Again", "welcome", [GOOD]))
    for slug, words in (("Bad Slug", "lowercase letters"), ("new", "reserved"), ("-x", "lowercase letters")):
        with db.session() as session, pytest.raises(InvalidInput, match=words):
            defs.create_template(session, workspace_id, defs.TemplateInput("T", slug, [GOOD]))
    with db.session() as session, pytest.raises(InvalidInput, match="name: must not be empty"):
        defs.create_template(session, workspace_id, defs.TemplateInput("  ", "x", [GOOD]))


def test_templates_of_another_workspace_are_not_found(db: Database) -> None:
    workspace_id, other_id = workspace_of(db), workspace_of(db)
    with db.session() as session:
        defs.create_template(session, workspace_id, defs.TemplateInput("Mine", "", [GOOD]))
    with db.session() as session:
        for action in (defs.get_template, defs.archive_template, defs.restore_template):
            with pytest.raises(NotFound):
                action(session, other_id, "mine")
        with pytest.raises(NotFound):
            defs.update_template(session, other_id, "mine", defs.TemplateInput("Mine", "", [GOOD]))


def test_apply_creates_then_updates(db: Database) -> None:
    workspace_id = workspace_of(db)
    with db.session() as session:
        _template, created = defs.apply_template(
            session, workspace_id, defs.TemplateInput("Hello", "hello", [GOOD])
        )
        assert created
    with db.session() as session:
        template, created = defs.apply_template(
            session, workspace_id, defs.TemplateInput("Hello 2", "hello", [GOOD])
        )
        assert not created and template.name == "Hello 2"


def test_next_key_takes_the_first_free_letter() -> None:
    assert defs.next_key([]) == "a"
    assert defs.next_key(["a", "c"]) == "b"


# --- TOML -----------------------------------------------------------------------------------------

TOML = """
name = "After the white paper"
slug = "paper-follow-up"

[variants.a]
subject = "Your copy, {{ first_name | default('there') }}"
weight = 2
html = '''
<p>Hello {{ first_name | default("there") }},</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
'''

[variants.b]
subject = "The paper"
text = "Hello"
"""


def test_a_toml_file_is_read() -> None:
    data = template_toml(TOML)
    assert (data.name, data.slug, [v.key for v in data.variants]) == (
        "After the white paper",
        "paper-follow-up",
        ["a", "b"],
    )
    assert data.variants[0].html.startswith('<p>Hello {{ first_name | default("there") }},</p>\n')
    assert (data.variants[0].weight, data.variants[1].weight, data.variants[1].html) == (2, 1, "")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "x"\nslug = \n[variants.a]', "file: not valid TOML (Invalid value (at line 2, column 8))"),
        ('name = "x"\ncolour = 1\n[variants.a]\nsubject="s"', "colour: unknown key"),
        ('name = "x"', "variants: at least one [variants.a] table"),
        ('name = "x"\n[variants.a]\nsubject = 3', "variants[a].subject: text is expected"),
        ('name = "x"\n[variants.a]\nweight = "2"', "variants[a].weight: a whole number is expected"),
        ('name = "x"\n[variants.a]\nbody = "2"', "variants[a].body: unknown key"),
    ],
)
def test_bad_toml_names_the_key_or_line(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        template_toml(text)
    assert words in raised.value.detail


TEXT = st.characters(codec="utf-8")  # any character a file can hold (no lone surrogates)
bodies = st.text(TEXT, max_size=60)


@settings(max_examples=150)
@given(
    name=st.text(TEXT, min_size=1, max_size=30),
    html=bodies,
    text=bodies,
)
def test_toml_written_reads_back_the_same(name: str, html: str, text: str) -> None:
    template = EmailTemplate(name=name, slug="s")
    variants = [TemplateVariant(key="a", subject=f"S {name}", html=html, text=text, weight=3)]
    again = template_toml(to_toml(template, variants))
    assert again.name == name.strip()
    [variant] = again.variants
    assert (variant.key, variant.subject, variant.html, variant.text, variant.weight) == (
        "a",
        f"S {name}",
        html,
        text,
        3,
    )


def test_toml_is_written_readably() -> None:
    template = EmailTemplate(name="N", slug="n")
    written = to_toml(
        template, [TemplateVariant(key="a", subject="S", html="<p>\nHi\n</p>\n", text="", weight=1)]
    )
    assert written == (
        'name = "N"\nslug = "n"\n\n[variants.a]\nsubject = "S"\nweight = 1\n'
        "html = '''\n<p>\nHi\n</p>\n'''\ntext = \"\"\n"
    )


# --- preview helpers ------------------------------------------------------------------------------


def _workspace_with_people(session: Session) -> Workspace:
    workspace = factories.make_workspace(session)
    engines = factories.make_organization(session, workspace, name="Analytical Engines")
    factories.make_contact(session, workspace, first_name="Ada", last_name="Lovelace", email="ada@x.example")
    factories.make_contact(
        session, workspace, first_name="Charles", last_name="Babbage", organization_id=engines.id
    )
    return workspace


def test_contacts_are_found_by_name_email_or_company(db: Database) -> None:
    with db.session() as session:
        workspace = _workspace_with_people(session)
        other = factories.make_workspace(session)
        factories.make_contact(session, other, first_name="Ada", last_name="Elsewhere")
        assert [c.last_name for c in previews.find_contacts(session, workspace.id, "LOVEL")] == ["Lovelace"]
        assert [c.first_name for c in previews.find_contacts(session, workspace.id, "engines")] == ["Charles"]
        assert previews.find_contacts(session, workspace.id, "   ") == []
        assert previews.contact_by_email(session, workspace.id, "ADA@x.example").first_name == "Ada"
        with pytest.raises(NotFound, match="nobody with the address"):
            previews.contact_by_email(session, workspace.id, "nobody@x.example")


def test_a_preview_renders_each_variant_and_stores_nothing(db: Database) -> None:
    with db.session() as session:
        workspace = _workspace_with_people(session)
        session.add(
            Mailbox(
                workspace_id=workspace.id,
                slug="m",
                from_name="Bo",
                from_email="bo@acme.example",
                smtp_host="h",
            )
        )
        session.flush()
        ada = previews.contact_by_email(session, workspace.id, "ada@x.example")
        sender = previews.sender_of(session, workspace.id)
        context = previews.preview_context(session, workspace.id, ada, sender, "https://lw.example/")
        good = previews.preview_variant(
            defs.VariantInput(
                "a", "Hi {{ first_name }}", "{{ title }} <a href='{{ unsubscribe_url }}'>u</a>"
            ),
            context,
        )
        broken = previews.preview_variant(defs.VariantInput("b", "Hi", "{{ frist_name }}"), context)
    assert good.rendered is not None and good.rendered.subject == "Hi Ada"
    assert "https://lw.example/u/preview-only" in good.rendered.html
    assert good.warnings == ["title is empty for this contact and has no default"]
    assert broken.rendered is None and [p.line for p in broken.problems] == [1]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmailTemplate)) == 0
