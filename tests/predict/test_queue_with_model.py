"""The call queue with an active model: ordered by the model's expected value (read through
ix_engagements_predicted), hot contacts still first, unscored leads by fit × engagement, P(sale) and
the model's reasons in why-now; and back to fit × engagement when no model is active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, PredictiveModel, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.predict.train_workspace import deactivate
from leadwell.sales.queue import call_queue
from leadwell.sales.why_now import model_words, percent_words
from leadwell.scoring.settings import default_settings
from tests.conftest import Tenant
from tests.sales.queue_data import make_lead

SETTINGS = default_settings()


def active_model(session: Session, ws: Workspace, version: int = 4) -> PredictiveModel:
    model = PredictiveModel(
        workspace_id=ws.id, version=version, source="workspace", status="ready", active=True
    )
    session.add(model)
    session.flush()
    return model


def predict(session: Session, lead: Contact, model: PredictiveModel, p: float, *reasons: str) -> None:
    row = session.get(Engagement, lead.id)
    assert row is not None
    row.predicted_p, row.predicted_value = p, p * 5000
    row.predicted_reasons, row.predicted_model_id, row.predicted_at = list(reasons), model.id, utcnow()


def test_the_model_orders_the_queue_and_explains_it(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        engaged_a = make_lead(session, ws, grade="A", score=200, scored_at=now)  # first by fit × engagement
        quiet_c = make_lead(session, ws, grade="C")
        middling = make_lead(session, ws, grade=None)
        unscored = make_lead(session, ws, grade="B", score=40, scored_at=now)  # created after scoring
        qualified_out = make_lead(session, ws, grade="F")
        waiting = make_lead(session, ws, grade="B", due_at=now + timedelta(days=1))
        hot = make_lead(session, ws, grade="E")
        session.get(Engagement, hot.id).hot_at = now - timedelta(hours=1)  # type: ignore[union-attr]
        before = [item.contact_id for item in call_queue(session, ws.id, now)]
        model = active_model(session, ws)
        predict(session, engaged_a, model, 0.02, "employees 12 (−)")
        predict(session, quiet_c, model, 0.6, "industry = Logistics (+)", "webinars attended 2 (+)")
        predict(session, middling, model, 0.05)
        predict(session, qualified_out, model, 0.9)
        predict(session, waiting, model, 0.8)
        predict(session, hot, model, 0.01)
        items = call_queue(session, ws.id, now)
    assert before[:2] == [hot.id, engaged_a.id]
    fallback = SETTINGS.queue.probability("B", 40)  # 0.1125: between the model's 0.6 and 0.05
    assert [item.contact_id for item in items] == [hot.id, quiet_c.id, unscored.id, middling.id, engaged_a.id]
    first = items[1]
    assert (first.probability, first.model_version) == (0.6, 4)
    assert first.expected_value == pytest.approx(3000)
    assert first.model_reasons == ("industry = Logistics (+)", "webinars attended 2 (+)")
    assert "P(sale) 60 %: industry = Logistics (+), webinars attended 2 (+)" in first.why_now
    assert first.why_now[-1].startswith("grade C")  # the fit still follows
    newcomer = items[2]
    assert newcomer.model_version is None and newcomer.probability == pytest.approx(fallback)
    assert not any(line.startswith("P(sale)") for line in newcomer.why_now)
    assert items[0].model_version == 4  # hot, and scored too


def test_only_the_active_models_scores_count_and_switching_back(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        engaged = make_lead(session, ws, grade="A", score=100, scored_at=now)
        quiet = make_lead(session, ws, grade="D")
        old = PredictiveModel(workspace_id=ws.id, version=1, source="workspace", status="ready", active=False)
        session.add(old)
        session.flush()
        predict(session, quiet, old, 0.9)  # left by an older model: ignored
        stale = [item.contact_id for item in call_queue(session, ws.id, now)]
        model = active_model(session, ws, version=2)
        predict(session, quiet, model, 0.9)
        ranked = [item.contact_id for item in call_queue(session, ws.id, now)]
    assert stale == [engaged.id, quiet.id]
    assert ranked == [quiet.id, engaged.id]
    deactivate(db, ws.id)
    with db.session() as session:
        items = call_queue(session, ws.id, now)
        row = session.get(Engagement, quiet.id)
        assert row is not None and row.predicted_p is None
    assert [item.contact_id for item in items] == [engaged.id, quiet.id]
    assert all(item.model_version is None for item in items)


def test_the_top_by_expected_value_is_read_beyond_each_grades_first_leads(
    db: Database, tenant: Tenant
) -> None:
    """With limit 2, the per-grade parts see only the two most engaged leads of each grade; the
    model's best lead is the least engaged of its grade and still comes first."""
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        model = active_model(session, ws)
        leads = [make_lead(session, ws, grade="B", score=90 - n, scored_at=now) for n in range(5)]
        for n, lead in enumerate(leads):
            predict(session, lead, model, 0.1 + 0.1 * n)
        items = call_queue(session, ws.id, now, limit=2)
    assert [item.contact_id for item in items] == [leads[4].id, leads[3].id]


def test_words() -> None:
    assert [percent_words(p) for p in (0.345, 0.034, 0.0004, 0.0996, 1.0)] == [
        "34 %", "3.4 %", "< 0.1 %", "10 %", "100 %",
    ]  # fmt: skip
    assert model_words(0.5, []) == "P(sale) 50 %"
    assert model_words(0.5, ["a (+)", "b (−)"]) == "P(sale) 50 %: a (+), b (−)"
