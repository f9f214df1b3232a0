"""The Experiments section's pages: the list, a new experiment, and an experiment's report with its
actions. One router for the app to include; the fixed path /experiments/new comes before
/experiments/{slug}."""

from __future__ import annotations

from fastapi import APIRouter

from leadwell.experiments import detail_pages, list_pages, new_pages

router = APIRouter(include_in_schema=False)
for part in (list_pages, new_pages, detail_pages):
    router.include_router(part.router)
