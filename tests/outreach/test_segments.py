"""Segments: each filter narrows the contacts in SQL, every refusal names the filter at fault."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadwell.db.models import Broadcast, Contact, ContactList, Engagement, ListMember, Segment, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput
from leadwell.outreach.segments import (
    SegmentInput,
    check_filters,
    count_segment,
    create_segment,
    delete_segment,
    describe,
    segment_contact_ids,
    update_segment,
)
from leadwell.scoring.decay import decay_rate, rank_key
from tests import factories
from tests.outreach.sequence_support import make_template

NOW = utcnow()


def _engaged(session: Session, contact: Contact, grade: str | None, score: float, days_ago: float) -> None:
    scored_at = NOW - timedelta(days=days_ago)
    session.add(
        Engagement(
            contact_id=contact.id,
            workspace_id=contact.workspace_id,
            grade=grade,
            score=score,
            scored_at=scored_at,
            rank_key=rank_key(score, scored_at, decay_rate(30)),
        )
    )
    session.flush()


def _ids(session: Session, workspace: Workspace, filters: dict[str, object]) -> set[int]:
    segment = Segment(
        workspace_id=workspace.id, slug="s", name="S", filters=check_filters(session, workspace.id, filters)
    )
    return set(session.scalars(segment_contact_ids(session, workspace.id, segment, NOW)))


def test_each_filter_narrows_to_the_matching_live_contacts(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        owner = factories.make_user(session, ws, email="Owner@Acme.example")
        org = factories.make_organization(session, ws, name="Engines Ltd", domain="engines.example")
        ada = factories.make_contact(session, ws, first_name="Ada", stage="lead", source="webinar",
                                     tags=["VIP", "cfo"], consent="opted_in", owner_id=owner.id,
                                     organization_id=org.id)  # fmt: skip
        grace = factories.make_contact(session, ws, first_name="Grace", email="grace@navy.example",
                                       stage="nurture", source="import", tags=["newsletter"],
                                       consent="unknown")  # fmt: skip
        alan = factories.make_contact(
            session, ws, first_name="Alan", email="alan@bletchley.example", stage="mql", consent="opted_out"
        )
        merged = factories.make_contact(session, ws, first_name="Ada", stage="lead", merged_into_id=ada.id)
        stranger = factories.make_contact(session, factories.make_workspace(session), first_name="Ada")
        _engaged(session, ada, "A", 60.0, 0)
        _engaged(session, grace, "C", 60.0, 60)  # two half-lives ago: 15 now
        newsletter = ContactList(workspace_id=ws.id, slug="newsletter", name="Newsletter")
        session.add(newsletter)
        session.flush()
        session.add(ListMember(list_id=newsletter.id, contact_id=grace.id))
        session.flush()

        everyone = {ada.id, grace.id, alan.id}
        assert _ids(session, ws, {}) == everyone  # merged and other workspaces' contacts never
        assert not {merged.id, stranger.id} & _ids(session, ws, {"q": "ada"})
        assert _ids(session, ws, {"q": "GRACE"}) == {grace.id}
        assert _ids(session, ws, {"q": "engines"}) == {ada.id}
        assert _ids(session, ws, {"stage": ["lead", "nurture"]}) == {ada.id, grace.id}
        assert _ids(session, ws, {"stage": "MQL"}) == {alan.id}
        assert _ids(session, ws, {"source": "webinar"}) == {ada.id}
        assert _ids(session, ws, {"owner": "owner@acme.example"}) == {ada.id}
        assert _ids(session, ws, {"organization": "ENGINES LTD"}) == {ada.id}
        assert _ids(session, ws, {"organization": "engines.example"}) == {ada.id}
        assert _ids(session, ws, {"grade": "a,c"}) == {ada.id, grace.id}
        assert _ids(session, ws, {"grade": ["C"]}) == {grace.id}
        assert _ids(session, ws, {"list": "newsletter"}) == {grace.id}
        assert _ids(session, ws, {"tags": "vip"}) == {ada.id}
        assert _ids(session, ws, {"tags": ["nope", "Newsletter"]}) == {grace.id}
        assert _ids(session, ws, {"consent": ["opted_in", "unknown"]}) == {ada.id, grace.id}
        assert _ids(session, ws, {"min_score": "20"}) == {ada.id}  # grace's 60 has decayed to 15
        assert _ids(session, ws, {"min_score": 14.9}) == {ada.id, grace.id}
        assert _ids(session, ws, {"stage": "lead", "tags": "newsletter"}) == set()


BAD_FILTERS: list[tuple[dict[str, Any], str, str]] = [
    ({"colour": "red"}, "colour", "unknown filter"),
    ({"grade": "A,G"}, "grade", "'G' is not one of A, B, C, D, E, F"),
    ({"stage": "hot"}, "stage", "'hot' is not one of"),
    ({"consent": "maybe"}, "consent", "'maybe' is not one of"),
    ({"list": "nowhere"}, "list", "no list 'nowhere'"),
    ({"owner": "nobody@acme.example"}, "owner", "not a member"),
    ({"organization": "Nobody Inc"}, "organization", "no organization"),
    ({"min_score": "lots"}, "min_score", "not a number"),
    ({"min_score": "-3"}, "min_score", "above 0"),
    ({"tags": ["x" * 61]}, "tags[0]", "1 to 60 characters"),
    ({"q": "x" * 201}, "q", "at most 200"),
]


def test_a_bad_filter_is_refused_by_name(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        for filters, field, words in BAD_FILTERS:
            with pytest.raises(InvalidInput) as refused:
                check_filters(session, ws.id, filters)
            assert (refused.value.field, words in refused.value.detail) == (field, True), filters


def test_segments_are_saved_counted_described_and_deleted(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        for stage in ("lead", "lead", "nurture"):
            factories.make_contact(session, ws, stage=stage)
        segment = create_segment(
            session, ws.id, SegmentInput("Warm leads", filters={"stage": "lead", "grade": ""})
        )
        assert (segment.slug, segment.filters) == ("warm-leads", {"stage": ["lead"]})
        assert count_segment(session, ws.id, segment) == 2
        with pytest.raises(Conflict):
            create_segment(session, ws.id, SegmentInput("Warm leads"))
        update_segment(
            session,
            ws.id,
            "warm-leads",
            SegmentInput("Warm", filters={"stage": "lead,nurture", "min_score": "5"}),
        )
        assert describe(segment.filters) == ["stage: lead or nurture", "engagement ≥ 5"]
        template = make_template(session, ws)
        session.add(
            Broadcast(
                workspace_id=ws.id,
                name="News",
                template_id=template.id,
                segment_id=segment.id,
                status="scheduled",
            )
        )
        session.flush()
        with pytest.raises(Conflict, match="cancel it first"):
            delete_segment(session, ws.id, "warm-leads")
        session.execute(update(Broadcast).values(status="cancelled"))
        delete_segment(session, ws.id, "warm-leads")
        assert session.scalar(select(Segment.id)) is None
