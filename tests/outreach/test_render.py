"""Rendering email templates: checks with line numbers, the sandbox, defaults and missing fields,
escaping, the derived plain text, merge contexts of real contacts, and weighted variants."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from leadwell.contacts.importing.countries import country_name
from leadwell.db.models import EmailTemplate, Mailbox, TemplateVariant
from leadwell.db.session import Database
from leadwell.outreach.render import (
    MERGE_FIELDS,
    Rendered,
    TemplateInvalid,
    TemplateProblem,
    check_variant,
    choose_variant,
    merge_context,
    render_variant,
)
from leadwell.outreach.render_text import html_to_text
from tests import factories


def variant(subject: str = "Hello", html: str = "", text: str = "", key: str = "a") -> TemplateVariant:
    return TemplateVariant(key=key, subject=subject, html=html, text=text, weight=1)


def render(html: str = "", text: str = "", subject: str = "Hello", **context: Any) -> Rendered:
    return render_variant(variant(subject, html, text), context)


def problems_of(
    subject: str = "Hello", html: str = "<p>Hi</p>", text: str = ""
) -> list[tuple[str, int, str]]:
    return [(p.part, p.line, p.message) for p in check_variant(subject, html, text)]


# --- checks ---------------------------------------------------------------------------------------


def test_a_correct_variant_has_no_problems() -> None:
    html = (
        "<p>Hello {{ first_name | default('there') }},</p>\n"
        "{% set greeting = 'Best' %}\n"
        "{% for tag in custom.interests %}<li>{{ loop.index }}. {{ tag | title }}</li>{% endfor %}\n"
        "{% macro sign(name) %}{{ greeting }}, {{ name }}{% endmacro %}{{ sign(sender.name) }}\n"
        "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a> {{ custom['plan'] }} {{ first_name[0] }}"
    )
    assert check_variant("Hi {{ first_name }} at {{ company }}", html, "{{ full_name }}") == []


def test_unknown_merge_fields_are_reported_with_their_part_and_line() -> None:
    found = problems_of(
        subject="Hi {{ frist_name }}",
        html="<p>Hello</p>\n\n<p>{{ contact.first_name }}</p>",
        text="Line one\n{{ sender.phone }}\n{{ nobody }}",
    )
    assert found == [
        ("subject", 1, "unknown merge field 'frist_name' (did you mean 'first_name'?)"),
        ("html", 3, "unknown merge field 'contact.first_name' (did you mean 'first_name'?)"),
        ("text", 2, "unknown merge field 'sender.phone' (did you mean 'sender.name'?)"),
        ("text", 3, "unknown merge field 'nobody'"),
    ]


def test_groups_need_a_field_name_and_flat_fields_have_none() -> None:
    found = problems_of(html="{{ custom }}\n{{ sender }}\n{{ first_name.upper }}\n{{ custom.plan.level }}")
    assert found == [
        ("html", 1, "'custom' needs a field name: custom.<key>"),
        ("html", 2, "'sender' needs a field name: sender.name or sender.email"),
        ("html", 3, "unknown merge field 'first_name.upper' (did you mean 'first_name'?)"),
        ("html", 4, "unknown merge field 'custom.plan.level'"),
    ]


def test_names_the_template_declares_are_known_only_where_jinja_sees_them() -> None:
    html = "{% for item in custom.tags %}{{ item }}{% endfor %}\n{{ item }}\n{% set later = 1 %}{{ later }}"
    assert problems_of(html=html) == [("html", 2, "unknown merge field 'item'")]
    assert problems_of(html="{% if first_name %}{% set who = first_name %}{% endif %}{{ who }}") == []
    assert problems_of(html="{% macro m(x) %}{{ x }}{% endmacro %}{{ x }}") == [
        ("html", 1, "unknown merge field 'x'")
    ]
    assert problems_of(html="{% for item in custom.tags %}{{ item() }}{{ loop() }}{% endfor %}") == [
        ("html", 1, "calling 'item' is not available: only the template's own macros"),
        ("html", 1, "calling 'loop' is not available: only the template's own macros"),
    ]
    recursive = "{% for item in custom.tree recursive %}{{ loop(item) }}{% endfor %}"
    assert problems_of(html=recursive) == []


@pytest.mark.parametrize(
    ("html", "line", "message"),
    [
        ("<p>\n{{ first_name }\n</p>", 2, "unexpected '}'"),
        ("<p>\n\n{% if first_name %}\n<b>x</b>", 4, "Unexpected end of template."),
        ("{{ first_name | safe }}", 1, "unknown filter 'safe'"),
        ("\n{{ first_name is callable }}", 2, "unknown test 'callable'"),
        ("\n\n{% include 'other.html' %}", 3, "{% include %} is not available in email templates"),
        ("{% extends 'base.html' %}", 1, "{% extends %} is not available in email templates"),
        ("{% autoescape false %}{{ first_name }}{% endautoescape %}", 1, "{% autoescape %} is not available"),
        ("\n{{ lipsum() }}", 2, "calling 'lipsum' is not available: only the template's own macros"),
        ("{{ range(10) | join }}", 1, "calling 'range' is not available: only the template's own macros"),
        ("{{ first_name.__class__ }}", 1, "'__class__' is not available in email templates"),
        ("{{ loop.cycle }}", 1, "unknown merge field 'loop.cycle'"),
    ],
)
def test_syntax_errors_and_unavailable_features_name_the_line(html: str, line: int, message: str) -> None:
    [(part, found_line, found_message)] = problems_of(html=html)
    assert (part, found_line) == ("html", line)
    assert found_message.startswith(message)


def test_syntax_errors_in_subject_and_text_are_placed_there() -> None:
    assert problems_of(subject="Hi {{ first_name", text="ok\nok\n{% endfor %}") == [
        ("subject", 1, "unexpected end of template, expected 'end of print statement'."),
        ("text", 3, "Encountered unknown tag 'endfor'."),
    ]


def test_a_variant_needs_a_one_line_subject_and_a_body() -> None:
    assert problems_of(subject="  ", html="", text="") == [
        ("subject", 1, "the subject is empty"),
        ("html", 1, "the message has no body: write the HTML or the text"),
    ]
    assert problems_of(subject="Hello\nBcc: x@example.com") == [
        ("subject", 1, "the subject must be one line")
    ]


def test_rendering_a_broken_variant_raises_with_every_problem() -> None:
    with pytest.raises(TemplateInvalid) as raised:
        render("<p>\n{{ frist_name }}</p>", "{{ nobody }}")
    assert (
        raised.value.detail
        == "html: line 2: unknown merge field 'frist_name' (did you mean 'first_name'?) (and 1 more)"
    )
    assert raised.value.field == "html"
    assert raised.value.problems[1] == TemplateProblem("text", 1, "unknown merge field 'nobody'")


# --- rendering ------------------------------------------------------------------------------------


def test_merge_fields_defaults_and_missing_fields() -> None:
    rendered = render(
        html="<p>Hi {{ first_name | default('there') }} {{ last_name }}, {{ custom.plan | upper }}</p>"
        "{% if title %}<p>{{ title }}</p>{% endif %}{{ city | d('your city') }} {{ custom.nope }}",
        subject="For {{ company }}",
        first_name="",
        last_name="",
        company="Analytical Engines",
        custom={"plan": "pro"},
    )
    assert rendered.subject == "For Analytical Engines"
    assert rendered.html == "<p>Hi there , PRO</p>your city "
    # title is only tested, city has a default: neither is missing.
    assert rendered.missing == ["last_name", "custom.nope"]


def test_a_field_used_twice_is_missing_once_and_filters_still_report_it() -> None:
    rendered = render(
        text="{{ first_name | upper }} {{ first_name }} {{ sender.name | trim }}", first_name=None
    )
    assert rendered.text == "  "
    assert rendered.missing == ["first_name", "sender.name"]


def test_html_escapes_contact_values_subject_and_text_keep_them() -> None:
    name = "<script>alert('x')</script> & co"
    rendered = render(
        html="<p>Hello {{ first_name }}</p>",
        text="Hello {{ first_name }}",
        subject="Hi {{ first_name }}",
        first_name=name,
    )
    assert rendered.html == "<p>Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</p>"
    assert rendered.text == f"Hello {name}"
    assert rendered.subject == f"Hi {name}"


def test_a_value_cannot_break_the_subject_into_headers() -> None:
    rendered = render(subject="Hi {{ first_name }}", text="x", first_name="Ada\r\nBcc: all@example.com")
    assert rendered.subject == "Hi Ada Bcc: all@example.com"


def test_the_subject_is_cut_at_500_characters() -> None:
    assert len(render(subject="{{ first_name }}", text="x", first_name="a" * 900).subject) == 500


def test_custom_lists_print_joined_and_iterate() -> None:
    rendered = render(
        text="{{ custom.tags }}|{{ custom.tags | join('/') }}|{% for t in custom.tags %}[{{ t }}]{% endfor %}"
        "|{{ custom.tags | first }}|{{ custom.count * 2 }}",
        custom={"tags": ["a", "b"], "count": 21},
    )
    assert rendered.text == "a, b|a/b|[a][b]|a|42"


def test_the_date_filter_reads_iso_dates_and_keeps_missing_values_missing() -> None:
    rendered = render(
        text="{{ custom.renewal | date('%d %B %Y') }} {{ custom.start | date }} "
        "{{ custom.none | date | default('soon') }}",
        custom={"renewal": "2025-03-07", "start": "2025-01-02T10:00:00"},
    )
    assert rendered.text == "07 March 2025 02 January 2025 soon"
    assert rendered.missing == []


def test_a_filter_failing_while_rendering_names_the_part_and_line() -> None:
    with pytest.raises(TemplateInvalid) as raised:
        render(html="<p>Renewal:</p>\n\n<p>{{ custom.renewal | date }}</p>", custom={"renewal": "soon"})
    assert raised.value.problems == [TemplateProblem("html", 3, "date: 'soon' is not a date (YYYY-MM-DD)")]
    with pytest.raises(TemplateInvalid) as divided:
        render(text="a\n{{ custom.n / 0 }}", custom={"n": 1})
    assert [(p.part, p.line) for p in divided.value.problems] == [("text", 2)]


def test_repetition_and_powers_are_capped() -> None:
    assert render(text="{{ '-' * 20 }}").text == "-" * 20
    with pytest.raises(TemplateInvalid, match="repeating text more than 10000 times"):
        render(text="{{ 'x' * 100000000 }}")
    with pytest.raises(TemplateInvalid, match="powers above 64"):
        render(text="{{ 9 ** 9999999 }}")


def test_text_is_derived_from_html_when_empty() -> None:
    rendered = render(
        html="<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>Hello   {{ first_name }}</h1><p>First line<br>second line</p>"
        "<ul><li>One</li><li>Two &amp; three</li></ul>"
        '<p>Read <a href="https://example.com/paper">the paper</a> or '
        '<a href="https://example.com/x">https://example.com/x</a>.</p>'
        '<script>alert(1)</script><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>',
        first_name="Ada",
        unsubscribe_url="https://lw.example/u/tok",
    )
    assert rendered.text == (
        "Hello Ada\n\n"
        "First line\nsecond line\n\n"
        "- One\n- Two & three\n\n"
        "Read the paper (https://example.com/paper) or https://example.com/x.\n\n"
        "Unsubscribe (https://lw.example/u/tok)\n"
    )


def test_html_to_text_handles_mailto_images_and_anchors() -> None:
    html = (
        '<p><img src="x.png" alt="Logo"><img src="pixel.gif"></p><p><a href="mailto:ada@x.example">write</a>'
    )
    html += ' <a href="#top">top</a> <a href="javascript:alert(1)">js</a> <a href="https://e.x/"></a></p>'
    assert html_to_text(html) == "Logo\n\nwrite (ada@x.example) top js https://e.x/\n"
    assert html_to_text("") == ""


def test_merge_fields_are_documented_names() -> None:
    assert {"first_name", "custom.<key>", "sender.name", "sender.email", "unsubscribe_url"} <= set(
        MERGE_FIELDS
    )
    for name in MERGE_FIELDS:
        template = "{{ custom.plan }}" if name == "custom.<key>" else f"{{{{ {name} }}}}"
        assert check_variant("x", template, "") == [], name


# --- the sandbox ----------------------------------------------------------------------------------

ESCAPES = [
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__init__",
    "__dict__",
    "__builtins__",
    "_TemplateReference__context",
    "format",
    "upper",
    "items",
    "mro",
    "gi_frame",
    "func_globals",
    "environment",
]
BASES = ["first_name", "custom.plan", "sender.name", "'text'", "[1, 2]", "{'a': 1}", "loop", "item"]


@st.composite
def lookups(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(BASES))
    steps = draw(
        st.lists(
            st.one_of(
                st.sampled_from(ESCAPES).map(lambda name: f".{name}"),
                st.sampled_from(ESCAPES).map(lambda name: f"[{name!r}]"),
                st.just("()"),
                st.just("[0]"),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return base + "".join(steps)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(lookups())
def test_no_python_object_is_reachable_from_a_template(expression: str) -> None:
    html = "{% for item in custom.tags %}{{ " + expression + " }}{% endfor %}"
    values = {"first_name": "Ada", "custom": {"plan": "pro", "tags": ["x"]}, "sender": {"name": "Bo"}}
    problems = check_variant("Hi", html, "")
    if any(name.startswith("_") for name in ESCAPES if name in expression) or "()" in expression:
        assert problems, expression
    try:
        rendered = render_variant(variant("Hi", html), values)
    except TemplateInvalid:
        return
    for leak in ("class", "function", "method", "built-in", "module", "Template", "0x"):
        assert leak not in rendered.html, (expression, rendered.html)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("{}%#()[]'\". |_-\nabxyz=~+*")), max_size=60))
def test_any_template_text_is_checked_without_crashing(source: str) -> None:
    for part in ("subject", "html", "text"):
        sources = {"subject": "x", "html": "x", "text": ""} | {part: source}
        problems = check_variant(sources["subject"], sources["html"], sources["text"])
        assert all(problem.line >= 1 for problem in problems)
        try:
            render_variant(variant(**sources), {"first_name": "Ada"})
        except TemplateInvalid as error:
            assert error.problems
        else:
            assert not problems


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_any_value_is_escaped_in_html_and_verbatim_in_text(value: str) -> None:
    rendered = render(html="<p>{{ first_name }}</p>", text="{{ first_name }}", first_name=value)
    assert rendered.html == f"<p>{escape(value) if value else ''}</p>"
    assert rendered.text == value
    assert rendered.missing == ([] if value else ["first_name"])


# --- merge context and variants on a real database ------------------------------------------------


def test_merge_context_of_a_real_contact(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        organization = factories.make_organization(
            session, workspace, name="Engines Ltd", domain="engines.example"
        )
        contact = factories.make_contact(
            session,
            workspace,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@engines.example",
            title="Analyst",
            phones=["+442071234567"],
            city="London",
            country="GB",
            organization_id=organization.id,
            custom={"plan": "pro", "tags": ["math", "looms"]},
        )
        mailbox = Mailbox(
            workspace_id=workspace.id,
            slug="main",
            from_name="Bo Sales",
            from_email="bo@acme.example",
            smtp_host="h",
        )
        session.add(mailbox)
        session.flush()
        context = merge_context(session, workspace.id, contact, mailbox, {"unsubscribe_url": "https://x/u/t"})
    assert {key: context[key] for key in context if key != "today"} == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "email": "ada@engines.example",
        "title": "Analyst",
        "phone": "+442071234567",
        "company": "Engines Ltd",
        "website": "https://engines.example",
        "domain": "engines.example",
        "city": "London",
        "country": "United Kingdom",
        "custom": {"plan": "pro", "tags": ["math", "looms"]},
        "sender": {"name": "Bo Sales", "email": "bo@acme.example"},
        "unsubscribe_url": "https://x/u/t",
        "magnet_title": "",  # only messages of a sequence started by a lead magnet have these
        "magnet_url": "",
    }
    rendered = render_variant(
        variant(
            "{{ first_name }} at {{ company }}",
            text="{{ custom.tags }} from {{ sender.name }} in {{ country }}",
        ),
        context,
    )
    assert (rendered.subject, rendered.text, rendered.missing) == (
        "Ada at Engines Ltd",
        "math, looms from Bo Sales in United Kingdom",
        [],
    )


def test_merge_context_of_a_sparse_contact_lists_what_is_missing(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, first_name="", last_name="", title=None)
        context = merge_context(session, workspace.id, contact, None, {})
    rendered = render_variant(
        variant(
            "Hi {{ first_name | default('there') }}",
            text="{{ company }}{{ sender.email }}{{ unsubscribe_url }}",
        ),
        context,
    )
    assert rendered.subject == "Hi there"
    assert rendered.missing == ["company", "sender.email", "unsubscribe_url"]


def test_merge_context_reads_no_organization_of_another_workspace(db: Database) -> None:
    with db.session() as session:
        mine, theirs = factories.make_workspace(session), factories.make_workspace(session)
        foreign = factories.make_organization(session, theirs, name="Not yours")
        contact = factories.make_contact(session, mine, organization_id=foreign.id)
        context = merge_context(session, mine.id, contact, None, {})
    assert context["company"] == ""


def _template_with(db: Database, weights: dict[str, int]) -> int:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        template = EmailTemplate(workspace_id=workspace.id, slug="t", name="T")
        session.add(template)
        session.flush()
        for key, weight in weights.items():
            session.add(
                TemplateVariant(template_id=template.id, key=key, subject=key, text=key, weight=weight)
            )
        return template.id


def test_choose_variant_is_weighted_and_the_same_for_a_seed(db: Database) -> None:
    template_id = _template_with(db, {"a": 1, "b": 3, "c": 0})
    with db.session() as session:
        chosen = Counter(choose_variant(session, template_id, f"contact-{n}").key for n in range(4000))
        again = [choose_variant(session, template_id, f"contact-{n}").key for n in range(50)]
        first = [choose_variant(session, template_id, f"contact-{n}").key for n in range(50)]
    assert chosen["c"] == 0
    assert 0.72 < chosen["b"] / 4000 < 0.78
    assert again == first


def test_choose_variant_with_every_weight_zero_takes_the_first(db: Database) -> None:
    template_id = _template_with(db, {"b": 0, "a": 0})
    with db.session() as session:
        assert choose_variant(session, template_id, "anyone").key == "a"


def test_country_names_read_well_in_a_sentence() -> None:
    assert [country_name(code) for code in ("gb", "CD", "PS", "KR", None, "ZZ")] == [
        "United Kingdom",
        "DR Congo",
        "State of Palestine",
        "South Korea",
        None,
        None,
    ]
