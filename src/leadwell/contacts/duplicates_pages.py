"""Pages for reviewing probable duplicates: merge a pair, dismiss it, and undo past merges.

Any role may review and merge: cleaning the list is everyone's job, and every merge can be undone
from the history page. Each POST checks the form's CSRF token and answers with a 303 redirect whose
query string carries the confirmation (``?merged=<contact id>``), so a reload repeats nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from leadwell.contacts.dedupe import find_duplicates
from leadwell.contacts.merge import merge_contacts, undo_blockers, undo_merge
from leadwell.db.models import Contact, ContactMerge, DuplicateCandidate, Event, User
from leadwell.errors import LeadwellError
from leadwell.ids import BadId, IdCodec
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import TEMPLATES, render

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias="csrf_token")]
PAGE_SIZE = 20
HISTORY_SIZE = 50
_RICHNESS_FIELDS = ("title", "organization_id", "street", "city", "country", "timezone", "source", "owner_id")


def public_id(codec: IdCodec, kind: str, number: int) -> str:
    """A row's id in URLs: signed, so nobody can walk another workspace's candidates or merges."""
    return codec.encode(kind, number)


def _row_number(codec: IdCodec, kind: str, text: str) -> int:
    try:
        return codec.decode(kind, text)
    except BadId:
        raise HTTPException(404, f"No such {kind} in this workspace.") from None


@contextmanager
def _page_errors() -> Iterator[None]:
    """Service errors become HTML error pages with the service's status and words."""
    try:
        yield
    except LeadwellError as error:
        raise HTTPException(error.status, error.detail) from None


def _live_pairs(workspace_id: int) -> Select[DuplicateCandidate]:
    """Open candidates whose two contacts are both still live (a merge elsewhere retires pairs)."""
    first, second = aliased(Contact), aliased(Contact)
    return (
        select(DuplicateCandidate)
        .join(first, first.id == DuplicateCandidate.contact_a_id)
        .join(second, second.id == DuplicateCandidate.contact_b_id)
        .where(
            DuplicateCandidate.workspace_id == workspace_id,
            DuplicateCandidate.status == "open",
            first.merged_into_id.is_(None),
            second.merged_into_id.is_(None),
        )
    )


def _open_count(session: Session, workspace_id: int) -> int:
    return session.scalar(_live_pairs(workspace_id).with_only_columns(func.count())) or 0


def open_duplicate_count(scope: PageScope) -> int:
    """How many pairs await review in the scope's workspace (for the contacts list's link)."""
    with scope.db.session() as session:
        return _open_count(session, scope.workspace_id)


# The contacts list shows "Review duplicates (N)" without its view knowing about duplicates.
TEMPLATES.env.globals["open_duplicate_count"] = open_duplicate_count


def display_name(contact: Contact) -> str:
    return f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"


@dataclass(frozen=True)
class Side:
    """One contact of a pair, as the review page shows it."""

    contact: Contact
    id: str
    url: str
    name: str
    events: int

    @property
    def richness(self) -> int:
        filled = sum(1 for name in _RICHNESS_FIELDS if getattr(self.contact, name))
        return self.events + filled + len(self.contact.emails) + len(self.contact.phones)


@dataclass(frozen=True)
class Pair:
    id: str
    score: float
    reasons: list[str]
    sides: tuple[Side, Side]
    keep: str  # the public id of the suggested survivor


def _suggested(first: Side, second: Side) -> Side:
    """The richer contact (more events and filled fields); on a tie, the older one."""
    return min((first, second), key=lambda s: (-s.richness, s.contact.created_at, s.contact.id))


def _event_counts(session: Session, workspace_id: int, ids: set[int]) -> dict[int, int]:
    rows = session.execute(
        select(Event.contact_id, func.count())
        .where(Event.workspace_id == workspace_id, Event.contact_id.in_(ids))
        .group_by(Event.contact_id)
    )
    return {number: count for number, count in rows if number is not None}


def _contact_url(request: Request, codec: IdCodec, number: int) -> str:
    return str(request.app.url_path_for("contact_detail", contact_id=codec.encode("contact", number)))


def _sides(request: Request, session: Session, scope: PageScope, ids: set[int]) -> dict[int, Side]:
    query = (
        select(Contact)
        .where(Contact.workspace_id == scope.workspace_id, Contact.id.in_(ids))
        .options(selectinload(Contact.emails), selectinload(Contact.organization))
    )
    counts = _event_counts(session, scope.workspace_id, ids)
    return {
        c.id: Side(
            c,
            scope.codec.encode("contact", c.id),
            _contact_url(request, scope.codec, c.id),
            display_name(c),
            counts.get(c.id, 0),
        )
        for c in session.scalars(query)
    }


