"""Segments: saved contact filters that broadcasts go to and sequences enrol from.

A segment's ``filters`` hold what the contacts list filters by (``q``, ``stage``, ``source``,
``owner``, ``organization``) plus the best fit ``grade``, a contact ``list``, ``tags`` (any of),
``consent`` states and ``min_score`` (engagement as it stands now). Every filter narrows; an empty
segment is every live contact. :func:`segment_contact_ids` turns them into one SELECT of contact
ids that the database runs set-based (counts, INSERT … SELECT), never a loop over rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_text, split_lines
from leadwell.contacts.fields import clean_tags
from leadwell.contacts.service import ContactFilters, filtered_contacts
from leadwell.db.models import (
    CONSENT_STATES,
    LIFECYCLE_STAGES,
    Broadcast,
    Contact,
    ContactList,
    Engagement,
    ListMember,
    Membership,
    Organization,
    Segment,
    User,
)
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.outreach.slugs import checked_slug
from leadwell.scoring.decay import days
from leadwell.scoring.store import current_settings

GRADES = ("A", "B", "C", "D", "E", "F")
FILTER_KEYS = (
    "q",
    "stage",
    "source",
    "owner",
    "organization",
    "grade",
    "list",
    "tags",
    "consent",
    "min_score",
)
LIST_FILTERS = ("stage", "grade", "tags", "consent")
MAX_TAGS = 20
MAX_SCORE = 1_000_000.0


@dataclass
class SegmentInput:
    """A segment as an editor or the command line gives it: texts, and raw filter values."""

    name: str
    slug: str = ""
    filters: Mapping[str, Any] | None = None


def _values(raw: Any) -> list[str]:
    """A filter value given as a list, or as text separated by commas or lines."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [str(item).strip() for item in raw if str(item).strip()]
    return split_lines(str(raw))


def _choices(key: str, raw: Any, allowed: tuple[str, ...], fold: bool = False) -> list[str]:
    given = [value.upper() if fold else value.lower() for value in _values(raw)]
    for value in given:
        if value not in allowed:
            raise InvalidInput(f"{key}: {value[:40]!r} is not one of {', '.join(allowed)}", field=key)
    return [value for value in allowed if value in given]


def _member(session: Session, workspace_id: int, email: str) -> int | None:
    return session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, func.lower(User.email) == email.lower())
    )


def _organization_ids(workspace_id: int, text: str) -> Select[int]:
    """Organizations at this domain or with this name, whatever its case."""
    folded = text.strip().lower()
    return select(Organization.id).where(
        Organization.workspace_id == workspace_id,
        or_(Organization.domain == folded, func.lower(Organization.name) == folded),
    )


def _min_score(raw: Any) -> float:
    try:
        number = float(str(raw).strip())
    except ValueError:
        raise InvalidInput(f"min_score: {str(raw)[:20]!r} is not a number", field="min_score") from None
    if not 0 < number <= MAX_SCORE or math.isnan(number):
        raise InvalidInput(f"min_score: above 0 and at most {MAX_SCORE:,.0f}", field="min_score")
    return number


def _check_references(session: Session, workspace_id: int, clean: dict[str, Any]) -> None:
    """Owner, organization and list filters must name something in this workspace."""
    if "owner" in clean and _member(session, workspace_id, clean["owner"]) is None:
        raise InvalidInput(f"owner: {clean['owner'][:80]!r} is not a member of this workspace", field="owner")
    if "organization" in clean:
        found = session.scalar(_organization_ids(workspace_id, clean["organization"]).limit(1))
        if found is None:
            raise InvalidInput(
                f"organization: no organization named or at {clean['organization'][:80]!r}",
                field="organization",
            )
    if "list" in clean:
        listed = session.scalar(
            select(ContactList.id).where(
                ContactList.workspace_id == workspace_id, ContactList.slug == clean["list"]
            )
        )
        if listed is None:
            raise InvalidInput(f"list: no list {clean['list'][:64]!r} in this workspace", field="list")


