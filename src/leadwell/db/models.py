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
    LargeBinary,
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
# Lead magnets: documents read in the hosted reader, videos watched in the hosted player, and
# events with a date whose attendance is imported.
ASSET_KINDS = ("pdf", "epub", "video", "webinar", "seminar")
# What the tracking endpoints store: an email open, a click, reading and watching progress, and a
# page view reported by the tracking script.
HIT_KINDS = ("open", "click", "read", "video", "view")
SMTP_SECURITY = ("starttls", "tls", "none")
SEQUENCE_STATUSES = ("draft", "active", "paused", "archived")
STEP_KINDS = ("email", "wait", "task")
ENROLLMENT_STATUSES = ("active", "completed", "stopped")
# Why a contact left a sequence before its end.
STOP_REASONS = ("replied", "meeting_booked", "unsubscribed", "bounced", "manual", "suppressed", "merged")
BROADCAST_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
# queued → claimed → releasing → sent; failed after the last retry; suppressed or cancelled before
# sending. "releasing" is written just before the end of the message goes to the SMTP server.
MESSAGE_STATES = ("queued", "claimed", "releasing", "sent", "failed", "suppressed", "cancelled")
SUPPRESSION_REASONS = ("unsubscribed", "hard_bounce", "complaint", "manual")
MODEL_SOURCES = ("workspace", "csv")
# ready: usable; too_few: not enough outcomes to learn from (the queue keeps fit × engagement).
MODEL_STATUSES = ("ready", "too_few", "failed")
INBOUND_KINDS = ("reply", "auto_reply", "bounce", "complaint", "unmatched")


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
    # The currency reports add money up in (spend and revenue); amounts in another one are shown
    # apart, never silently converted.
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
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
    """One of a contact's addresses; an address belongs to one contact per workspace.
    ``workspace_id`` is copied from the contact for that unique index, without a foreign key, as in
    ``fits``: the contact's cascade removes the row."""

    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
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
        # Per-type aggregates over a period (downloads last month, replies per campaign, ...); the
        # contact too, so counting distinct people or keeping a report's leads reads the index alone.
        Index("ix_events_type_time", "workspace_id", "type", "occurred_at", "contact_id"),
        UniqueConstraint("workspace_id", "idempotency_key"),
        Index(
            "ix_events_visitor",
            "visitor_id",
            sqlite_where=text("visitor_id IS NOT NULL"),
            postgresql_where=text("visitor_id IS NOT NULL"),
        ),
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
    # An anonymous visitor's page views carry the visitor and no contact until a form identifies
    # them; then they move to the contact, which makes one history of before and after. No foreign
    # key: visitors go only with their workspace, which takes its events along, and adding one would
    # make SQLite copy the whole log.
    visitor_id: Mapped[int | None] = mapped_column(BigId)


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
    indexes. No column carries a foreign key: a full grading writes a million rows, and the checks
    were a large share of that write on PostgreSQL. Profiles are never deleted; erasing a contact
    deletes its fits (:func:`leadwell.contacts.service.delete_contact`).
    ``graded_at`` is when the fit last changed: grading again with the same outcome writes nothing."""

    __tablename__ = "fits"
    __table_args__ = (
        Index("ix_fits_workspace_grade", "workspace_id", "icp_id", "grade"),
        Index("ix_fits_workspace_score", "workspace_id", "icp_id", "score"),
    )
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    icp_id: Mapped[int] = mapped_column(BigId, primary_key=True)
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
        # Partial: most rows have neither a revisit date nor a reply, and a row's every update
        # that moves it in another index (a grade, a rank key) would write an entry here too.
        Index(
            "ix_engagements_due",
            "workspace_id",
            "queue_state",
            "due_at",
            sqlite_where=text("due_at IS NOT NULL"),
            postgresql_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_engagements_hot",
            "workspace_id",
            "hot_at",
            sqlite_where=text("hot_at IS NOT NULL"),
            postgresql_where=text("hot_at IS NOT NULL"),
        ),
        Index("ix_engagements_predicted", "workspace_id", "queue_state", "predicted_value"),
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
    # When the contact reached out (replied to an email): the queue puts them first, with
    # ``hot_why``, until the next call is logged (which clears both).
    hot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hot_why: Mapped[str | None] = mapped_column(Text)
    # The active predictive model's view (leadwell.predict): P(sale), expected value (P × expected
    # deal value, the queue's order when a model is active), the top reasons in plain words, and
    # which model version said so when.
    predicted_p: Mapped[float | None]
    predicted_value: Mapped[float | None]
    predicted_reasons: Mapped[list[str] | None] = mapped_column(Json)
    predicted_model_id: Mapped[int | None] = mapped_column(BigId)
    predicted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EngagementCap(Base):
    """Points a capped rule has awarded one contact within one period (and one value of the rule's
    ``per`` property), so the next matching event knows what is left.

    ``contact_id`` carries no foreign key: a full recompute writes millions of these rows again, and
    the check on each was a third of that write on PostgreSQL. Erasing a contact deletes its rows
    (:func:`leadwell.contacts.service.delete_contact`)."""

    __tablename__ = "engagement_caps"
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)
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


class Asset(Base):
    """A lead magnet: a white paper or book (PDF/EPUB, its file in ``asset_files``), a video, or a
    webinar or seminar with its date. Prospects get it through a form (``Form.asset_id``)."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Documents: the uploaded file's name, type, size, digest and page count.
    file_name: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[int | None]
    # Videos: where the file plays from (an uploaded file is served from ``asset_files``).
    video_url: Mapped[str | None] = mapped_column(String(2000))
    duration_seconds: Mapped[int | None]
    # Webinars and seminars.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(300))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AssetFile(Base):
    """An asset's bytes, in the database so that every web process serves the same file."""

    __tablename__ = "asset_files"
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Form(Base):
    """A form on a hosted landing page or embedded on the user's site. ``fields`` is a list of
    ``{"key", "label", "type", "maps_to", "required", "options"}``; ``maps_to`` names a contact field
    (``email``, ``first_name``, ``organization``…) or ``custom.<key>``. The slug is public and unique
    across the installation because embed URLs (``/f/{slug}``) carry no workspace."""

    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # The exact words the prospect agrees to; None means the form asks for no consent.
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_required: Mapped[bool] = mapped_column(default=False)
    # The lead magnet the form delivers, if any.
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    # Origins (scheme://host[:port]) allowed to embed and post the form.
    allowed_origins: Mapped[list[str]] = mapped_column(Json, default=list)
    submit_label: Mapped[str] = mapped_column(String(80), default="Send")
    thank_you: Mapped[str] = mapped_column(Text, default="")
    # Bots fill forms faster than people: a submission quicker than this is refused.
    min_fill_seconds: Mapped[int] = mapped_column(default=3)
    # Submissions accepted per client address per hour, and for the whole form per minute.
    per_ip_per_hour: Mapped[int] = mapped_column(default=20)
    per_form_per_minute: Mapped[int] = mapped_column(default=120)
    # The contact ``source`` given to people this form creates (default: "form:<slug>").
    source: Mapped[str | None] = mapped_column(String(120))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LandingPage(Base):
    """A hosted page at ``/p/{slug}``: a title, a markdown body, an image and a form."""

    __tablename__ = "landing_pages"
    __table_args__ = (UniqueConstraint("slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    image_type: Mapped[str | None] = mapped_column(String(100))
    image_alt: Mapped[str] = mapped_column(String(300), default="")
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="SET NULL"))
    published: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Visitor(Base):
    """A browser seen by the tracking script or a hosted page, known by the random key its cookie
    holds; ``contact_id`` is set once a form identifies the person behind it."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FormSubmission(Base):
    """One accepted submission: what was sent, from where (page, referrer, UTM) and by whom."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "nonce"),
        Index("ix_form_submissions_form", "form_id", "submitted_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id", ondelete="SET NULL"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id", ondelete="SET NULL"))
    # The form's render nonce: posting the same rendered form twice stores one submission.
    nonce: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    utm: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    referrer: Mapped[str | None] = mapped_column(String(2000))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """A consent given or withdrawn: the exact words shown, when, from which address and form."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # opted_in | opted_out
    text: Mapped[str] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="SET NULL"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("form_submissions.id", ondelete="SET NULL"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingSite(Base):
    """A site of the user's that runs the tracking script: its public key and its domains, across
    which one visitor is followed (links between them carry the visitor along)."""

    __tablename__ = "tracking_sites"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    domains: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reading(Base):
    """How far one contact got through one asset: pages seen and active time for documents, the
    furthest point for videos. Beacons repeat the whole state, so replaying one changes nothing."""

    __tablename__ = "readings"
    __table_args__ = (UniqueConstraint("contact_id", "asset_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    pages_total: Mapped[int | None]
    pages_seen: Mapped[list[int]] = mapped_column(Json, default=list)
    active_seconds: Mapped[int] = mapped_column(default=0)
    percent: Mapped[float] = mapped_column(default=0.0)
    # Progress thresholds (25, 50, 75, 90, 100) already recorded as events.
    milestones: Mapped[list[int]] = mapped_column(Json, default=list)
    # The highest cumulative active seconds each reader session (one page load) reported; their
    # sum is ``active_seconds``, so a repeated or late beacon of a session adds nothing.
    sessions: Mapped[dict[str, int]] = mapped_column(Json, default=dict)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingHit(Base):
    """The durable inbox of the public tracking endpoints: a hit is stored (and acknowledged) first,
    then turned into events by the worker. ``payload`` holds the verified token's contents and the
    reported numbers. ``processed_at`` stays NULL until the worker has handled it."""

    __tablename__ = "tracking_hits"
    __table_args__ = (
        Index(
            "ix_tracking_hits_pending",
            "id",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(12))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Mailbox(Base):
    """A sending address of the workspace: its SMTP server, its limits, its DKIM key, and the IMAP
    mailbox where replies and bounces arrive. Passwords and the key are stored as given: protect
    the database (and its backups) as you would the mail account."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    from_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")  # SMTP_SECURITY
    smtp_username: Mapped[str | None] = mapped_column(String(320))
    smtp_password: Mapped[str | None] = mapped_column(String(500))
    # Messages per day at full speed, and the warm-up: day one sends ``warmup_start`` and each day
    # after adds ``warmup_increment`` until ``daily_cap`` (no warm-up when ``warmup_started_on`` is NULL).
    daily_cap: Mapped[int] = mapped_column(default=500)
    warmup_started_on: Mapped[date | None] = mapped_column(Date)
    warmup_start: Mapped[int] = mapped_column(default=20)
    warmup_increment: Mapped[int] = mapped_column(default=10)
    # At most this many messages per recipient domain per minute (gmail.com, one company's server).
    per_domain_per_minute: Mapped[int] = mapped_column(default=20)
    dkim_domain: Mapped[str | None] = mapped_column(String(255))
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_private_key: Mapped[str | None] = mapped_column(Text)  # PEM
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int] = mapped_column(default=993)
    imap_security: Mapped[str] = mapped_column(String(10), default="tls")  # SMTP_SECURITY
    imap_username: Mapped[str | None] = mapped_column(String(320))
    imap_password: Mapped[str | None] = mapped_column(String(500))
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    # IMAP bookkeeping: the folder's UIDVALIDITY and the highest UID already read.
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigId)
    imap_last_uid: Mapped[int] = mapped_column(BigId, default=0)
    imap_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imap_error: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailTemplate(Base):
    """A reusable email. Its content lives in one or more variants (``a``, ``b``…): a template
    with one variant is an ordinary template; experiments choose between several."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TemplateVariant(Base):
    """One version of a template's subject and bodies (Jinja2, rendered in a sandbox)."""

    __tablename__ = "template_variants"
    __table_args__ = (UniqueConstraint("template_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("email_templates.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(16))  # "a", "b", …
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(default=1)


class Segment(Base):
    """A saved contact filter: who a broadcast goes to or a sequence enrols. ``filters`` holds
    the contacts list's filters (``q``, ``stage``, ``source``…) plus ``grade``, ``list`` and ``tag``."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sequence(Base):
    """Ordered steps (email, wait, call task) a contact walks through until the end or a stop.
    Sending happens on business days inside the window, in the contact's time zone (else the
    sequence's)."""

    __tablename__ = "sequences"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # SEQUENCE_STATUSES
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM local
    window_end: Mapped[str] = mapped_column(String(5), default="17:00")
    # ISO weekdays that count as business days (1 = Monday).
    weekdays: Mapped[list[int]] = mapped_column(Json, default=lambda: [1, 2, 3, 4, 5])
    # Everyone who submits this form (or gets this magnet through any form) is enrolled.
    trigger_form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="SET NULL"))
    trigger_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SequenceStep(Base):
    """One step: an ``email`` (a template), a ``wait`` of ``wait_days`` business days, or a call
    ``task`` that puts the contact in the call queue with ``note``."""

    __tablename__ = "sequence_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))  # STEP_KINDS
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="RESTRICT"))
    wait_days: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class Enrollment(Base):
    """A contact's walk through a sequence: the next step's position and when it is due."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("sequence_id", "contact_id"),
        Index(
            "ix_enrollments_due",
            "next_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")  # ENROLLMENT_STATUSES
    position: Mapped[int] = mapped_column(default=0)  # the next step to run
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(20))  # STOP_REASONS
    source: Mapped[str] = mapped_column(
        String(120), default="manual"
    )  # manual | segment:<slug> | form:<slug>
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """A newsletter or announcement: one template to a segment, now or at ``scheduled_at``."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int] = mapped_column(ForeignKey("email_templates.id", ondelete="RESTRICT"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("contact_lists.id", ondelete="SET NULL"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # BROADCAST_STATUSES
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """One email to one person, rendered when queued. ``idempotency_key`` makes queueing it twice
    store it once (``step:<enrollment>:<position>``, ``broadcast:<id>:<contact>``…); workers claim
    due rows, and ``state`` records how far sending got (see MESSAGE_STATES)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key"),
        UniqueConstraint("message_id"),
        Index(
            "ix_outbox_messages_due",
            "due_at",
            sqlite_where=text("state = 'queued'"),
            postgresql_where=text("state = 'queued'"),
        ),
        Index("ix_outbox_messages_mailbox_sent", "mailbox_id", "sent_at"),
        # The few rows workers hold: read to count a mailbox's messages in flight and to find a
        # dead worker's claims, however many are queued.
        Index(
            "ix_outbox_messages_in_flight",
            "mailbox_id",
            "claimed_by",
            sqlite_where=text("state IN ('claimed', 'releasing')"),
            postgresql_where=text("state IN ('claimed', 'releasing')"),
        ),
        Index("ix_outbox_messages_domain_sent", "recipient_domain", "sent_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="RESTRICT"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="SET NULL"))
    variant_key: Mapped[str | None] = mapped_column(String(16))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    step_position: Mapped[int | None]
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # The RFC 5322 Message-ID, without angle brackets: replies name it in In-Reply-To/References.
    message_id: Mapped[str] = mapped_column(String(250))
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_domain: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="queued")  # MESSAGE_STATES
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_response: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """An address that must not be mailed: unsubscribed, hard-bounced, complained, or added by hand.
    Checked when a message is queued and again at send time."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # normalized (lower case)
    reason: Mapped[str] = mapped_column(String(16))  # SUPPRESSION_REASONS
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(Base):
    """A message that came back: a reply, an auto-reply, a bounce (RFC 3464) or a complaint, read
    over IMAP or posted to the inbound webhook. Its Message-ID makes reading it twice harmless."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("workspace_id", "header_message_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    header_message_id: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(12))  # INBOUND_KINDS
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    from_email: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    snippet: Mapped[str | None] = mapped_column(Text)  # the first lines of the reply's own text
    bounce_kind: Mapped[str | None] = mapped_column(String(4))  # hard | soft
    diagnostic: Mapped[str | None] = mapped_column(String(1000))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PredictiveModel(Base):
    """One trained model, never changed: what it learned from (the workspace's won and lost
    contacts, or a CSV file), how well it did on held-out later outcomes (``metrics``), how to read
    its inputs (``spec``: feature columns and kinds) and the fitted estimator itself (``artifact``,
    serialized). ``active`` marks the workspace model the call queue uses."""

    __tablename__ = "predictive_models"
    __table_args__ = (UniqueConstraint("workspace_id", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    version: Mapped[int]
    source: Mapped[str] = mapped_column(String(10))  # MODEL_SOURCES
    name: Mapped[str] = mapped_column(String(200), default="")  # a CSV file's name
    target: Mapped[str] = mapped_column(String(200), default="")
    positive: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10))  # MODEL_STATUSES
    algorithm: Mapped[str | None] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(default=0)
    positives: Mapped[int] = mapped_column(default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    spec: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str | None] = mapped_column(Text)  # why it is not ready ("12 wins: at least 30")
    trained_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Experiments: what can be tested, how traffic is split, and where an experiment stands.
EXPERIMENT_KINDS = ("email_template", "sequence_step", "landing_page", "form", "magnet", "channel_offer")
EXPERIMENT_STATES = ("draft", "running", "stopped", "scaled")
EXPERIMENT_STATISTICS = ("sequential", "frequentist", "bayesian")
EXPERIMENT_ALLOCATIONS = ("fixed", "bandit")
EXPERIMENT_CHECK_KINDS = ("allocation", "stop", "monitor")


class Experiment(Base):
    """Variants of one thing (a template, a step, a page, a form, a magnet, an offer) tested against
    a control on a funnel metric. The subject column that matters depends on ``kind``; ``winner_key``
    and ``tested_rate``/``tested_low`` record a promoted winner and the level the monitor watches."""

    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))  # EXPERIMENT_KINDS
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="SET NULL"))
    sequence_step_id: Mapped[int | None] = mapped_column(ForeignKey("sequence_steps.id", ondelete="SET NULL"))
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id", ondelete="SET NULL"))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="SET NULL"))
    primary_metric: Mapped[str] = mapped_column(String(30))
    # [{"metric": key, "tolerance": relative worsening tolerated}]
    guardrails: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    statistic: Mapped[str] = mapped_column(String(20), default="sequential")  # EXPERIMENT_STATISTICS
    alpha: Mapped[float] = mapped_column(default=0.05)
    power: Mapped[float] = mapped_column(default=0.8)
    minimum_effect: Mapped[float | None]  # the relative lift the planner sizes the test for
    baseline_rate: Mapped[float | None]  # the planner's baseline; else the control's observed rate
    allocation: Mapped[str] = mapped_column(String(10), default="fixed")  # EXPERIMENT_ALLOCATIONS
    state: Mapped[str] = mapped_column(String(12), default="draft")  # EXPERIMENT_STATES
    window_days: Mapped[int] = mapped_column(default=30)  # a conversion counts this long after exposure
    max_days: Mapped[int | None]  # stop rule: stop after this many days running
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scaled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    winner_key: Mapped[str | None] = mapped_column(String(16))
    tested_rate: Mapped[float | None]
    tested_low: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExperimentVariant(Base):
    """One arm of an experiment: its traffic ``weight`` (fixed split), the bandit's current
    ``share``, and what it changes — a template variant, a template, a lead magnet, or
    ``overrides`` of a page or form (or an offer's free description)."""

    __tablename__ = "experiment_variants"
    __table_args__ = (UniqueConstraint("experiment_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    is_control: Mapped[bool] = mapped_column(default=False)
    weight: Mapped[float] = mapped_column(default=1.0)
    share: Mapped[float | None]
    template_variant_key: Mapped[str | None] = mapped_column(String(16))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="SET NULL"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    overrides: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExperimentAssignment(Base):
    """Which variant a contact (or, before a form identifies them, a visitor) gets, for the
    experiment's whole life, and when they first and last saw it."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "contact_id"),
        UniqueConstraint("experiment_id", "visitor_id"),
        Index("ix_experiment_assignments_exposed", "experiment_id", "variant_id", "first_exposed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_exposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_exposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exposures: Mapped[int] = mapped_column(default=0)


class ExperimentCheck(Base):
    """A decision or reading the worker recorded: a bandit re-allocation, a stop rule that fired,
    or the monitor's look at a promoted winner (``alert`` when it drifted below the tested level)."""

    __tablename__ = "experiment_checks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(12))  # EXPERIMENT_CHECK_KINDS
    rate: Mapped[float | None]
    low: Mapped[float | None]
    high: Mapped[float | None]
    units: Mapped[int] = mapped_column(default=0)
    alert: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(Text, default="")


# Channels and spend: where leads come from and what they cost.
CHANNEL_KINDS = (
    "paid_social",
    "paid_search",
    "email",
    "events",
    "referral",
    "affiliate",
    "organic",
    "direct",
    "list",
    "other",
)
SPEND_ORIGINS = ("manual", "meta", "google", "linkedin", "generic")
TOUCH_KINDS = ("created", "form", "email", "manual")


class Channel(Base):
    """A way leads arrive (Facebook, LinkedIn, Google, email outreach, speaking, referrals…)."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="other")  # CHANNEL_KINDS
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelSource(Base):
    """A source value that means a channel: a ``utm_source`` ("fb"), a contact's source or import
    list name ("Realtors 2026"), a form's ``form:<slug>``. Keys are stored lower-cased and trimmed."""

    __tablename__ = "channel_sources"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))


class Campaign(Base):
    """A campaign within a channel. ``key`` (lower-cased) is what arrives as ``utm_campaign`` and
    what the ad platform's export calls it, so touches and spend meet on it."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Spend(Base):
    """Money spent on a channel (and campaign) over the days ``spent_from``–``spent_to``
    (inclusive; reports prorate it by day). Imported rows carry an ``import_key`` so that
    importing the same export again replaces instead of doubling."""

    __tablename__ = "spend"
    __table_args__ = (
        Index("ix_spend_workspace_days", "workspace_id", "spent_from", "spent_to"),
        UniqueConstraint("workspace_id", "import_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    spent_from: Mapped[date] = mapped_column(Date)
    spent_to: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(10), default="manual")  # SPEND_ORIGINS
    import_key: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManualTouch(Base):
    """A person tagged by hand with the channel (and campaign) that brought them ("met at the
    Leeds seminar"), at a moment; it counts as a touch like a form or an email click."""

    __tablename__ = "manual_touches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ChannelCheck(Base):
    """The worker's weekly look at one channel's metric (``cost_per_qualified`` or ``conversion``,
    lead → MQL): the week's value against its trailing level, and whether it drifted (``alert``),
    in plain words. Owners see open alerts on the dashboard and get them by email once."""

    __tablename__ = "channel_checks"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "week_start", "metric"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    week_start: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(24))
    value: Mapped[float | None]
    trailing: Mapped[float | None]
    leads: Mapped[int] = mapped_column(default=0)
    alert: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