def _cursor(score: float, number: int) -> str:
    return base64.urlsafe_b64encode(f"{score!r}:{number}".encode()).decode()


def _after(cursor: str) -> Any:
    """The keyset condition for a cursor: lower score, or the same score and a lower id."""
    try:
        score_text, _, number_text = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        score, number = float(score_text), int(number_text)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "This page link is damaged; start again from the first page.") from None
    return or_(
        DuplicateCandidate.score < score,
        and_(DuplicateCandidate.score == score, DuplicateCandidate.id < number),
    )


def _pairs(
    request: Request, session: Session, scope: PageScope, cursor: str
) -> tuple[list[Pair], str | None]:
    """A page of open pairs, highest score first, and the cursor of the next page."""
    query = _live_pairs(scope.workspace_id)
    if cursor:
        query = query.where(_after(cursor))
    order = (DuplicateCandidate.score.desc(), DuplicateCandidate.id.desc())
    candidates = list(session.scalars(query.order_by(*order).limit(PAGE_SIZE + 1)))
    more = candidates[PAGE_SIZE - 1] if len(candidates) > PAGE_SIZE else None
    candidates = candidates[:PAGE_SIZE]
    ids = {n for c in candidates for n in (c.contact_a_id, c.contact_b_id)}
    sides = _sides(request, session, scope, ids)
    pairs = []
    for candidate in candidates:
        first, second = sides[candidate.contact_a_id], sides[candidate.contact_b_id]
        number = public_id(scope.codec, "duplicate", candidate.id)
        keep = _suggested(first, second).id
        pairs.append(Pair(number, candidate.score, list(candidate.reasons), (first, second), keep))
    return pairs, _cursor(more.score, more.id) if more else None


def _notice(request: Request, session: Session, scope: PageScope, params: dict[str, str]) -> Any:
    """What the redirect after a POST says happened, as (text, link text, link) or None."""
    if params.get("merged"):
        try:
            number = scope.codec.decode("contact", params["merged"])
        except BadId:
            return None
        contact = session.get(Contact, number)
        if contact is None or contact.workspace_id != scope.workspace_id:
            return None
        return ("Merged into", display_name(contact), _contact_url(request, scope.codec, number))
    if params.get("dismissed"):
        return ("Marked as not a duplicate.", None, None)
    if params.get("found", "").isdigit():
        found = int(params["found"])
        return (f"Scan finished: {found} new pair{'' if found == 1 else 's'} to review.", None, None)
    return None


@router.get("/contacts/duplicates", name="duplicates_list")
def duplicates_list(
    request: Request,
    scope: Page,
    cursor: str = "",
    merged: str = "",
    dismissed: str = "",
    found: str = "",
) -> HTMLResponse:
    """Open pairs, highest score first, side by side with the reasons and a choice of survivor."""
    with scope.db.session() as session:
        pairs, more = _pairs(request, session, scope, cursor)
        total = _open_count(session, scope.workspace_id)
        params = {"merged": merged, "dismissed": dismissed, "found": found}
        notice = _notice(request, session, scope, params)
    path = str(request.app.url_path_for("duplicates_list"))
    return render(
        request,
        "duplicates/list.html",
        scope=scope,
        active="contacts_list",
        pairs=pairs,
        total=total,
        notice=notice,
        next_url=f"{path}?{urlencode({'cursor': more})}" if more else None,
        first_url=path if cursor else None,
    )


def _candidate(session: Session, scope: PageScope, candidate_id: str) -> DuplicateCandidate:
    number = _row_number(scope.codec, "duplicate", candidate_id)
    candidate = session.scalar(
        select(DuplicateCandidate).where(
            DuplicateCandidate.id == number, DuplicateCandidate.workspace_id == scope.workspace_id
        )
    )
    if candidate is None:
        raise HTTPException(404, "No such duplicate in this workspace.")
    if candidate.status != "open":
        raise HTTPException(409, f"This pair was already {candidate.status}; reload the list.")
    return candidate


def _redirect(request: Request, route: str, **params: str) -> RedirectResponse:
    path = str(request.app.url_path_for(route))
    return RedirectResponse(f"{path}?{urlencode(params)}" if params else path, status_code=303)


@router.post("/contacts/duplicates/scan", name="duplicates_scan")
def duplicates_scan(request: Request, scope: Page, csrf: Csrf = "") -> RedirectResponse:
    """Look for duplicates across the whole workspace now."""
    check_csrf(request, csrf)
    with scope.db.session() as session:
        found = find_duplicates(session, scope.workspace_id)
    return _redirect(request, "duplicates_list", found=str(found))


