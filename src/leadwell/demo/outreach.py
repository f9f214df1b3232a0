"""The demo's outreach, drawn from the story's emails.

The story sends each person a welcome series (or, without consent, one short outreach series for
their source), the fortnightly newsletter and the webinar invitations. Here those become what
leadwell would have stored: a sending mailbox, one template per email, a sequence per series with
each person's enrollment (completed, still running, or stopped by a reply, an unsubscribe or a
bounce), a broadcast per newsletter issue and invitation, and an outbox row for every email sent.
The story's email events name their message by the same Message-ID as the outbox row, so every
sequence's and broadcast's numbers add up.

The mailbox points at 127.0.0.1:1025 without a password: run any SMTP catcher there to watch what
the running demo sends; otherwise messages wait in the outbox with the connection error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Broadcast,
    EmailTemplate,
    Enrollment,
    Event,
    Mailbox,
    OutboxMessage,
    SequenceStep,
    TemplateVariant,
)
from leadwell.db.models import Sequence as SequenceRow
from leadwell.demo import data
from leadwell.demo.cast import Calendar, Person
from leadwell.outreach.segments import SegmentInput, create_segment

DOMAIN = "northwind-consulting.example"
MAILBOX = ("hello", "Northwind Consulting", f"hello@{DOMAIN}")
SEND_MINUTES = 7  # the story sends each series email this many minutes past its day's mark
# (campaign, name, series): the series of the story, one sequence each.
FOLLOW_UPS = tuple(source for source, *_ in data.SOURCES if source != "imported-list")
SERIES: tuple[tuple[str, str, tuple[tuple[int, str, str], ...]], ...] = (
    ("welcome-series", "Welcome series", data.WELCOME_SERIES),
    ("list-outreach", "Purchased list outreach", data.OUTREACH_SERIES),
    *(
        (f"{source}-follow-up", f"Follow-up: {source.replace('-', ' ')}", data.OUTREACH_SERIES)
        for source in FOLLOW_UPS
    ),
)
STOPS = {"email_replied": "replied", "email_unsubscribed": "unsubscribed", "email_bounced": "bounced"}
BODY_HTML = (
    '<p>Hi {{ first_name | default("there") }},</p>\n<p>%s</p>\n'
    '<p><a href="%s">Read more</a></p>\n<p>{{ sender.name }}</p>'
)
BODY_TEXT = 'Hi {{ first_name | default("there") }},\n\n%s\n\nRead more: %s\n\n{{ sender.name }}\n'


def message_id(prefix: str, key: str, email: str) -> str:
    """The Message-ID (without brackets) of the story's email ``key`` to one address: the same for
    the same seed, and unique across demo workspaces through their public ``prefix``."""
    return f"{prefix}{key}.{hashlib.sha256(email.encode()).hexdigest()[:16]}@{DOMAIN}"


@dataclass
class _Series:
    sequence_id: int
    email_positions: list[int]  # the step position of each email, in order
    template_ids: list[int]
    gaps: list[int]  # days after arrival each email goes out
    step_count: int


@dataclass
class DemoOutreach:
    """What the story's emails are filed under; ids of the rows :func:`setup_outreach` made."""

    workspace_id: int
    mailbox_id: int
    prefix: str
    series: dict[str, _Series] = field(default_factory=dict)
    # The story's message key of a newsletter or invitation → (broadcast id, name, template id).
    broadcasts: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    template_slugs: dict[int, str] = field(default_factory=dict)

    def properties(
        self, email: str, event_type: str, props: dict[str, Any], campaign: str | None
    ) -> dict[str, Any]:
        """An email event's properties naming its outbox message, template and sequence or broadcast."""
        key = props.get("message")
        if not event_type.startswith("email_") or not isinstance(key, str):
            return props
        named = {**props, "message": message_id(self.prefix, key, email)}
        if key in self.broadcasts:
            _id, name, template_id = self.broadcasts[key]
            named.update(broadcast=name, template=self.template_slugs[template_id])
        elif campaign in self.series:
            step = int(key.rsplit("-", 1)[1]) - 1
            named.update(
                sequence=campaign, template=self.template_slugs[self.series[campaign].template_ids[step]]
            )
        return named

    def write(self, session: Session, people: Sequence[Person], contact_ids: Sequence[int]) -> int:
        """Enrollments, their events and an outbox row per email sent, for contacts just written;
        returns how many events it added."""
        enrollments: list[dict[str, Any]] = []
        for person, contact_id in zip(people, contact_ids, strict=True):
            enrollments += self._enrollments(person, contact_id)
        ids = _insert_returning(session, Enrollment, enrollments)
        by_person = {
            (row["contact_id"], row["sequence_id"]): number
            for row, number in zip(enrollments, ids, strict=True)
        }
        events: list[dict[str, Any]] = []
        for row, number in zip(enrollments, ids, strict=True):
            events += _enrollment_events(self, row, number)
        if events:
            session.execute(insert(Event), events)
        messages = [
            message
            for person, contact_id in zip(people, contact_ids, strict=True)
            for message in self._messages(person, contact_id, by_person)
        ]
        if messages:
            session.execute(insert(OutboxMessage), messages)
        return len(events)

    def _enrollments(self, person: Person, contact_id: int) -> list[dict[str, Any]]:
        rows = []
        for campaign, series in self.series.items():
            sent = [e for e in person.events if e.type == "email_sent" and e.campaign == campaign]
            if not sent:
                continue
            stop = next(
                (
                    e
                    for e in person.events
                    if e.campaign == campaign and e.type in STOPS and len(sent) < len(series.gaps)
                ),
                None,
            )
            row: dict[str, Any] = {
                "workspace_id": self.workspace_id,
                "sequence_id": series.sequence_id,
                "contact_id": contact_id,
                "source": f"{'form' if person.consent == 'opted_in' else 'segment'}:{campaign}",
                "enrolled_at": sent[0].at - timedelta(minutes=SEND_MINUTES),
                "status": "active",
                "position": series.email_positions[len(sent) - 1] + 1,
                "next_at": None,
                "stop_reason": None,
                "finished_at": None,
            }
            if stop is not None:
                row.update(status="stopped", stop_reason=STOPS[stop.type], finished_at=stop.at)
            elif len(sent) == len(series.gaps):
                row.update(status="completed", finished_at=sent[-1].at, position=series.step_count)
            else:  # the next email is still to come: the enrollment waits for it
                upcoming = len(sent)
                row.update(
                    position=series.email_positions[upcoming],
                    next_at=person.created_at + timedelta(days=series.gaps[upcoming], minutes=SEND_MINUTES),
                )
            rows.append(row)
        return rows

    def _messages(
        self, person: Person, contact_id: int, enrollments: dict[tuple[int, int], int]
    ) -> list[dict[str, Any]]:
        rows = []
        for event in person.events:
            if event.type != "email_sent":
                continue
            key = str(event.properties["message"])
            row = {
                "workspace_id": self.workspace_id,
                "contact_id": contact_id,
                "mailbox_id": self.mailbox_id,
                "variant_key": "a",
                "message_id": message_id(self.prefix, key, person.email),
                "to_email": person.email,
                "to_name": f"{person.first} {person.last}".strip(),
                "recipient_domain": person.email.rsplit("@", 1)[1],
                "subject": str(event.properties["subject"]),
                "text": "",
                "html": "",
                "state": "sent",
                "due_at": event.at,
                "attempts": 1,
                "claimed_by": "demo",
                "claimed_at": event.at,
                "sent_at": event.at,
                "smtp_response": "250 2.0.0 Ok: queued",
                "created_at": event.at,
                "enrollment_id": None,
                "step_position": None,
                "broadcast_id": None,
            }
            if key in self.broadcasts:
                broadcast_id, _name, template_id = self.broadcasts[key]
                row.update(
                    template_id=template_id,
                    broadcast_id=broadcast_id,
                    idempotency_key=f"broadcast:{broadcast_id}:{contact_id}",
                )
            elif event.campaign in self.series:
                series = self.series[event.campaign]
                step = int(key.rsplit("-", 1)[1]) - 1
                enrollment = enrollments[(contact_id, series.sequence_id)]
                position = series.email_positions[step]
                row.update(
                    template_id=series.template_ids[step],
                    enrollment_id=enrollment,
                    step_position=position,
                    idempotency_key=f"step:{enrollment}:{position}",
                )
            else:
                continue
            rows.append(row)
        return rows


