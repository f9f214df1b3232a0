"""The core data model. Every workspace-owned row carries ``workspace_id``; queries always filter on it.

Ids are integers inside; outside (URLs, API) they travel as signed opaque tokens (see ``leadwell.ids``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    Date,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from leadwell.db.types import BigId, Json, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("owner", "marketer", "sales")
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "nurture",
    "disqualified",
)
# Where the call queue stands with a contact (see Engagement.queue_state).
QUEUE_STATES = ("open", "parked", "closed")
CONSENT_STATES = ("unknown", "opted_in", "opted_out")
DEAL_STATUSES = ("open", "won", "lost")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class InstanceSetting(Base):
    """Installation-wide values that every process must agree on (the generated secret key)."""

    __tablename__ = "instance_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[User] = relationship(back_populates="memberships")
    workspace: Mapped[Workspace] = relationship()


class ApiToken(Base):
    """A bearer token. Only a SHA-256 of the secret is stored: tokens are 256 random bits, so a slow
    password hash would add latency to every request without adding safety."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "domain"),
        # Imports match organizations without a domain by name, whatever its case.
        Index("ix_organizations_workspace_lower_name", "workspace_id", func.lower(text("name"))),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253))
    employees: Mapped[int | None]
    # A size known only as a range ("100-250") keeps both ends; an exact size sets both to it.
    employees_min: Mapped[int | None]
    employees_max: Mapped[int | None]
    industry: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    custom: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Contact(Base):
    """A person. The primary email is denormalised onto the row for lists and search; every address,
    primary included, lives in ``contact_emails`` where a unique index keeps one person per address."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_workspace_created", "workspace_id", "created_at"),
        Index("ix_contacts_workspace_last_name", "workspace_id", "last_name"),
        Index("ix_contacts_workspace_stage", "workspace_id", "stage"),
        # Only people without an email address have one: the index stays small and cheap to update.
        Index(
            "ix_contacts_workspace_identity",
            "workspace_id",
            "identity_key",
            sqlite_where=text("identity_key IS NOT NULL"),
            postgresql_where=text("identity_key IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    phones: Mapped[list[str]] = mapped_column(Json, default=list)
    title: Mapped[str | None] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(120))
    consent: Mapped[str] = mapped_column(String(16), default="unknown")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(16), default="lead")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    custom: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    # For people without an email address: "phone:+1415…" or "name:ada|lovelace|<org id>", so that
    # importing the same list again finds them instead of creating them twice.
    identity_key: Mapped[str | None] = mapped_column(String(400))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization | None] = relationship()
    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.position"
    )


class Import(Base):
    """One run of a contacts file into a workspace. Rows are committed in chunks, and ``rows_done``
    moves in the same transaction as each chunk, so a crashed run resumes where it stopped."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_workspace_file", "workspace_id", "sha256"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(String(300))
    list_name: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    mapping: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    rows_done: Mapped[int] = mapped_column(default=0)
    # Moved with every chunk: a run whose heartbeat is recent is alive, and nobody else may take it over.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportIssue(Base):
    """A rejected or doubtful row of an import: where, which column, and why."""

    __tablename__ = "import_issues"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"), index=True)
    line: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))  # rejected | warning
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)