@router.post("/contacts/duplicates/{candidate_id}/merge", name="duplicate_merge")
def duplicate_merge(
    request: Request,
    scope: Page,
    candidate_id: str,
    csrf: Csrf = "",
    survivor: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Merge the pair into the chosen survivor (one of the pair's two contacts)."""
    check_csrf(request, csrf)
    with scope.db.session() as session:
        candidate = _candidate(session, scope, candidate_id)
        pair = {candidate.contact_a_id, candidate.contact_b_id}
        try:
            keep = scope.codec.decode("contact", survivor)
        except BadId:
            keep = None
        if keep not in pair:
            raise HTTPException(422, "Choose which of the two contacts to keep.")
        (gone,) = pair - {keep}
        with _page_errors():
            merge_contacts(session, scope.workspace_id, keep, gone, scope.user.id)
    return _redirect(request, "duplicates_list", merged=survivor)


@router.post("/contacts/duplicates/{candidate_id}/dismiss", name="duplicate_dismiss")
def duplicate_dismiss(request: Request, scope: Page, candidate_id: str, csrf: Csrf = "") -> RedirectResponse:
    """Record that the pair is two people; later scans will not suggest it again."""
    check_csrf(request, csrf)
    with scope.db.session() as session:
        _candidate(session, scope, candidate_id).status = "dismissed"
    return _redirect(request, "duplicates_list", dismissed=candidate_id)


@dataclass(frozen=True)
class MergeRow:
    """One line of the merge history."""

    id: str
    merge: ContactMerge
    kept: Side | None
    merged: Side | None
    by: str | None
    blocked_by: str | None  # the later merge to undo first
    changed_since: bool  # the survivor was edited after the merge


def _history(
    request: Request, session: Session, scope: PageScope, before: int | None
) -> tuple[list[MergeRow], int | None]:
    query = select(ContactMerge, User.email).outerjoin(User, User.id == ContactMerge.merged_by_id)
    query = query.where(ContactMerge.workspace_id == scope.workspace_id)
    if before is not None:
        query = query.where(ContactMerge.id < before)
    rows = session.execute(query.order_by(ContactMerge.id.desc()).limit(HISTORY_SIZE + 1)).all()
    more = rows[HISTORY_SIZE - 1][0].id if len(rows) > HISTORY_SIZE else None
    merges: Sequence[ContactMerge] = [merge for merge, _email in rows[:HISTORY_SIZE]]
    sides = _sides(request, session, scope, {n for m in merges for n in (m.survivor_id, m.merged_id)})
    blockers = undo_blockers(session, scope.workspace_id, merges)
    history = []
    for merge, email in rows[:HISTORY_SIZE]:
        kept = sides.get(merge.survivor_id)
        after = merge.snapshot.get("survivor_updated_at")
        changed = bool(
            kept and after and merge.undone_at is None and kept.contact.updated_at.isoformat() != after
        )
        blocker = blockers.get(merge.id)
        blocked = public_id(scope.codec, "merge", blocker) if blocker else None
        number = public_id(scope.codec, "merge", merge.id)
        history.append(MergeRow(number, merge, kept, sides.get(merge.merged_id), email, blocked, changed))
    return history, more


@router.get("/contacts/merges", name="merges_list")
def merges_list(request: Request, scope: Page, before: str = "", undone: str = "") -> HTMLResponse:
    """Past merges, newest first, each with an Undo button while it can still be undone."""
    start = int(before) if before.isdigit() and len(before) < 19 else None
    with scope.db.session() as session:
        history, more = _history(request, session, scope, start)
        separated = _separated(request, session, scope, undone) if undone else []
    path = str(request.app.url_path_for("merges_list"))
    return render(
        request,
        "duplicates/merges.html",
        scope=scope,
        active="contacts_list",
        history=history,
        separated=separated,
        next_url=f"{path}?{urlencode({'before': more})}" if more else None,
        first_url=path if before else None,
    )


def _separated(request: Request, session: Session, scope: PageScope, merge_id: str) -> list[Side]:
    """The two contacts of the merge just undone, for the confirmation."""
    try:
        number = _row_number(scope.codec, "merge", merge_id)
    except HTTPException:
        return []
    merge = session.get(ContactMerge, number)
    if merge is None or merge.workspace_id != scope.workspace_id:
        return []
    sides = _sides(request, session, scope, {merge.survivor_id, merge.merged_id})
    return [sides[n] for n in (merge.survivor_id, merge.merged_id) if n in sides]


@router.post("/contacts/merges/{merge_id}/undo", name="merge_undo")
def merge_undo(request: Request, scope: Page, merge_id: str, csrf: Csrf = "") -> RedirectResponse:
    """Separate the two contacts again, exactly as they were before the merge."""
    check_csrf(request, csrf)
    number = _row_number(scope.codec, "merge", merge_id)
    with scope.db.session() as session, _page_errors():
        undo_merge(session, scope.workspace_id, number)
    return _redirect(request, "merges_list", undone=merge_id)