def _enrollment_events(
    outreach: DemoOutreach, row: dict[str, Any], enrollment_id: int
) -> list[dict[str, Any]]:
    slug = next(
        campaign for campaign, series in outreach.series.items() if series.sequence_id == row["sequence_id"]
    )
    common = {
        "workspace_id": outreach.workspace_id,
        "contact_id": row["contact_id"],
        "source": "outreach",
        "campaign": slug,
    }
    events = [
        {
            **common,
            "type": "sequence_enrolled",
            "occurred_at": row["enrolled_at"],
            "received_at": row["enrolled_at"],
            "properties": {"sequence": slug, "source": row["source"]},
            "idempotency_key": f"sequence-enrolled:{enrollment_id}",
        }
    ]
    if row["status"] != "active":
        reason = row["stop_reason"] or "completed"
        events.append(
            {
                **common,
                "type": "sequence_finished",
                "occurred_at": row["finished_at"],
                "received_at": row["finished_at"],
                "properties": {"sequence": slug, "reason": reason},
                "idempotency_key": f"sequence-finished:{enrollment_id}",
            }
        )
    return events


def _insert_returning(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows).all())


def _template(
    session: Session, workspace_id: int, slug: str, name: str, subject: str, line: str, path: str
) -> int:
    template = EmailTemplate(workspace_id=workspace_id, slug=slug, name=name)
    session.add(template)
    session.flush()
    link = f"{data.SITE}{path}"
    session.add(
        TemplateVariant(
            template_id=template.id,
            key="a",
            subject=subject,
            html=BODY_HTML % (escape(line), escape(link)),
            text=BODY_TEXT % (line, link),
        )
    )
    return template.id


