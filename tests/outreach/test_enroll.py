"""Enrolling contacts: one by one, from a segment and from a form; who is left out and why; the
events written; finished contacts enrolled again only when asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    Contact,
    Engagement,
    Enrollment,
    Event,
    Form,
    Mailbox,
    OutboxMessage,
    Segment,
    Sequence,
    Suppression,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.outreach.enroll import enroll, enroll_from_form, enroll_segment
from leadwell.scoring.settings import from_document
from leadwell.scoring.store import apply_settings
from tests import factories
from tests.capture.public_support import make_asset, make_form, make_page
from tests.capture.test_submission import PERSON, open_page, submit
from tests.outreach.sequence_support import make_mailbox, make_sequence, make_template

NOW = utcnow()


def _setup(session: Session) -> tuple[Workspace, Sequence, Mailbox]:
    ws = factories.make_workspace(session)
    mailbox = make_mailbox(session, ws)
    sequence = make_sequence(
        session, ws, [("email", make_template(session, ws)), ("wait", 2)], mailbox=mailbox
    )
    return ws, sequence, mailbox


def _enrollments(session: Session, sequence: Sequence) -> dict[int, Enrollment]:
    rows = session.scalars(select(Enrollment).where(Enrollment.sequence_id == sequence.id))
    return {row.contact_id: row for row in rows}


def test_enrolling_skips_who_must_not_be_mailed_and_says_why(db: Database) -> None:
    with db.session() as session:
        ws, sequence, _ = _setup(session)
        ok = factories.make_contact(session, ws)
        merged = factories.make_contact(session, ws, merged_into_id=ok.id)
        opted_out = factories.make_contact(session, ws, consent="opted_out")
        no_email = factories.make_contact(session, ws, email=None)
        suppressed = factories.make_contact(session, ws, email="Gone@Bounce.example")
        session.add(Suppression(workspace_id=ws.id, email="gone@bounce.example", reason="hard_bounce"))
        foreign = factories.make_contact(session, factories.make_workspace(session))
        ids = [ok.id, merged.id, opted_out.id, no_email.id, suppressed.id, foreign.id, 999_999]

        result = enroll(session, ws.id, sequence.id, ids, source="manual", by_user_id=None, now=NOW)
        assert (result.created, result.restarted) == (1, 0)
        assert result.skipped == {
            "already": 0, "merged": 1, "opted_out": 1, "no_email": 1, "suppressed": 1, "not_found": 2,
        }  # fmt: skip
        assert result.words() == (
            "1 enrolled; skipped: 1 merged into another contact, 1 opted out, 1 no email address, "
            "1 suppressed address, 2 not in this workspace"
        )
        row = _enrollments(session, sequence)[ok.id]
        assert result.enrollment_ids == (row.id,)
        assert (row.status, row.position, row.next_at, row.source, row.enrolled_at) == (
            "active",
            0,
            NOW,
            "manual",
            NOW,
        )
        event = session.scalars(select(Event).where(Event.type == "sequence_enrolled")).one()
        assert (event.contact_id, event.properties) == (ok.id, {"sequence": "welcome", "source": "manual"})

        again = enroll(session, ws.id, sequence.id, [ok.id], source="manual", by_user_id=None, now=NOW)
        assert (again.created, again.skipped["already"]) == (0, 1)
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_sequence_without_email_steps_takes_contacts_without_an_address(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        calls = make_sequence(session, ws, [("task", "Call them")], slug="calls")
        phone_only = factories.make_contact(session, ws, email=None, phones=["+14155550100"])
        result = enroll(session, ws.id, calls.id, [phone_only.id], source="manual", by_user_id=None, now=NOW)
        assert result.created == 1


def test_a_segment_is_enrolled_in_one_go_with_its_source(db: Database) -> None:
    with db.session() as session:
        ws, sequence, _ = _setup(session)
        leads = [factories.make_contact(session, ws, stage="lead") for _ in range(30)]
        factories.make_contact(session, ws, stage="customer")
        opted_out = factories.make_contact(session, ws, stage="lead", consent="opted_out")
        enroll(session, ws.id, sequence.id, [leads[0].id], source="manual", by_user_id=None, now=NOW)
        segment = Segment(workspace_id=ws.id, slug="leads", name="Leads", filters={"stage": ["lead"]})
        session.add(segment)
        session.flush()

        later = NOW + timedelta(minutes=1)
        result = enroll_segment(session, ws.id, sequence.id, segment, by_user_id=None, now=later)
        assert result.created == 29 and result.skipped["already"] == 1 and result.skipped["opted_out"] == 1
        assert "not_found" not in result.skipped
        rows = _enrollments(session, sequence)
        assert set(rows) == {lead.id for lead in leads} and opted_out.id not in rows
        sources = session.scalars(select(Event.properties).where(Event.type == "sequence_enrolled")).all()
        assert sorted(item["source"] for item in sources) == ["manual"] + ["segment:leads"] * 29


def test_finished_contacts_start_again_only_when_asked(db: Database) -> None:
    with db.session() as session:
        ws, sequence, mailbox = _setup(session)
        done, stopped = factories.make_contact(session, ws), factories.make_contact(session, ws)
        enroll(session, ws.id, sequence.id, [done.id, stopped.id], source="manual", by_user_id=None, now=NOW)
        rows = _enrollments(session, sequence)
        rows[done.id].status, rows[done.id].position, rows[done.id].finished_at = "completed", 2, NOW
        rows[stopped.id].status, rows[stopped.id].stop_reason = "stopped", "manual"
        sent = OutboxMessage(
            workspace_id=ws.id, contact_id=done.id, mailbox_id=mailbox.id, enrollment_id=rows[done.id].id,
            step_position=0, idempotency_key=f"step:{rows[done.id].id}:0", message_id="m1@acme.example",
            to_email=done.email or "", recipient_domain="example.com", subject="Hello", state="sent",
        )  # fmt: skip
        session.add(sent)
        session.flush()

        later = NOW + timedelta(days=30)
        ids = [done.id, stopped.id]
        plain = enroll(session, ws.id, sequence.id, ids, source="manual", by_user_id=None, now=later)
        assert (plain.enrolled, plain.skipped["already"]) == (0, 2)
        asked = enroll(
            session, ws.id, sequence.id, ids, source="manual", by_user_id=None, now=later, again=True
        )
        assert (asked.created, asked.restarted) == (0, 2) and asked.words() == "2 enrolled (2 again)"
        session.expire_all()
        for row in _enrollments(session, sequence).values():
            assert (row.status, row.position, row.next_at, row.stop_reason, row.finished_at) == (
                "active", 0, later, None, None,
            )  # fmt: skip
        # The earlier round's message keeps its record; its key no longer holds the first step's.
        assert sent.idempotency_key == f"step:{rows[done.id].id}:0~{sent.id}"
        assert session.scalar(select(func.count()).where(Event.type == "sequence_enrolled")) == 4


def test_an_archived_sequence_takes_nobody(db: Database) -> None:
    with db.session() as session:
        ws, sequence, _ = _setup(session)
        sequence.status = "archived"
        contact = factories.make_contact(session, ws)
        with pytest.raises(InvalidInput, match="archived"):
            enroll(session, ws.id, sequence.id, [contact.id], source="manual", by_user_id=None, now=NOW)
        other_ws = factories.make_workspace(session)
        with pytest.raises(InvalidInput, match="no such sequence"):
            enroll(session, other_ws.id, sequence.id, [contact.id], source="manual", by_user_id=None, now=NOW)


def test_a_form_enrols_in_the_active_sequences_it_or_its_magnet_triggers(db: Database) -> None:
    with db.session() as session:
        ws, by_form, mailbox = _setup(session)
        asset = Asset(workspace_id=ws.id, slug="roi-paper", kind="pdf", title="ROI")
        session.add(asset)
        session.flush()
        form = Form(workspace_id=ws.id, slug="roi-download", name="ROI", fields=[], asset_id=asset.id)
        other = Form(workspace_id=ws.id, slug="contact-us", name="Contact", fields=[])
        session.add_all([form, other])
        session.flush()
        by_form.trigger_form_id = form.id
        template = make_template(session, ws, slug="paper")
        by_magnet = make_sequence(session, ws, [("email", template)], slug="paper-follow-up", mailbox=mailbox)
        by_magnet.trigger_asset_id = asset.id
        paused = make_sequence(session, ws, [("email", template)], slug="paused", status="paused")
        paused.trigger_form_id = form.id
        contact = factories.make_contact(session, ws)

        created = enroll_from_form(session, ws.id, form.id, asset.id, contact.id, NOW)
        assert len(created) == 2
        enrolled = session.scalars(select(Enrollment).where(Enrollment.contact_id == contact.id)).all()
        assert {(e.sequence_id, e.source) for e in enrolled} == {
            (by_form.id, "form:roi-download"), (by_magnet.id, "form:roi-download"),
        }  # fmt: skip
        assert enroll_from_form(session, ws.id, other.id, None, contact.id, NOW) == []
        for row in enrolled:
            row.status = "completed"
        assert enroll_from_form(session, ws.id, form.id, asset.id, contact.id, NOW + timedelta(days=9)) == []


def test_enrolment_events_are_scored_when_a_rule_scores_them(db: Database) -> None:
    with db.session() as session:
        ws, sequence, _ = _setup(session)
        rules = {"rules": [{"key": "nurtured", "event": "sequence_enrolled", "points": 5}]}
        apply_settings(session, ws.id, from_document(rules))
        contact = factories.make_contact(session, ws)
        enroll(session, ws.id, sequence.id, [contact.id], source="manual", by_user_id=None, now=NOW)
        engagement = session.get(Engagement, contact.id)
        assert engagement is not None and engagement.score == 5.0
        assert session.get(Contact, contact.id) is not None


def test_sending_a_landing_pages_form_enrols_the_prospect_once(client: TestClient, db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session, "Acme")
        asset = make_asset(session, ws, "pdf", pages=12)
        form = make_form(session, ws, asset_id=asset.id)
        landing_page = make_page(session, ws, form)
        template = make_template(session, ws)
        follow_up = make_sequence(session, ws, [("email", template)], slug="guide-follow-up")
        follow_up.trigger_asset_id = asset.id
        follow_up_id = follow_up.id
    for _ in range(2):  # the second submission of the same person enrols nobody again
        response = submit(client, open_page(client, landing_page), PERSON)
        assert response.status_code == 200, response.text
    with db.session() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        contact = session.get_one(Contact, enrollment.contact_id)
        assert (enrollment.sequence_id, contact.email) == (follow_up_id, PERSON["email"].lower())
        assert enrollment.source == f"form:{form.slug}"
