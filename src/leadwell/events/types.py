"""The closed list of event types, each with a typed properties schema.

Scoring rules and reports rely on these shapes, so ingest rejects unknown types and unknown or
mistyped properties, naming the property at fault. Adding a type is a code change with a docs line
(``docs/events.md`` lists every type; a test keeps the two in step).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from leadwell.errors import InvalidInput


class Properties(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class FormSubmitted(Properties):
    form: str = Field(min_length=1, max_length=200)
    fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    asset: str | None = Field(default=None, max_length=200, description="The lead magnet the form gates.")
    page: str | None = Field(default=None, max_length=200, description="The landing page it was on.")


class AssetDownloaded(Properties):
    asset: str = Field(min_length=1, max_length=200)


class Progress(Properties):
    asset: str = Field(min_length=1, max_length=200)
    percent: float = Field(ge=0, le=100)
    pages_viewed: int | None = Field(default=None, ge=0, description="Documents: distinct pages seen.")
    pages_total: int | None = Field(default=None, ge=1, description="Documents: pages in the file.")
    active_seconds: int | None = Field(default=None, ge=0, description="Time actively reading or watching.")


class WebinarAttended(Properties):
    webinar: str = Field(min_length=1, max_length=200)
    minutes: float = Field(default=0, ge=0, le=24 * 60)


class PageViewed(Properties):
    url: HttpUrl
    title: str | None = None
    referrer: str | None = None
    page: str | None = Field(default=None, max_length=200, description="A hosted landing page's slug.")


class EmailEvent(Properties):
    message: str | None = Field(default=None, max_length=200)
    subject: str | None = None
    template: str | None = Field(default=None, max_length=64, description="The template's slug.")
    variant: str | None = Field(default=None, max_length=16, description="The template variant sent.")
    sequence: str | None = Field(default=None, max_length=64, description="The sequence's slug.")
    broadcast: str | None = Field(default=None, max_length=200, description="The broadcast's name.")


class EmailClicked(EmailEvent):
    url: HttpUrl


class EmailBounced(EmailEvent):
    kind: Literal["hard", "soft"] = "hard"
    diagnostic: str | None = None


CallOutcome = Literal[
    "no_answer",
    "voicemail",
    "conversation",
    "meeting_booked",
    "not_a_fit",
    "not_now",
    "connected",
    "wrong_number",
    "not_interested",
]


class CallLogged(Properties):
    outcome: CallOutcome
    duration_seconds: int = Field(default=0, ge=0, le=24 * 3600)
    note: str | None = None
    reason: str | None = Field(default=None, max_length=500, description="Why not a fit, or not now.")
    revisit_on: date | None = Field(default=None, description="Not now: when to call again.")


class MeetingBooked(Properties):
    starts_at: datetime | None = None
    note: str | None = None


class StageChanged(Properties):
    from_stage: str | None = Field(default=None, alias="from")
    to_stage: str = Field(alias="to")
    why: str | None = None


class FitChanged(Properties):
    icp: str
    from_grade: str | None = None
    to_grade: str
    why: str | None = None
    version: int | None = Field(default=None, ge=1, description="The profile version graded with.")
    score: int | None = Field(default=None, ge=0, le=100)


class DealClosed(Properties):
    deal: str
    value: float = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    reason: str | None = None


class SequenceEnrolled(Properties):
    sequence: str = Field(min_length=1, max_length=64)
    source: str | None = Field(
        default=None, max_length=120, description="manual, segment:<slug> or form:<slug>."
    )


class SequenceFinished(Properties):
    sequence: str = Field(min_length=1, max_length=64)
    reason: Literal[
        "completed", "replied", "meeting_booked", "unsubscribed", "bounced", "manual", "suppressed", "merged"
    ]


class CallTask(Properties):
    sequence: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)


class NoteAdded(Properties):
    text: str = Field(min_length=1, max_length=2000)


class ExperimentExposed(Properties):
    experiment: str = Field(min_length=1, max_length=120, description="The experiment's slug.")
    variant: str = Field(min_length=1, max_length=16, description="The variant's key (A, B…).")


EVENT_TYPES: dict[str, type[Properties]] = {
    "form_submitted": FormSubmitted,
    "asset_downloaded": AssetDownloaded,
    "read_progress": Progress,
    "video_progress": Progress,
    "webinar_registered": WebinarAttended,
    "webinar_attended": WebinarAttended,
    "page_viewed": PageViewed,
    "email_sent": EmailEvent,
    "email_opened": EmailEvent,
    "email_clicked": EmailClicked,
    "email_replied": EmailEvent,
    "email_bounced": EmailBounced,
    "email_unsubscribed": EmailEvent,
    "call_logged": CallLogged,
    "meeting_booked": MeetingBooked,
    "stage_changed": StageChanged,
    "fit_changed": FitChanged,
    "deal_won": DealClosed,
    "deal_lost": DealClosed,
    "note_added": NoteAdded,
    "sequence_enrolled": SequenceEnrolled,
    "sequence_finished": SequenceFinished,
    "call_task": CallTask,
    "experiment_exposed": ExperimentExposed,
}

EVENT_LABELS: dict[str, str] = {
    "form_submitted": "Submitted a form",
    "asset_downloaded": "Downloaded",
    "read_progress": "Read",
    "video_progress": "Watched",
    "webinar_registered": "Registered for a webinar",
    "webinar_attended": "Attended a webinar",
    "page_viewed": "Viewed a page",
    "email_sent": "Was sent an email",
    "email_opened": "Opened an email",
    "email_clicked": "Clicked a link in an email",
    "email_replied": "Replied to an email",
    "email_bounced": "Email bounced",
    "email_unsubscribed": "Unsubscribed",
    "call_logged": "Call",
    "meeting_booked": "Meeting booked",
    "stage_changed": "Stage changed",
    "fit_changed": "Fit changed",
    "deal_won": "Deal won",
    "deal_lost": "Deal lost",
    "note_added": "Note",
    "sequence_enrolled": "Enrolled in a sequence",
    "sequence_finished": "Left a sequence",
    "call_task": "Call task",
    "experiment_exposed": "Shown an experiment's variant",
}


def validate_properties(event_type: str, properties: dict[str, Any], field: str = "") -> dict[str, Any]:
    """Check ``properties`` against the schema of ``event_type``; returns them as JSON-ready data.

    Raises :class:`InvalidInput` naming the type or the first property at fault, prefixed by ``field``.
    """
    prefix = f"{field}." if field else ""
    schema = EVENT_TYPES.get(event_type)
    if schema is None:
        raise InvalidInput(
            f"{prefix}type: unknown event type {event_type[:60]!r}; see docs/events.md", field=f"{prefix}type"
        )
    try:
        parsed = schema.model_validate(properties)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        name = f"{prefix}properties.{where}" if where else f"{prefix}properties"
        raise InvalidInput(f"{name}: {first['msg']}", field=name) from None
    return parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