def check_filters(session: Session, workspace_id: int, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filters cleaned for storing (empty ones left out); :class:`InvalidInput` names the
    filter at fault: an unknown key, a value out of its list, or a reference to nothing."""
    raw = raw or {}
    for key in raw:
        if key not in FILTER_KEYS:
            raise InvalidInput(f"{key[:40]}: unknown filter (known: {', '.join(FILTER_KEYS)})", field=key)
    clean: dict[str, Any] = {}
    for key in ("q", "source", "owner", "organization", "list"):
        text = clean_text(str(raw.get(key) or ""), key, 200)
        if text:
            clean[key] = text.lower() if key in ("owner", "list") else text
    clean["stage"] = _choices("stage", raw.get("stage"), LIFECYCLE_STAGES)
    clean["grade"] = _choices("grade", raw.get("grade"), GRADES, fold=True)
    clean["consent"] = _choices("consent", raw.get("consent"), CONSENT_STATES)
    clean["tags"] = clean_tags(_values(raw.get("tags")), "tags")
    if len(clean["tags"]) > MAX_TAGS:
        raise InvalidInput(f"tags: at most {MAX_TAGS} tags", field="tags")
    if str(raw.get("min_score") or "").strip():
        clean["min_score"] = _min_score(raw["min_score"])
    clean = {key: value for key, value in clean.items() if value not in ([], "", None)}
    _check_references(session, workspace_id, clean)
    return {key: clean[key] for key in FILTER_KEYS if key in clean}


def _tagged(session: Session, tags: list[str]) -> Any:
    """Contacts with any of ``tags``, compared without regard to (ASCII) case."""
    folded = [tag.lower() for tag in tags]
    if session.get_bind().dialect.name == "postgresql":
        # ?| tests the list's strings; the list's JSON text folded to lower case is still JSON.
        return cast(func.lower(cast(Contact.tags, Text)), JSONB).op("?|")(array(folded))
    rows = func.json_each(Contact.tags).table_valued("value", name="tag")
    return exists(select(literal(1)).select_from(rows).where(func.lower(rows.c.value).in_(folded)))


def filters_clause(
    session: Session, workspace_id: int, filters: Mapping[str, Any], now: datetime | None = None
) -> Select[int]:
    """The ids of the live contacts these (cleaned) filters keep."""
    base = ContactFilters(q=filters.get("q"), source=filters.get("source"))
    query = filtered_contacts(workspace_id, base).with_only_columns(Contact.id)
    if filters.get("stage"):
        query = query.where(Contact.stage.in_(filters["stage"]))
    if filters.get("consent"):
        query = query.where(Contact.consent.in_(filters["consent"]))
    if filters.get("owner"):
        owners = select(User.id).join(Membership, Membership.user_id == User.id)
        owners = owners.where(
            Membership.workspace_id == workspace_id, func.lower(User.email) == filters["owner"]
        )
        query = query.where(Contact.owner_id.in_(owners))
    if filters.get("organization"):
        query = query.where(
            Contact.organization_id.in_(_organization_ids(workspace_id, filters["organization"]))
        )
    if filters.get("list"):
        members = select(ListMember.contact_id).join(ContactList, ContactList.id == ListMember.list_id)
        members = members.where(ContactList.workspace_id == workspace_id, ContactList.slug == filters["list"])
        query = query.where(Contact.id.in_(members))
    if filters.get("tags"):
        query = query.where(_tagged(session, filters["tags"]))
    return _engagement_filters(session, workspace_id, query, filters, now or utcnow())


def _engagement_filters(
    session: Session, workspace_id: int, query: Select[int], filters: Mapping[str, Any], now: datetime
) -> Select[int]:
    """Best fit grade and current engagement, both read from the engagement rows' indexed copies."""
    rows = select(Engagement.contact_id).where(Engagement.workspace_id == workspace_id)
    if filters.get("grade"):
        query = query.where(Contact.id.in_(rows.where(Engagement.grade.in_(filters["grade"]))))
    if filters.get("min_score"):
        # score now ≥ m  ⇔  S·e^(−λ(now−t0)) ≥ m  ⇔  ln S + λ·t0 ≥ ln m + λ·now: the indexed rank key.
        rate = current_settings(session, workspace_id)[1].decay_rate
        floor = math.log(float(filters["min_score"])) + rate * days(now)
        query = query.where(Contact.id.in_(rows.where(Engagement.rank_key >= floor)))
    return query


def segment_contact_ids(
    session: Session, workspace_id: int, segment: Segment, now: datetime | None = None
) -> Select[int]:
    """The ids of the segment's contacts, as one set-based SELECT (run it, count it or insert from it)."""
    return filters_clause(session, workspace_id, segment.filters or {}, now)


def count_ids(session: Session, ids: Select[int]) -> int:
    """How many rows a SELECT of ids gives."""
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def count_segment(session: Session, workspace_id: int, segment: Segment) -> int:
    """How many contacts are in the segment now."""
    return count_ids(session, segment_contact_ids(session, workspace_id, segment))


def get_segment(session: Session, workspace_id: int, slug: str) -> Segment:
    """The workspace's segment with ``slug``, else :class:`NotFound`."""
    found = session.scalar(select(Segment).where(Segment.workspace_id == workspace_id, Segment.slug == slug))
    if found is None:
        raise NotFound(f"segment: no segment {slug[:64]!r} in this workspace", field="segment")
    return found


def list_segments(session: Session, workspace_id: int) -> list[Segment]:
    """The workspace's segments by name."""
    query = select(Segment).where(Segment.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(func.lower(Segment.name), Segment.id)))