def _series_subject(subject: str) -> str:
    return subject.replace("{company}", '{{ company | default("your team") }}')


def setup_outreach(
    session: Session, workspace_id: int, cal: Calendar, prefix: str, created_by_id: int | None
) -> DemoOutreach:
    """The mailbox, templates, segments, sequences and broadcasts the story's emails belong to."""
    slug, from_name, from_email = MAILBOX
    mailbox = Mailbox(
        workspace_id=workspace_id,
        slug=slug,
        from_name=from_name,
        from_email=from_email,
        reply_to=from_email,
        smtp_host="127.0.0.1",
        smtp_port=1025,
        smtp_security="none",
        daily_cap=2000,
    )
    session.add(mailbox)
    session.flush()
    outreach = DemoOutreach(workspace_id, mailbox.id, prefix)
    subscribers = create_segment(
        session,
        workspace_id,
        SegmentInput("Newsletter subscribers", "newsletter-subscribers", {"consent": ["opted_in"]}),
    )
    create_segment(
        session, workspace_id, SegmentInput("Good fits to call", "good-fits", {"grade": ["A", "B"]})
    )
    for campaign, name, series in SERIES:
        sequence = SequenceRow(
            workspace_id=workspace_id,
            slug=campaign,
            name=name,
            status="active",
            mailbox_id=mailbox.id,
            timezone="UTC",
        )
        session.add(sequence)
        session.flush()
        steps: list[SequenceStep] = []
        positions, template_ids, previous = [], [], 0
        for number, (gap, subject, path) in enumerate(series, start=1):
            if gap > previous:  # the story's gaps are calendar days; near enough to business days here
                steps.append(
                    SequenceStep(
                        sequence_id=sequence.id, position=len(steps), kind="wait", wait_days=gap - previous
                    )
                )
            template_slug = f"{campaign}-{number}"
            line = subject.replace("{company}", "your team")
            template_id = _template(
                session,
                workspace_id,
                template_slug,
                f"{name}, email {number}",
                _series_subject(subject),
                line,
                path,
            )
            positions.append(len(steps))
            steps.append(
                SequenceStep(
                    sequence_id=sequence.id, position=len(steps), kind="email", template_id=template_id
                )
            )
            template_ids.append(template_id)
            outreach.template_slugs[template_id] = template_slug
            previous = gap
        session.add_all(steps)
        gaps = [gap for gap, _subject, _path in series]
        outreach.series[campaign] = _Series(sequence.id, positions, template_ids, gaps, len(steps))
    _broadcasts(session, outreach, cal, subscribers.id, created_by_id)
    session.flush()
    return outreach


def _broadcasts(
    session: Session, outreach: DemoOutreach, cal: Calendar, segment_id: int, created_by_id: int | None
) -> None:
    topics, pages = data.NEWSLETTER_TOPICS, data.PAGES
    sends = [
        (
            f"newsletter-{n}",
            f"Operations Notes #{n}",
            f"Operations Notes #{n}: {topics[n % len(topics)]}",
            pages[n % len(pages)][0],
            at,
        )
        for n, at in cal.newsletters
    ]
    sends += [
        (
            f"{c}-invite",
            f"Invitation: {title}",
            f"You're invited: {title}",
            f"/webinars/{c}",
            at - timedelta(days=14),
        )
        for title, at, c in cal.webinars
    ]
    for key, name, subject, path, at in sends:
        template_id = _template(session, outreach.workspace_id, key, name, subject, subject, path)
        outreach.template_slugs[template_id] = key
        done = at <= cal.now
        broadcast = Broadcast(
            workspace_id=outreach.workspace_id,
            name=name,
            template_id=template_id,
            segment_id=segment_id,
            mailbox_id=outreach.mailbox_id,
            status="sent" if done else "scheduled",
            scheduled_at=at,
            started_at=at if done else None,
            finished_at=at + timedelta(minutes=40) if done else None,
            created_by_id=created_by_id,
            created_at=at - timedelta(days=2),
        )
        session.add(broadcast)
        session.flush()
        outreach.broadcasts[key] = (broadcast.id, name, template_id)
