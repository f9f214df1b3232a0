"""Form definitions: fields, the one email field, consent, the gated magnet, allowed origins and
limits, with the field at fault named when something is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from leadwell.capture.assets import remove_asset
from leadwell.capture.form_defs import (
    FieldInput,
    FormInput,
    clean_origins,
    create_form,
    default_fields,
    field_inputs,
    remove_form,
    update_form,
)
from leadwell.capture.values import clean_origin
from leadwell.db.models import Form, FormSubmission, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput, LeadwellError
from tests.capture.test_assets import make_pdf_asset
from tests.factories import make_contact, make_workspace


@pytest.fixture
def workspace_id(db: Database) -> int:
    with db.session() as session:
        return make_workspace(session, "Acme").id


def refusal(db: Database, workspace_id: int, data: FormInput) -> LeadwellError:
    with pytest.raises(LeadwellError) as caught, db.session() as session:
        create_form(session, workspace_id, data)
    return caught.value


def test_a_form_stores_its_fields_consent_gate_origins_and_limits(db: Database, workspace_id: int) -> None:
    asset = make_pdf_asset(db, workspace_id)
    fields = [
        *default_fields(),
        FieldInput("company", "Company", "text", "organization"),
        FieldInput("size", "Team size", "select", "custom.team_size", True, "1-10\n11-50\n\n51+"),
        FieldInput("news", "Send me news", "checkbox", ""),
        FieldInput(),  # a blank row of the editor
    ]
    data = FormInput(
        "Playbook download", fields=fields, consent_text="I agree to be contacted.", consent_required=True,
        asset=asset, allowed_origins="https://WWW.Example.com:443/\nhttp://localhost:8080, https://www.example.com",
        submit_label="Get it", thank_you="Check your inbox.", min_fill_seconds="5", per_ip_per_hour="10",
    )  # fmt: skip
    with db.session() as session:
        form = create_form(session, workspace_id, data)
        assert form.slug == "playbook-download"
        assert [f["key"] for f in form.fields] == [
            "email",
            "first_name",
            "last_name",
            "company",
            "size",
            "news",
        ]
        assert form.fields[4] == {
            "key": "size", "label": "Team size", "type": "select", "maps_to": "custom.team_size",
            "required": True, "options": ["1-10", "11-50", "51+"],
        }  # fmt: skip
        assert form.fields[5]["maps_to"] == "custom.news"
        assert (form.consent_text, form.consent_required) == ("I agree to be contacted.", True)
        assert form.allowed_origins == ["https://www.example.com", "http://localhost:8080"]
        assert (form.submit_label, form.min_fill_seconds, form.per_ip_per_hour, form.per_form_per_minute) == (
            "Get it", 5, 10, 120,
        )  # fmt: skip
        assert form.asset_id is not None
        assert [row.key for row in field_inputs(form)][:3] == ["email", "first_name", "last_name"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([FieldInput("name", "Name", "text", "first_name")], "fields"),
        (
            [*default_fields(), FieldInput("email2", "Work email", "email", "email", True)],
            "fields[3].maps_to",
        ),
        ([FieldInput("email", "Email", "email", "email", False)], "fields[0].required"),
        ([FieldInput("email", "Email", "text", "email", True)], "fields[0].type"),
        ([*default_fields(), FieldInput("email", "Again", "text", "city")], "fields[3].key"),
        ([*default_fields(), FieldInput("Bad Key", "X", "text", "")], "fields[3].key"),
        ([*default_fields(), FieldInput("utm_source", "X", "text", "")], "fields[3].key"),
        ([*default_fields(), FieldInput("x", "X", "colour", "")], "fields[3].type"),
        ([*default_fields(), FieldInput("x", "X", "text", "salary")], "fields[3].maps_to"),
        ([*default_fields(), FieldInput("x", "X", "select", "")], "fields[3].options"),
        ([*default_fields(), FieldInput("x", "", "text", "")], "fields[3].label"),
        ([*default_fields(), FieldInput("x", "X", "checkbox", "city")], "fields[3].maps_to"),
    ],
)
def test_bad_fields_are_refused_by_name(
    db: Database, workspace_id: int, fields: list[FieldInput], field: str
) -> None:
    assert refusal(db, workspace_id, FormInput("Form", fields=fields)).field == field
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Form)) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent_required": True}, "consent_text"),
        ({"asset": "no-such-magnet"}, "asset"),
        ({"allowed_origins": "https://example.com/path"}, "allowed_origins[0]"),
        ({"allowed_origins": "example.com"}, "allowed_origins[0]"),
        ({"allowed_origins": "https://ok.example\nftp://files.example"}, "allowed_origins[1]"),
        ({"allowed_origins": "https://user:pw@example.com"}, "allowed_origins[0]"),
        ({"min_fill_seconds": "-1"}, "min_fill_seconds"),
        ({"per_ip_per_hour": "lots"}, "per_ip_per_hour"),
        ({"slug": "-bad-"}, "slug"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_refused_by_name(
    db: Database, workspace_id: int, changes: dict[str, object], field: str
) -> None:
    data = FormInput("Form", fields=default_fields())
    for name, value in changes.items():
        setattr(data, name, value)
    assert refusal(db, workspace_id, data).field == field


def test_form_slugs_are_unique_across_workspaces(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        create_form(session, workspace_id, FormInput("Contact us", fields=default_fields()))
        other = make_workspace(session, "Other").id
    error = refusal(db, other, FormInput("Contact us", fields=default_fields()))
    assert isinstance(error, Conflict) and error.field == "slug" and "already taken" in error.detail


def test_origins_are_normalised() -> None:
    assert clean_origin("HTTPS://Shop.Example.COM", "o") == "https://shop.example.com"
    assert clean_origin("http://example.com:80", "o") == "http://example.com"
    assert clean_origin("https://example.com:8443", "o") == "https://example.com:8443"
    assert clean_origin("https://bücher.example", "o") == "https://xn--bcher-kva.example"
    assert clean_origins("") == []
    with pytest.raises(InvalidInput, match="bad port"):
        clean_origin("https://example.com:99999", "o")


def test_forms_with_submissions_are_archived_others_deleted(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        used = create_form(session, workspace_id, FormInput("Used", fields=default_fields()))
        create_form(session, workspace_id, FormInput("Unused", fields=default_fields()))
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        contact = make_contact(session, workspace)
        session.add(
            FormSubmission(workspace_id=workspace_id, form_id=used.id, contact_id=contact.id, nonce="n1")
        )
    with db.session() as session:
        assert remove_form(session, workspace_id, "unused") == "deleted"
        assert remove_form(session, workspace_id, "used") == "archived"
        changed = update_form(
            session, workspace_id, "used", FormInput("Renamed", slug="x", fields=default_fields())
        )
        assert (changed.slug, changed.name, changed.archived_at is not None) == ("used", "Renamed", True)


def test_reserved_slugs_are_refused_or_avoided(db: Database, workspace_id: int) -> None:
    assert refusal(db, workspace_id, FormInput("Form", slug="new", fields=default_fields())).field == "slug"
    with db.session() as session:
        assert create_form(session, workspace_id, FormInput("New", fields=default_fields())).slug == "new-1"


_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.lists(_LABEL, min_size=2, max_size=4),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_a_cleaned_origin_cleans_to_itself(scheme: str, labels: list[str], port: int | None) -> None:
    host = ".".join(labels).upper()
    origin = f"{scheme}://{host}" + (f":{port}" if port is not None else "") + "/"
    cleaned = clean_origin(origin, "o")
    assert cleaned == clean_origin(cleaned, "o")
    assert (
        cleaned.startswith(scheme.lower() + "://")
        and cleaned == cleaned.lower()
        and not cleaned.endswith("/")
    )


def test_a_form_keeps_its_archived_magnet_but_no_new_form_takes_it(db: Database, workspace_id: int) -> None:
    asset = make_pdf_asset(db, workspace_id)
    with db.session() as session:
        create_form(session, workspace_id, FormInput("Offer", fields=default_fields(), asset=asset))
        assert remove_asset(session, workspace_id, asset) == "archived"  # a form refers to it
    with db.session() as session:
        kept = update_form(
            session, workspace_id, "offer", FormInput("Offer 2", fields=default_fields(), asset=asset)
        )
        assert kept.asset_id is not None
    error = refusal(db, workspace_id, FormInput("Another", fields=default_fields(), asset=asset))
    assert error.field == "asset" and "archived" in error.detail