def create_segment(session: Session, workspace_id: int, data: SegmentInput) -> Segment:
    """A new segment; the slug defaults to one made from the name."""
    name = clean_text(data.name, "name", 200, required=True)
    slug = checked_slug(data.slug, name)
    taken = select(Segment.id).where(Segment.workspace_id == workspace_id, Segment.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict(f"slug: {slug!r} is already taken; choose another", field="slug")
    segment = Segment(
        workspace_id=workspace_id,
        slug=slug,
        name=name,
        filters=check_filters(session, workspace_id, data.filters),
    )
    session.add(segment)
    session.flush()
    return segment


def update_segment(session: Session, workspace_id: int, slug: str, data: SegmentInput) -> Segment:
    """Change a segment's name and filters (its slug stays)."""
    segment = get_segment(session, workspace_id, slug)
    segment.name = clean_text(data.name, "name", 200, required=True)
    segment.filters = check_filters(session, workspace_id, data.filters)
    session.flush()
    return segment


def delete_segment(session: Session, workspace_id: int, slug: str) -> None:
    """Delete a segment unless a broadcast that has not gone out yet is to go to it."""
    segment = get_segment(session, workspace_id, slug)
    pending = select(Broadcast.id).where(
        Broadcast.segment_id == segment.id, Broadcast.status.in_(("draft", "scheduled", "sending"))
    )
    if session.scalar(pending.limit(1)) is not None:
        raise Conflict(
            "segment: a broadcast not yet sent goes to this segment; cancel it first", field="segment"
        )
    session.execute(delete(Segment).where(Segment.id == segment.id))


def describe(filters: Mapping[str, Any]) -> list[str]:
    """The filters in plain words, one per filter: "stage: lead or mql", "tags: vip"."""
    words = []
    for key in FILTER_KEYS:
        value = filters.get(key)
        if value in (None, "", []):
            continue
        if key in LIST_FILTERS:
            words.append(f"{key}: {' or '.join(str(item) for item in value)}")
        elif key == "min_score":
            words.append(f"engagement ≥ {value:g}")
        else:
            words.append(f"{key}: {value}")
    return words
