"""The profile pages through the real login form, on each database: the list, the editor (save,
versions, errors in place, TOML), the live preview against what saving stores, the profile page, the
contacts list's Fit column and grade filter, a contact's Fit panel, roles, CSRF and isolation."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.db.models import Fit, Icp, IcpVersion, Workspace
from leadwell.db.session import Database
from leadwell.icp.definition import parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition, get_icp, grade_counts
from leadwell.ids import IdCodec
from tests.factories import make_contact, make_organization, make_user, make_workspace
from tests.test_pages import csrf_of, logged_in

PROFILE: dict[str, Any] = {
    "slug": "consulting",
    "name": "Complex consulting projects",
    "must": [{"field": "organization.employees", "op": "gte", "value": 100}],
    "nice": [
        {"field": "contact.title", "op": "matches", "value": "(?i)cto|chief", "weight": 30},
        {"field": "contact.country", "op": "in", "value": ["DE", "AT"], "weight": 10},
    ],
    "avatar": {"roles": ["CTO"], "industries": ["Software"], "pains": ["projects that overrun"]},
}


class FormFields(HTMLParser):
    """The fields one form of a page would submit, as a browser fills them (the first submit
    button's name and value are left to the caller)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside or tag == "template":
            return
        name = found.get("name")
        if tag == "input" and name and found.get("type", "text") not in ("submit", "checkbox", "radio"):
            self.fields[name] = found.get("value", "")
        elif tag == "select" and name:
            self.select, self.first_option = name, None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = found.get("value", "")
            if "selected" in found:
                self.fields[self.select] = found.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            self.fields.setdefault(self.select, self.first_option or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data


def fields_of(page: str, form_id: str = "icp-form") -> dict[str, str]:
    # The <template> rows are copied by the page's script; a browser does not submit them.
    page = re.sub(r"<template.*?</template>", "", page, flags=re.S)
    parser = FormFields(form_id)
    parser.feed(page)
    return parser.fields


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    email: str
    ids: dict[str, int]


def seed(db: Database, role: str = "owner", name: str = "Acme") -> Seeded:
    """Ada (CTO at a big German firm), Bob (developer at a big firm), Cy (at a small firm),
    Dee (no organization), and a custom field on an organization."""
    with db.session() as session:
        workspace = make_workspace(session, name)
        user = make_user(session, workspace, role=role)
        big = make_organization(session, workspace, name="Big Corp", employees=500, custom={"tier": "gold"})
        small = make_organization(session, workspace, name="Tiny", employees=20)
        ids = {
            "ada": make_contact(
                session, workspace, first_name="Ada", organization_id=big.id, title="CTO", country="DE"
            ).id,
            "bob": make_contact(
                session, workspace, first_name="Bob", organization_id=big.id, title="Developer"
            ).id,
            "cy": make_contact(session, workspace, first_name="Cy", organization_id=small.id, title="CTO").id,
            "dee": make_contact(
                session, workspace, first_name="Dee", title="Chief of Staff", custom={"roi": 4}
            ).id,
        }
        return Seeded(workspace.id, user.email, ids)


def apply_profile(db: Database, workspace_id: int, **changes: Any) -> None:
    with db.session() as session:
        applied = apply_definition(session, workspace_id, parse_definition({**PROFILE, **changes}))
        grade_all(session, workspace_id, applied.icp)


def counts_of(db: Database, workspace_id: int, slug: str = "consulting") -> dict[str, int]:
    with db.session() as session:
        return grade_counts(session, workspace_id, get_icp(session, workspace_id, slug).id)


def preview_counts(page: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-grade="([A-F])">.*?<td class="number draft-count">([\d,]+)</td>', page, re.S)
    return {grade: int(count.replace(",", "")) for grade, count in rows}


def new_profile_form(client: TestClient, **fields: str) -> dict[str, str]:
    page = client.get("/icp/new")
    assert page.status_code == 200
    form = fields_of(page.text)
    must = re.search(r'name="must-(\d+)-field"', page.text)
    nice = re.search(r'name="nice-(\d+)-field"', page.text)
    assert must and nice
    m, n = must.group(1), nice.group(1)
    form |= {
        "name": "Consulting",
        "slug": "consulting",
        f"must-{m}-field": "organization.employees",
        f"must-{m}-op": "gte",
        f"must-{m}-value": "100",
        f"nice-{n}-field": "contact.title",
        f"nice-{n}-op": "matches",
        f"nice-{n}-value": "(?i)cto|chief",
        f"nice-{n}-weight": "30",
        "avatar-roles": "CTO, Head of IT",
        "avatar-locations": "DE, Zurich, CH",
        "avatar-age_min": "30",
        "avatar-age_max": "55",
    }
    return form | fields


# --- the list --------------------------------------------------------------------------------------


def test_the_list_shows_each_profile_with_counts_linking_to_its_contacts(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    empty = client.get("/icp")
    assert empty.status_code == 200 and "No profiles yet" in empty.text
    assert '/icp" aria-current="page">Ideal clients</a>' in empty.text  # in the navigation
    apply_profile(db, seeded.workspace_id)
    page = client.get("/icp").text
    assert 'id="new-profile"' in page
    row = page.split('id="profile-consulting"')[1].split("</tr>")[0]
    assert ">Complex consulting projects</a>" in row and "<code>consulting</code>" in row
    counts = counts_of(db, seeded.workspace_id)
    assert counts == {"A": 1, "B": 1, "C": 0, "D": 0, "E": 1, "F": 1}  # Ada, Dee, Bob; Cy is out
    links = re.findall(r'<a href="(/contacts\?icp=consulting&amp;grade=[A-F])"[^>]*>(\d+)</a>', row)
    assert [(html.unescape(url)[-1], int(count)) for url, count in links] == list(counts.items())


# --- the editor --------------------------------------------------------------------------------------


def test_saving_a_new_profile_creates_version_one_and_grades_everyone(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client) | {"action": "save"}
    response = client.post("/icp/new", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/icp/consulting?saved=created&changed=0"
    page = client.get(response.headers["location"]).text
    assert "Profile created (version 1)." in page
    with db.session() as session:
        icp = get_icp(session, seeded.workspace_id, "consulting")
        version = session.scalars(select(IcpVersion).where(IcpVersion.icp_id == icp.id)).one()
        assert version.created_by_id is not None
        assert version.definition["avatar"]["locations"] == ["DE", "Zurich, CH"]
        fits = {fit.contact_id: fit.grade for fit in session.scalars(select(Fit).where(Fit.icp_id == icp.id))}
    ids = seeded.ids
    assert fits == {ids["ada"]: "A", ids["bob"]: "E", ids["cy"]: "F", ids["dee"]: "A"}
    assert re.search(r'id="count-A">\s*<span class="grade grade-A">A</span> <strong>2</strong>', page)


def test_editing_makes_a_new_version_only_when_something_changed(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    form = fields_of(client.get("/icp/consulting/edit").text) | {"action": "save"}
    same = client.post("/icp/consulting/edit", data=form, follow_redirects=False)
    assert same.headers["location"] == "/icp/consulting?saved=unchanged&changed=0"
    assert "Nothing changed: still version 1." in client.get(same.headers["location"]).text
    threshold = next(name for name, value in form.items() if name.endswith("-value") and value == "100")
    changed = client.post("/icp/consulting/edit", data=form | {threshold: "10"}, follow_redirects=False)
    assert changed.headers["location"] == "/icp/consulting?saved=new+version&changed=1"  # Cy is back in
    page = client.get(changed.headers["location"]).text
    assert "Saved as version 2. 1 contact changed grade." in page
    assert counts_of(db, seeded.workspace_id)["F"] == 0
    with db.session() as session:
        versions = session.scalars(select(IcpVersion.version).order_by(IcpVersion.version)).all()
        assert versions == [1, 2]
        assert session.scalars(select(Icp.current_version)).one() == 2


def test_an_invalid_value_keeps_the_form_and_is_shown_on_its_row(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client, description="<b>bold</b> plans")
    must = next(name for name in form if name.startswith("must-") and name.endswith("-value"))
    number = must.split("-")[1]
    response = client.post("/icp/new", data=form | {must: "soon", "action": "save"})
    assert response.status_code == 422
    page = response.text
    assert "Not saved: must-have 1, value: &#39;soon&#39; is not a number" in page
    row = page.split(f'id="must-{number}"')[1].split("</tr>")[0]
    assert f'name="must-{number}-value" value="soon"' in row
    assert 'aria-invalid="true"' in row.split(f'name="must-{number}-value"')[1]
    error_row = page.split(f'id="must-{number}-error-row"')[1].split("</tr>")[0]
    assert "&#39;soon&#39; is not a number" in error_row
    kept = fields_of(page)
    assert kept["name"] == "Consulting" and kept["slug"] == "consulting"
    assert kept["description"] == "<b>bold</b> plans" and "&lt;b&gt;bold&lt;/b&gt; plans" in page
    assert kept["avatar-locations"] == "DE, Zurich, CH"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Icp)) == 0


@pytest.mark.parametrize(
    ("change", "message", "where"),
    [
        ({"grade-B": "90"}, "grades.B: 90 must be below grades.A (80)", 'name="grade-B"'),
        (
            {"avatar-age_min": "60"},
            "avatar.age_max: 55 is below avatar.age_min (60)",
            'name="avatar-age_max"',
        ),
        ({"slug": "new"}, "slug: &#39;new&#39; is taken by the editor&#39;s address", 'name="slug"'),
    ],
)
def test_errors_outside_the_rows_mark_their_input(
    app: FastAPI, db: Database, change: dict[str, str], message: str, where: str
) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    response = client.post("/icp/new", data=new_profile_form(client, **change) | {"action": "save"})
    assert response.status_code == 422
    assert message in response.text
    tag = response.text.split(where)[1].split(">")[0]
    assert 'aria-invalid="true"' in tag


def test_a_new_profile_may_not_take_an_existing_slug(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    response = client.post("/icp/new", data=new_profile_form(client) | {"action": "save"})
    assert response.status_code == 422
    assert "slug: a profile &#39;consulting&#39; already exists; edit it instead" in response.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(IcpVersion)) == 1


def test_rows_are_added_and_removed_without_javascript(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client)
    added = client.post("/icp/new", data=form | {"action": "add:must"})
    assert added.status_code == 200
    numbers = re.findall(r'<tr class="criterion" id="must-(\d+)"', added.text)
    assert len(numbers) == 2
    kept = fields_of(added.text)
    assert kept[f"must-{numbers[0]}-value"] == "100"  # what was typed stays
    removed = client.post("/icp/new", data=kept | {"action": f"remove:must:{numbers[0]}"})
    assert re.findall(r'<tr class="criterion" id="must-(\d+)"', removed.text) == [numbers[1]]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Icp)) == 0


def test_pasted_toml_loads_into_the_form_or_saves(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    edit = client.get("/icp/consulting/edit").text
    shown = html.unescape(edit.split('<pre id="toml-equivalent">')[1].split("</pre>")[0])
    assert shown.startswith('slug = "consulting"\nname = "Complex consulting projects"')
    toml_form = fields_of(edit, "toml-form")
    assert set(toml_form) == {"csrf_token", "editing", "toml"}
    changed = shown.replace("value = 100", "value = 1000")
    loaded = client.post("/icp/consulting/edit", data=toml_form | {"toml": changed, "action": "toml-load"})
    assert loaded.status_code == 200
    assert "1000" in fields_of(loaded.text).values()
    assert counts_of(db, seeded.workspace_id)["F"] == 1  # loading saves nothing
    other = changed.replace('slug = "consulting"', 'slug = "other"')
    not_here = client.post("/icp/consulting/edit", data=toml_form | {"toml": other, "action": "toml-load"})
    assert not_here.status_code == 422
    assert "slug: this page edits &#39;consulting&#39;, not &#39;other&#39;" in not_here.text
    refused = client.post("/icp/consulting/edit", data=toml_form | {"toml": other, "action": "toml-save"})
    assert refused.status_code == 422
    assert "slug: this page edits &#39;consulting&#39;, not &#39;other&#39;" in refused.text
    saved = client.post(
        "/icp/consulting/edit",
        data=toml_form | {"toml": changed, "action": "toml-save"},
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/icp/consulting?saved=new+version&changed=2"  # Ada, Bob out
    broken = client.post("/icp/consulting/edit", data=toml_form | {"toml": "slug = ", "action": "toml-save"})
    assert broken.status_code == 422 and "file: not valid TOML" in broken.text


# --- the preview ---------------------------------------------------------------------------------------


def test_preview_counts_follow_the_draft_and_match_what_saving_stores(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    form = fields_of(client.get("/icp/consulting/edit").text)
    threshold = next(name for name, value in form.items() if name.endswith("-value") and value == "100")
    current = client.post("/icp/preview", data=form, headers={"HX-Request": "true"})
    assert current.status_code == 200
    assert preview_counts(current.text) == counts_of(db, seeded.workspace_id)
    lower = client.post("/icp/preview", data=form | {threshold: "10"}).text
    assert preview_counts(lower) == {"A": 1, "B": 2, "C": 0, "D": 0, "E": 1, "F": 0}  # Cy is back in
    assert 'id="preview-out">0 qualified out<' in lower and 'id="preview-unknown">3 with unknowns<' in lower
    higher = client.post("/icp/preview", data=form | {threshold: "1000"}).text
    assert preview_counts(higher) == {"A": 0, "B": 1, "C": 0, "D": 0, "E": 0, "F": 3}  # Dee: unknown size
    assert counts_of(db, seeded.workspace_id)["F"] == 1  # previews write nothing
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(IcpVersion)) == 1
    client.post("/icp/consulting/edit", data=form | {threshold: "10", "action": "save"})
    assert counts_of(db, seeded.workspace_id) == preview_counts(lower)


def test_preview_shows_examples_with_reasons_and_links(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    page = client.post("/icp/preview", data=new_profile_form(client)).text
    assert preview_counts(page) == {"A": 2, "B": 0, "C": 0, "D": 0, "E": 1, "F": 1}
    ada = codec.encode("contact", seeded.ids["ada"])
    assert re.search(rf'<a href="/contacts/{ada}">Ada Lovelace\d+</a>, Big Corp · 100', page)
    assert "title matches (?i)cto|chief: met" in page
    assert "employees ≥ 100: unmet" in page  # why Cy is out
    assert 'hx-swap-oob="true">slug = &#34;consulting&#34;' in page  # the TOML beside the form follows


def test_an_invalid_draft_previews_its_error_instead_of_counts(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client)
    op = next(name for name in form if name.startswith("must-") and name.endswith("-op"))
    page = client.post("/icp/preview", data=form | {op: "contains"}).text
    assert 'id="preview-error"' in page and "contains does not apply to organization.employees" in page
    assert "draft-count" not in page


def test_preview_needs_the_csrf_token(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client)
    assert client.post("/icp/preview", data=form | {"csrf_token": "forged"}).status_code == 403
    token = form.pop("csrf_token")
    assert client.post("/icp/preview", data=form).status_code == 403
    assert client.post("/icp/preview", data=form, headers={"X-CSRF-Token": token}).status_code == 200


# --- the profile page ----------------------------------------------------------------------------------


def test_the_profile_page_shows_avatar_criteria_counts_and_versions(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    avatar = {**PROFILE["avatar"], "age_min": 30, "channels": ["<LinkedIn>"]}
    apply_profile(db, seeded.workspace_id, avatar=avatar)
    apply_profile(db, seeded.workspace_id, name="Consulting v2", avatar=avatar)
    client = logged_in(app, seeded.email)
    page = client.get("/icp/consulting").text
    assert "<h1>Consulting v2</h1>" in page
    portrait = page.split('id="avatar"')[1].split("</article>")[0]
    assert (
        "<dt>Roles</dt><dd>CTO</dd>" in portrait
        and "<dt>Pains</dt><dd>projects that overrun</dd>" in portrait
    )
    assert "<dt>Where they spend time</dt><dd>&lt;LinkedIn&gt;</dd>" in portrait
    assert "<dt>Age</dt><dd>30 and over</dd>" in portrait
    criteria = page.split('id="criteria"')[1].split("</article>")[0]
    assert "<li>employees ≥ 100</li>" in criteria
    assert "country in DE, AT <small" in criteria and "weight 10, 25% of the score" in criteria
    assert 'href="/contacts?icp=consulting&amp;grade=A"' in page
    versions = page.split('id="versions"')[1]
    assert re.findall(r'href="/icp/consulting/versions/(\d)"', versions) == ["2", "1"]
    assert versions.count("command line") == 2  # applied without a user
    old = client.get("/icp/consulting/versions/1")
    assert old.status_code == 200
    assert "name = &#34;Complex consulting projects&#34;" in old.text
    assert client.get("/icp/consulting/versions/3").status_code == 404
    assert client.get("/icp/consulting/versions/x").status_code == 404


# --- contacts: the Fit column, the grade filter, the export, a contact's panel ------------------------


def test_the_contacts_list_shows_fit_and_filters_by_grade(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    page = client.get("/contacts").text
    assert '<th scope="col" title="Fit to Complex consulting projects">Fit</th>' in page
    assert '<span class="grade grade-A">A</span><span class="score">100</span>' in page
    assert "Grade A, score 100. employees ≥ 100: met (500). title matches (?i)cto|chief: met (CTO)." in page
    assert "Ask: employees, country." in page  # Dee has no organization
    only_a = client.get("/contacts", params={"icp": "consulting", "grade": "A"}).text
    ada = codec.encode("contact", seeded.ids["ada"])
    assert re.findall(r'href="/contacts/(ct_[^"]+)"', only_a) == [ada]
    assert "Grade A for Complex consulting projects" in only_a
    a_or_f = client.get("/contacts", params=[("grade", "A"), ("grade", "F")]).text  # the first profile
    assert "2 contacts" in a_or_f and 'value="F" checked' in a_or_f
    assert client.get("/contacts", params={"grade": "Z"}).status_code == 400
    assert client.get("/contacts", params={"icp": "nope"}).status_code == 404
    fragment = client.get(
        "/contacts", params={"grade": "E"}, headers={"HX-Request": "true", "HX-Target": "contact-results"}
    ).text
    assert "<html" not in fragment and "1 contact<" in fragment and 'class="grade grade-E"' in fragment


def test_the_export_from_the_page_has_the_fit_columns(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    response = client.get("/contacts/export.csv", params={"grade": "F"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert list(rows[0])[-4:] == ["grade", "fit_score", "qualified_out", "fit_reasons"]
    assert (rows[0]["first_name"], rows[0]["grade"], rows[0]["fit_score"]) == ("Cy", "F", "0")
    assert rows[0]["qualified_out"] == "true"
    assert rows[0]["fit_reasons"].startswith("employees ≥ 100: unmet; title matches (?i)cto|chief: met")


def test_a_contacts_page_has_a_fit_panel_per_profile(app: FastAPI, db: Database, codec: IdCodec) -> None:
    seeded = seed(db)
    apply_profile(db, seeded.workspace_id)
    apply_profile(db, seeded.workspace_id, slug="tiny", name="Tiny shops", must=[], nice=PROFILE["nice"])
    client = logged_in(app, seeded.email)
    cy = client.get(f"/contacts/{codec.encode('contact', seeded.ids['cy'])}").text
    panel = cy.split('id="fit-consulting"')[1].split("</article>")[0]
    assert '<span class="grade grade-F">F</span> score 0' in panel
    assert "Qualified out: employees ≥ 100 is not met (20)." in panel
    assert '<td class="state-unmet">unmet' in panel and '<td class="state-met">met' in panel
    assert "Ask: country." in panel
    assert 'id="fit-tiny"' in cy
    dee = client.get(f"/contacts/{codec.encode('contact', seeded.ids['dee'])}").text
    assert "Ask: employees, country." in dee.split('id="fit-consulting"')[1].split("</article>")[0]


def test_the_field_choices_include_custom_fields_seen_in_data(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    page = client.get("/icp/new").text
    assert '<option value="custom.roi" data-kind="custom"' in page
    assert '<option value="organization.custom.tier" data-kind="custom"' in page
    assert '<option value="organization.employees" data-kind="range"' in page


# --- roles, CSRF, isolation ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/icp", "/icp/new", "/icp/consulting", "/icp/consulting/edit"])
def test_anonymous_requests_go_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_sales_reads_profiles_but_cannot_edit_them(app: FastAPI, db: Database) -> None:
    seeded = seed(db, role="sales")
    apply_profile(db, seeded.workspace_id)
    client = logged_in(app, seeded.email)
    assert client.get("/icp/consulting").status_code == 200
    assert "Edit profile" not in client.get("/icp/consulting").text
    assert 'id="new-profile"' not in client.get("/icp").text
    assert client.get("/icp/new").status_code == 403
    assert client.get("/icp/consulting/edit").status_code == 403
    token = csrf_of(client.get("/icp/consulting").text)
    refused = client.post("/icp/consulting/edit", data={"csrf_token": token, "name": "x", "action": "save"})
    assert refused.status_code == 403


def test_saving_needs_the_csrf_token(app: FastAPI, db: Database) -> None:
    seeded = seed(db)
    client = logged_in(app, seeded.email)
    form = new_profile_form(client) | {"action": "save"}
    assert client.post("/icp/new", data=form | {"csrf_token": "forged"}).status_code == 403
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Icp)) == 0


def test_another_workspaces_profile_is_not_found(app: FastAPI, db: Database) -> None:
    mine = seed(db)
    theirs = seed(db, name="Rival")
    apply_profile(db, theirs.workspace_id, slug="secret", name="Their secret plan")
    client = logged_in(app, mine.email)
    for path in ("/icp/secret", "/icp/secret/edit", "/icp/secret/versions/1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Their secret plan" not in response.text
    assert client.get("/contacts", params={"icp": "secret"}).status_code == 404
    token = csrf_of(client.get("/icp").text)
    assert client.post("/icp/secret/edit", data={"csrf_token": token}).status_code == 404
    assert "Their secret plan" not in client.get("/icp").text
    preview = client.post("/icp/preview", data=new_profile_form(client) | {"editing": "secret"}).text
    assert "Now" not in preview  # their counts are not shown beside the draft
    with db.session() as session:
        workspace = session.get(Workspace, mine.workspace_id)
        assert workspace is not None
        assert (
            session.scalar(select(func.count()).select_from(Icp).where(Icp.workspace_id == workspace.id)) == 0
        )