class ContactMerge(Base):
    """A merge of ``merged`` into ``survivor``, with what both looked like before, so it can be undone."""

    __tablename__ = "contact_merges"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    merged_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(Json)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DuplicateCandidate(Base):
    """Two contacts that are probably one person, found by fuzzy matching, awaiting a human."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        UniqueConstraint("workspace_id", "contact_a_id", "contact_b_id"),
        Index("ix_duplicate_candidates_open", "workspace_id", "status", "score"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_a_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    contact_b_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    score: Mapped[float]
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | merged | dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactEmail(Base):
    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(default=0)
    contact: Mapped[Contact] = relationship(back_populates="emails")


class Event(Base):
    """The append-only log every arrow of the lead flow writes to. Scores and reports derive from it."""

    __tablename__ = "events"
    __table_args__ = (
        # Timeline: one contact's events, newest first.
        Index("ix_events_timeline", "workspace_id", "contact_id", "occurred_at"),
        # Per-type aggregates over a period (downloads last month, replies per campaign, ...).
        Index("ix_events_type_time", "workspace_id", "type", "occurred_at"),
        UniqueConstraint("workspace_id", "idempotency_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    properties: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    source: Mapped[str | None] = mapped_column(String(120))
    campaign: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))


def _stage_changed_default(context: Any) -> datetime:
    given: datetime | None = context.get_current_parameters().get("updated_at")
    return given or utcnow()


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_workspace_status", "workspace_id", "status", "closed_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stage: Mapped[str] = mapped_column(String(40), default="new")
    status: Mapped[str] = mapped_column(String(8), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the deal entered its pipeline stage (the board shows its age in the stage); rows inserted
    # without it (bulk loads) take their ``updated_at``.
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=_stage_changed_default)


class IdempotentRequest(Base):
    """The stored answer to a create request sent with an ``Idempotency-Key`` header, so a client's
    retry after a timeout gets the same object back instead of a duplicate."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[Any] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Icp(Base):
    """An ideal client profile. Its definition lives in immutable versions; ``current_version`` is
    the one contacts are graded with."""

    __tablename__ = "icps"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IcpVersion(Base):
    """One version of a profile's definition (criteria, grade thresholds, avatar), never changed."""

    __tablename__ = "icp_versions"
    __table_args__ = (UniqueConstraint("icp_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    icp_id: Mapped[int] = mapped_column(ForeignKey("icps.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Fit(Base):
    """A contact's fit to a profile, as graded with ``version`` of it. ``reasons`` holds state and
    value per criterion of that version, flat (see leadwell.icp.reasons); ``unknown`` the fields whose
    criteria could not be decided. ``workspace_id`` is copied from the contact for the per-workspace
    indexes, without a foreign key: the contact's and the profile's cascades already remove the row,
    and a third check on every insert would cost a million trigger runs per full grading.
    ``graded_at`` is when the fit last changed: grading again with the same outcome writes nothing."""

    __tablename__ = "fits"
    __table_args__ = (
        Index("ix_fits_workspace_grade", "workspace_id", "icp_id", "grade"),
        Index("ix_fits_workspace_score", "workspace_id", "icp_id", "score"),
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    icp_id: Mapped[int] = mapped_column(ForeignKey("icps.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
    version: Mapped[int]
    score: Mapped[int]
    grade: Mapped[str] = mapped_column(CHAR(1))
    qualified_out: Mapped[bool]
    unknown: Mapped[list[str]] = mapped_column(Json, default=list)
    reasons: Mapped[list[str | None]] = mapped_column(Json, default=list)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoringVersion(Base):
    """One version of a workspace's qualification settings (engagement rules and decay, automatic
    stage moves, queue and pipeline settings), never changed; the highest version is in force."""

    __tablename__ = "scoring_versions"
    __table_args__ = (UniqueConstraint("workspace_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Engagement(Base):
    """A contact's engagement score and its place in the call queue, one row per contact.

    The score decays exponentially and is kept as ``score`` (S) at ``scored_at`` (t0): an event
    worth p points at t makes S ← S·e^(−λ(t−t0)) + p. ``rank_key`` = ln S + λ·t0 orders contacts by
    their current score whatever "now" is, so it is an indexed column. The best fit grade across the
    workspace's profiles is copied here with the queue state, so the queue is one index scan per
    grade rather than a join over a million fits. ``workspace_id`` carries no foreign key, as in
    ``fits``: the contact's cascade removes the row."""

    __tablename__ = "engagements"
    __table_args__ = (
        Index("ix_engagements_queue", "workspace_id", "queue_state", "grade", "rank_key"),
        Index("ix_engagements_due", "workspace_id", "queue_state", "due_at"),
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
    score: Mapped[float] = mapped_column(default=0.0)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rank_key: Mapped[float] = mapped_column(default=-1e12)
    # The scoring version the score was computed with.
    version: Mapped[int] = mapped_column(default=0)
    grade: Mapped[str | None] = mapped_column(CHAR(1))
    fit_score: Mapped[int | None]
    icp_id: Mapped[int | None] = mapped_column(BigId)
    queue_state: Mapped[str] = mapped_column(String(8), default="open")
    # Not to be called before this moment: a retry after no answer, or a nurture revisit date.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a parked (nurture) contact came back to the queue, in plain words, and when.
    resurfaced_why: Mapped[str | None] = mapped_column(Text)
    resurfaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The score when the contact was parked: new engagement is measured from here.
    parked_score: Mapped[float | None]
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EngagementCap(Base):
    """Points a capped rule has awarded one contact within one period (and one value of the rule's
    ``per`` property), so the next matching event knows what is left."""

    __tablename__ = "engagement_caps"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(240), primary_key=True)
    awarded: Mapped[float] = mapped_column(default=0.0)


class StageChange(Base):
    """One move of a contact between lifecycle stages: from, to, why, and by whom or which rule."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index("ix_stage_changes_contact", "contact_id", "changed_at"),
        Index("ix_stage_changes_funnel", "workspace_id", "to_stage", "changed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    why: Mapped[str] = mapped_column(Text, default="")
    # The automatic rule that made the move, or None for a person's (``changed_by_id``) or the system's.
    rule: Mapped[str | None] = mapped_column(String(64))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactList(Base):
    """A named list of contacts, such as the newsletter list nurture contacts belong to."""

    __tablename__ = "contact_lists"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListMember(Base):
    __tablename__ = "list_members"
    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
