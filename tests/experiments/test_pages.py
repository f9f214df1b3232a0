"""The Experiments pages over HTTP with a real login: who may change what, CSRF on every POST,
creating an experiment from each kind of subject with the variants prefilled, refusals shown beside
their field with the values kept, the actions each state allows, and the report's figures, chart
data and Content-Security-Policy."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import EmailTemplate, Experiment, ExperimentVariant, TemplateVariant, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.experiments.chart import chart_spec
from leadwell.experiments.detail_pages import chart_of
from leadwell.experiments.results import experiment_report
from tests.experiments.factories import make_asset, make_experiment, make_form, make_subject, plant
from tests.test_pages import Account, Reply, csrf_of, logged_in, make_account

SPEC_RE = re.compile(r'<script type="application/json" id="experiment-chart-spec">(.*?)</script>', re.S)


@pytest.fixture
def marketer(db: Database) -> Account:
    return make_account(db, "Acme", role="marketer")


def _post(client: TestClient, page: str, path: str, data: Mapping[str, Any]) -> Reply:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _text(reply: Reply) -> str:
    return html.unescape(reply.text)


def _workspace(session: Session, account: Account) -> Workspace:
    return session.get_one(Workspace, account.workspace_id)


def _template_subject(db: Database, account: Account) -> str:
    """A template with variants a and b; its slug."""
    with db.session() as session:
        template = session.get(
            EmailTemplate, make_subject(session, _workspace(session, account), "email_template")
        )
        assert template is not None
        return template.slug


def _form_values(slug: str, subject: str, **more: str) -> dict[str, str]:
    """A complete new-experiment form for a template with variants a and b."""
    values = {
        "name": "Question in the subject",
        "slug": slug,
        "kind": "email_template",
        "subject": subject,
        "variant_count": "2",
        "control": "0",
        "variants[0].key": "A",
        "variants[0].name": "Statement",
        "variants[0].weight": "1",
        "variants[0].template_variant": "a",
        "variants[1].key": "B",
        "variants[1].name": "Question",
        "variants[1].weight": "1",
        "variants[1].template_variant": "b",
        "primary_metric": "click",
        "statistic": "sequential",
        "allocation": "fixed",
        "alpha": "0.05",
        "power": "0.8",
        "minimum_effect": "20%",
        "window_days": "30",
    }
    values.update(more)
    return values


def test_salespeople_read_experiments_but_change_nothing(app: FastAPI, db: Database) -> None:
    seller = make_account(db, "Acme", role="sales")
    with db.session() as session:
        slug = make_experiment(session, _workspace(session, seller), state="draft", name="Subject lines").slug
    client = logged_in(app, seller.email)
    listing = _text(client.get("/experiments"))
    assert "Subject lines" in listing and "New experiment" not in listing
    page = client.get(f"/experiments/{slug}")
    assert page.status_code == 200 and 'id="start"' not in page.text and "Promote" not in page.text
    assert client.get("/experiments/new").status_code == 403
    token = csrf_of(page.text)
    for action, data in (
        ("start", {}),
        ("stop", {}),
        ("allocation", {"allocation": "bandit"}),
        ("promote", {"variant": "B"}),
    ):
        refused = client.post(f"/experiments/{slug}/{action}", data={"csrf_token": token, **data})
        assert refused.status_code == 403, action
    created = client.post("/experiments/new", data={"csrf_token": token, **_form_values("x", "y")})
    assert created.status_code == 403
    with db.session() as session:
        assert session.scalar(select(Experiment.state).where(Experiment.slug == slug)) == "draft"


def test_every_post_needs_the_forms_csrf_token(app: FastAPI, db: Database, marketer: Account) -> None:
    subject = _template_subject(db, marketer)
    client = logged_in(app, marketer.email)
    assert client.post("/experiments/new", data=_form_values("subject-test", subject)).status_code == 403
    forged = {"csrf_token": "forged", **_form_values("subject-test", subject)}
    assert client.post("/experiments/new", data=forged).status_code == 403
    with db.session() as session:
        slug = make_experiment(session, _workspace(session, marketer), state="draft").slug
    for action in ("start", "stop", "allocation", "promote"):
        assert client.post(f"/experiments/{slug}/{action}", data={"variant": "B"}).status_code == 403, action
    with db.session() as session:
        assert session.scalar(select(Experiment).where(Experiment.slug == "subject-test")) is None
        assert session.scalar(select(Experiment.state).where(Experiment.slug == slug)) == "draft"


def test_a_marketer_creates_an_experiment_on_a_template(
    app: FastAPI, db: Database, marketer: Account
) -> None:
    subject = _template_subject(db, marketer)
    client = logged_in(app, marketer.email)
    assert 'id="new-experiment"' in client.get("/experiments").text
    # Choosing the kind lists the workspace's templates; choosing one prefills its variants.
    token = csrf_of(client.get("/experiments/new").text)
    by_kind = _text(
        client.post(
            "/experiments/new", data={"csrf_token": token, "kind": "email_template", "refresh": "kind"}
        )
    )
    assert f'<option value="{subject}"' in by_kind
    picked = {
        "csrf_token": token,
        "kind": "email_template",
        "subject": subject,
        "name": "Kept",
        "refresh": "subject",
    }
    prefilled = _text(client.post("/experiments/new", data=picked))
    assert 'name="variants[0].template_variant"' in prefilled and 'name="variants[2].key"' not in prefilled
    assert 'value="Template variant a"' in prefilled and 'value="Template variant b"' in prefilled
    assert 'value="Kept"' in prefilled  # typed values survive the redraw
    assert "unreliable: mail privacy proxies open every message" in prefilled
    added = _text(
        client.post(
            "/experiments/new", data={**_form_values("s", subject), "csrf_token": token, "refresh": "add"}
        )
    )
    assert 'name="variants[2].key" value="C"' in added

    created = _post(client, "/experiments/new", "/experiments/new", _form_values("subject-test", subject))
    assert created.status_code == 303
    assert created.headers["location"] == "/experiments/subject-test?done=created"
    page = _text(client.get(created.headers["location"]))
    assert "Experiment created as a draft" in page and 'id="start"' in page
    with db.session() as session:
        experiment = session.scalar(select(Experiment).where(Experiment.slug == "subject-test"))
        assert experiment is not None and experiment.state == "draft" and experiment.primary_metric == "click"
        assert experiment.minimum_effect == pytest.approx(0.2)
        variants = session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment.id)
            .order_by(ExperimentVariant.key)
        ).all()
        assert [(v.key, v.name, v.is_control, v.template_variant_key) for v in variants] == [
            ("A", "Statement", True, "a"), ("B", "Question", False, "b")
        ]  # fmt: skip
    listed = _text(client.get("/experiments?state=draft"))
    assert "Question in the subject" in listed and "not started" in listed
    assert "Question in the subject" not in _text(client.get("/experiments?state=running"))


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("name", "", "name"),
        ("variants[1].weight", "-1", "variants[1].weight"),
        ("variants[1].weight", "heavy", "variants[1].weight"),
        ("primary_metric", "", "primary_metric"),
        ("minimum_effect", "a lot", "minimum_effect"),
        ("subject", "no-such-template", "subject"),
    ],
)
def test_a_refusal_is_shown_beside_its_field_with_the_values_kept(
    app: FastAPI, db: Database, marketer: Account, field: str, value: str, named: str
) -> None:
    subject = _template_subject(db, marketer)
    client = logged_in(app, marketer.email)
    values = {**_form_values("refused", subject, hypothesis="Questions get answers"), field: value}
    reply = _post(client, "/experiments/new", "/experiments/new", values)
    assert reply.status_code == 422
    page = _text(reply)
    anchor = named.replace("[", "-").replace("]", "").replace(".", "-")
    marked = re.search(
        rf'name="{re.escape(named)}"[^>]*aria-invalid="true" aria-describedby="error-{anchor}"', page
    )
    assert marked, named
    assert f'id="error-{anchor}"' in page  # the message sits under the field
    assert "Questions get answers" in page
    with db.session() as session:
        assert session.scalar(select(Experiment).where(Experiment.slug == "refused")) is None


def test_the_form_offers_what_each_kind_can_change(app: FastAPI, db: Database, marketer: Account) -> None:
    with db.session() as session:
        workspace = _workspace(session, marketer)
        make_subject(session, workspace, "landing_page")  # a page with its form
        magnet_form = make_form(session, workspace, make_asset(session, workspace))
        extra = make_asset(session, workspace)
        make_subject(session, workspace, "sequence_step")
        magnet_slug, extra_title = magnet_form.slug, extra.title
    client = logged_in(app, marketer.email)

    def form_for(kind: str) -> str:
        return _text(client.get(f"/experiments/new?kind={kind}"))

    page_form = form_for("landing_page")
    assert (
        'name="variants[0].overrides.title"' in page_form
        and 'name="variants[1].overrides.body_markdown"' in page_form
    )
    offer = form_for("channel_offer")
    assert 'id="offer-note"' in offer and 'name="subject"' not in offer
    assert 'name="variants[1].overrides.description"' in offer
    assert 'value="Current offer"' in offer and 'value="New offer"' in offer
    assert 'name="variants[1].template"' in form_for("sequence_step")
    # A form's optional fields can be hidden; a magnet variant names another magnet.
    magnet = _text(client.get(f"/experiments/new?kind=magnet&subject={magnet_slug}"))
    assert 'name="variants[1].asset"' in magnet and extra_title in magnet
    form = _text(client.get(f"/experiments/new?kind=form&subject={magnet_slug}"))
    assert 'name="variants[1].overrides.hide_fields" value="company"' in form
    assert 'value="email"' not in form.split("Hide optional fields")[1].split("</fieldset>")[0]
    assert 'name="variants[1].overrides.submit_label" value="Send"' in form
    # Email metrics are not offered for what sends no email.
    assert 'value="click"' not in page_form and 'value="click"' in form_for("sequence_step")


def test_actions_follow_the_state_and_promoting_says_what_it_changes(
    app: FastAPI, db: Database, marketer: Account
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, _workspace(session, marketer), state="draft")
        slug, template_id = experiment.slug, experiment.template_id
    client = logged_in(app, marketer.email)
    page_path = f"/experiments/{slug}"
    assert 'id="stop"' not in client.get(page_path).text
    started = _post(client, page_path, f"{page_path}/start", {})
    assert started.headers["location"] == f"{page_path}?done=started"
    running = _text(client.get(started.headers["location"]))
    assert 'data-state="running"' in running and 'id="stop"' in running and 'id="start"' not in running
    again = _post(client, page_path, f"{page_path}/start", {})
    assert again.status_code == 409 and "only a draft can start" in _text(again)

    assert _post(client, page_path, f"{page_path}/allocation", {"allocation": "bandit"}).status_code == 303
    bandit = _text(client.get(page_path))
    assert 'id="allocation-fixed"' in bandit and "bandit 50.0%" in bandit
    assert _post(client, page_path, f"{page_path}/allocation", {"allocation": "fixed"}).status_code == 303
    assert 'id="allocation-bandit"' in client.get(page_path).text

    confirm = _text(client.get(page_path))
    assert "sends only its variant 'b' from now on" in confirm and "everyone new gets B" in confirm
    promoted = _post(client, page_path, f"{page_path}/promote", {"variant": "B"})
    assert promoted.headers["location"] == f"{page_path}?done=promoted"
    scaled = _text(client.get(promoted.headers["location"]))
    assert 'data-state="scaled"' in scaled and 'id="actions"' not in scaled
    with db.session() as session:
        rows = session.execute(
            select(TemplateVariant.key, TemplateVariant.weight).where(
                TemplateVariant.template_id == template_id
            )
        )
        assert {key: weight for key, weight in rows} == {"a": 0, "b": 1}


def test_an_unknown_or_foreign_experiment_is_not_found(app: FastAPI, db: Database, marketer: Account) -> None:
    other = make_account(db, "Rival", role="owner")
    with db.session() as session:
        foreign = make_experiment(session, _workspace(session, other)).slug
    client = logged_in(app, marketer.email)
    assert client.get(f"/experiments/{foreign}").status_code == 404
    assert client.get("/experiments/nothing-here").status_code == 404
    assert _post(client, "/experiments", f"/experiments/{foreign}/stop", {}).status_code == 404


def test_the_report_page_shows_the_figures_the_chart_and_a_strict_policy(
    app: FastAPI, db: Database, marketer: Account
) -> None:
    with db.session() as session:
        experiment = make_experiment(
            session,
            _workspace(session, marketer),
            name="Subject lines",
            started_at=utcnow() - timedelta(days=3),
        )
        day = utcnow() - timedelta(days=2)
        plant(
            session,
            experiment,
            {"A": (400, 20), "B": (400, 60)},
            exposed_at=day,
            converted_after=timedelta(hours=1),
        )
        slug = experiment.slug
    client = logged_in(app, marketer.email)
    reply = client.get(f"/experiments/{slug}")
    assert reply.status_code == 200
    policy = reply.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy and "'unsafe-inline'" not in policy
    page = _text(reply)
    rows = {key: re.search(rf'<tr id="variant-{key}".*?</tr>', page, re.S) for key in "AB"}
    row_a, row_b = (found.group(0) if found else "" for found in (rows["A"], rows["B"]))
    assert 'class="number exposed">400<' in row_a and 'class="number outcome">60<' in row_b
    assert "15.0%" in row_b and "+10.0 pts" in row_b
    assert 'id="verdict">B beats A' in page
    with db.session() as session:
        found = session.scalar(select(Experiment).where(Experiment.slug == slug))
        assert found is not None
        expected = chart_of(experiment_report(session, found, utcnow()))
    match = SPEC_RE.search(reply.text)
    assert match is not None and "<" not in match.group(1)  # escaped: the JSON cannot close its element
    assert json.loads(match.group(1)) == json.loads(json.dumps(expected))
    assert '/static/experiment_chart.js"' in reply.text


def test_the_chart_is_a_pure_function_of_the_series() -> None:
    series = [
        {"date": f"2025-03-0{day}", "variant": key, "exposed": day * 10, "conversions": day, "rate": 0.1}
        for day in (1, 2)
        for key in "AB"
    ]
    spec = chart_spec(series, metric_label="Replies", names={"A": "Current", "B": "Bold"})
    assert spec["$schema"].endswith("/v6.json") and spec["mark"]["type"] == "line"
    values = spec["data"]["values"]
    assert [(row["date"], row["label"], row["exposed"]) for row in values[:2]] == [
        ("2025-03-01", "A: Current", 10),
        ("2025-03-01", "B: Bold", 10),
    ]
    assert spec["encoding"]["y"]["axis"]["format"] == ".1%"
    assert (
        chart_spec(series, metric_label="Revenue", kind="revenue")["encoding"]["y"]["axis"]["format"] == ".2f"
    )
    # With the difference's confidence band, a second panel; rows without a band are left out.
    band = [
        {"date": "2025-03-01", "variant": "B", "difference": 0.01, "low": None, "high": None},
        {"date": "2025-03-02", "variant": "B", "difference": 0.02, "low": -0.01, "high": 0.05},
    ]
    both = chart_spec(series, metric_label="Replies", difference=band)
    assert len(both["vconcat"]) == 2
    layers = both["vconcat"][1]["layer"]
    assert [row["date"] for row in layers[0]["data"]["values"]] == ["2025-03-02"]
    assert json.loads(json.dumps(both)) == both  # plain JSON, nothing else
