"""Fits as pages show them: a grade badge with its reasons in words, and a contact's fit panel.

Stored fits hold only a state and a value per criterion (see :mod:`leadwell.icp.reasons`); the
words come from the profile version each fit was graded with, loaded once per version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Fit, Icp
from leadwell.errors import InvalidInput
from leadwell.icp.definition import Definition
from leadwell.icp.fields import resolve
from leadwell.icp.reasons import Reason, expand_reasons
from leadwell.icp.store import get_icp, list_icps, load_definition


def field_words(path: str) -> str:
    """A field path as people say it: ``organization.employees`` → "employees"."""
    try:
        return resolve(path, "field").label.replace("_", " ")
    except InvalidInput:
        return path


def reason_words(reason: Reason) -> str:
    """ "employees ≥ 100: met (120)", "roi_months ≤ 90 days: unknown (no value)"."""
    if reason.note:
        detail = reason.note
    elif reason.value is not None:
        detail = reason.value
    else:
        detail = "no value"
    return f"{reason.criterion}: {reason.state} ({detail})"


@dataclass(frozen=True)
class FitShown:
    """One contact's fit to one profile, spelled out."""

    grade: str
    score: int
    qualified_out: bool
    version: int
    reasons: list[Reason]
    unknown: list[str]  # field paths

    @property
    def out_reasons(self) -> list[Reason]:
        """The must-haves that qualified the contact out."""
        return [reason for reason in self.reasons if reason.kind == "must" and reason.state == "unmet"]

    @property
    def ask(self) -> list[str]:
        """What to find out about the contact: the fields whose criteria are undecided."""
        return [field_words(path) for path in self.unknown]

    @property
    def summary(self) -> str:
        """The whole fit in one paragraph, for a tooltip."""
        head = f"Grade {self.grade}, score {self.score}"
        if self.qualified_out:
            head += ": qualified out by " + "; ".join(r.criterion for r in self.out_reasons)
        parts = [head + ".", *(reason_words(reason) + "." for reason in self.reasons)]
        if self.unknown:
            parts.append("Ask: " + ", ".join(self.ask) + ".")
        return " ".join(parts)


class Versions:
    """Each version's definition of one profile, loaded when first needed."""

    def __init__(self, session: Session, icp: Icp) -> None:
        self.session, self.icp = session, icp
        self.loaded: dict[int, Definition] = {}

    def __call__(self, version: int) -> Definition:
        if version not in self.loaded:
            self.loaded[version] = load_definition(self.session, self.icp, version)
        return self.loaded[version]


def shown(fit: Fit, versions: Versions) -> FitShown:
    reasons = expand_reasons(versions(fit.version), fit.reasons)
    return FitShown(fit.grade, fit.score, fit.qualified_out, fit.version, reasons, list(fit.unknown))


def chosen_profile(session: Session, workspace_id: int, slug: str | None) -> Icp | None:
    """The profile a list shows fits for: ``slug``, else the first by slug (None: there is none).
    :class:`NotFound` when ``slug`` names no profile of the workspace."""
    if slug:
        return get_icp(session, workspace_id, slug)
    profiles = list_icps(session, workspace_id)
    return profiles[0] if profiles else None


def fits_of(session: Session, icp: Icp | None, contact_ids: Iterable[int]) -> dict[int, FitShown]:
    """The fits of these contacts to ``icp``, by contact id (contacts not graded yet are missing)."""
    ids = list(contact_ids)
    if icp is None or not ids:
        return {}
    versions = Versions(session, icp)
    fits = session.scalars(select(Fit).where(Fit.icp_id == icp.id, Fit.contact_id.in_(ids)))
    return {fit.contact_id: shown(fit, versions) for fit in fits}


@dataclass(frozen=True)
class ProfileFit:
    """A contact's fit to one profile of the workspace (``fit`` None: not graded yet)."""

    icp: Icp
    fit: FitShown | None


def contact_fits(session: Session, workspace_id: int, contact_id: int) -> list[ProfileFit]:
    """The contact's fit to every profile of the workspace, by slug."""
    profiles = list_icps(session, workspace_id)
    fits = {
        fit.icp_id: fit
        for fit in session.scalars(
            select(Fit).where(Fit.workspace_id == workspace_id, Fit.contact_id == contact_id)
        )
    }
    found = []
    for icp in profiles:
        fit = fits.get(icp.id)
        found.append(ProfileFit(icp, shown(fit, Versions(session, icp)) if fit else None))
    return found
