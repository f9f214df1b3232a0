"""The import wizard: upload a file, check how its columns map on a preview, run it, read the summary.

An upload waits on disk between the steps, as ``data_dir/uploads/<workspace id>/<token>.<ext>``: the
token is random and the directory is the workspace's, so a token is only good inside the workspace
that uploaded it, and the client's file name never touches the file system (it travels, with the
list name and default country, in a JSON sidecar, as something to show).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from leadwell.contacts.importing.mapping import (
    SHARED_TARGETS,
    TARGETS,
    Mapping,
    custom_name,
    identifies_a_person,
)
from leadwell.contacts.importing.pipeline import ImportOptions, Preview, import_file, preview_file
from leadwell.db.models import Import
from leadwell.errors import InvalidInput
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx")
TOKEN = re.compile(r"[0-9a-f]{32}")
COPY_BLOCK = 1024 * 1024
LIST_NAME_MAX = 120  # imports.list_name and contacts.source hold 120 characters
FILE_NAME_MAX = 300
RECENT_IMPORTS = 20
STALE_SECONDS = 2 * 24 * 3600  # an upload nobody imported within two days was abandoned
# Default countries for phone numbers written without a +code: where leads most often come from.
# fmt: off
REGIONS = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "IE": "Ireland", "AU": "Australia",
    "NZ": "New Zealand", "DE": "Germany", "AT": "Austria", "CH": "Switzerland", "FR": "France",
    "BE": "Belgium", "NL": "Netherlands", "LU": "Luxembourg", "ES": "Spain", "PT": "Portugal",
    "IT": "Italy", "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland", "PL": "Poland",
    "CZ": "Czechia", "MX": "Mexico", "BR": "Brazil", "AR": "Argentina", "IN": "India", "SG": "Singapore",
    "JP": "Japan", "AE": "United Arab Emirates", "ZA": "South Africa", "IL": "Israel",
}
# fmt: on


@dataclass(frozen=True)
class Upload:
    """A file waiting between the wizard's steps, and what the user said about it."""

    token: str
    path: Path
    file_name: str
    list_name: str
    region: str

    @property
    def options(self) -> ImportOptions:
        return ImportOptions(list_name=self.list_name or None, default_region=self.region or None)


def _uploads(scope: PageScope) -> Path:
    return Path(scope.app.settings.data_dir) / "uploads" / str(scope.workspace_id)


def _sweep(directory: Path) -> None:
    """Remove uploads abandoned between preview and run, so the data directory does not fill up."""
    cutoff = time.time() - STALE_SECONDS
    for entry in directory.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # another request may sweep at the same time
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()


def _save(scope: PageScope, source: UploadFile, list_name: str, region: str) -> str:
    """Copy an uploaded file into the workspace's uploads; returns its token."""
    # Some browsers send a whole path as the name; only its last part is kept, and only to show.
    name = PurePosixPath((source.filename or "").replace("\\", "/")).name[:FILE_NAME_MAX]
    extension = PurePosixPath(name).suffix.lower()
    if not name:
        raise InvalidInput("Choose a file to import.")
    if extension not in EXTENSIONS:
        raise InvalidInput(
            f"{name}: leadwell imports {', '.join(EXTENSIONS)} files; save it as one of those."
        )
    directory = _uploads(scope)
    directory.mkdir(parents=True, exist_ok=True)
    _sweep(directory)
    token = secrets.token_hex(16)
    target = directory / f"{token}{extension}"
    with target.open("wb") as handle:
        # Starlette spooled the upload to a temporary file; copying it in blocks keeps memory flat.
        shutil.copyfileobj(source.file, handle, COPY_BLOCK)
        size = handle.tell()
    if size == 0:
        target.unlink()
        raise InvalidInput(f"{name} is empty: choose the file with your contacts in it.")
    meta = {"file_name": name, "list_name": list_name, "region": region, "extension": extension}
    (directory / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def _load(scope: PageScope, token: str) -> Upload:
    """The upload behind ``token`` if this workspace made it; else a 404 page."""
    missing = HTTPException(404, "No such upload in this workspace (was it imported already?).")
    if not TOKEN.fullmatch(token):
        raise missing
    directory = _uploads(scope)
    try:
        meta = json.loads((directory / f"{token}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise missing from None
    path = directory / f"{token}{meta.get('extension')}"
    if meta.get("extension") not in EXTENSIONS or not path.is_file():
        raise missing
    return Upload(token, path, meta["file_name"], meta["list_name"], meta["region"])


def _page(
    request: Request, scope: PageScope, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(request, template, status, scope=scope, active="contacts_list", **context)


def _start_page(request: Request, scope: PageScope, error: str = "", **form: str) -> HTMLResponse:
    """The upload form (422 when ``error`` says why the last upload was refused) and recent imports."""
    with scope.db.session() as session:
        recent = session.scalars(
            select(Import)
            .where(Import.workspace_id == scope.workspace_id)
            .order_by(Import.id.desc())
            .limit(RECENT_IMPORTS)
        ).all()
    limit = scope.app.settings.max_upload_bytes
    size = f"{limit / 2**20:,.0f} MiB" if limit >= 2**20 else f"{limit / 1024:,.0f} KiB"
    fixed = {"accept": ",".join(EXTENSIONS), "regions": REGIONS, "list_name_max": LIST_NAME_MAX}
    context: dict[str, Any] = {
        "error": error,
        "form": form,
        "max_size": size,
        "max_bytes": limit,
        "recent": recent,
    }
    return _page(request, scope, "imports/start.html", 422 if error else 200, **context, **fixed)


@router.get("/contacts/import", name="import_start")
def import_start(request: Request, scope: Page) -> HTMLResponse:
    """The upload form and the workspace's recent imports."""
    return _start_page(request, scope)


@router.post("/contacts/import", name="import_upload", response_model=None)
def import_upload(
    request: Request,
    scope: Page,
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form()] = "",
    list_name: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Keep the uploaded file on disk, then show its preview. (This path alone takes bodies up to
    ``max_upload_bytes``; the size guard in front answers 413 above that.)"""
    check_csrf(request, csrf_token)
    list_name = list_name.strip()
    try:
        if len(list_name) > LIST_NAME_MAX:
            raise InvalidInput(f"List name: at most {LIST_NAME_MAX} characters.")
        if region and region not in REGIONS:
            raise InvalidInput("Default country: choose one from the list.")
        if file is None:
            raise InvalidInput("Choose a file to import.")
        token = _save(scope, file, list_name, region)
    except InvalidInput as refused:  # the form again, with the reason
        return _start_page(request, scope, refused.detail, list_name=list_name, region=region)
    url = request.app.url_path_for("import_preview", token=token)
    return RedirectResponse(str(url), status_code=303)


# --- preview ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the file: its header, the targets offered for it, the automatic one and the chosen."""

    index: int
    header: str
    choices: dict[str, str]
    auto: str
    chosen: str


def _columns(auto: Mapping, headers: list[str], chosen: dict[int, str]) -> list[Column]:
    """Every column with the user's choice (an unknown choice falls back to the automatic one)."""
    customs = {t.removeprefix("custom:") for t in auto.columns.values() if t.startswith("custom:")}
    known = {key: label for key, label in TARGETS.items() if key != "ignore"}
    columns = []
    for index, header in enumerate(headers):
        guess = auto.columns.get(header, "ignore")
        custom = guess if guess.startswith("custom:") else f"custom:{custom_name(header, customs, index)}"
        choices = {**known, custom: f"Custom field “{custom[7:]}”", "ignore": TARGETS["ignore"]}
        choice = chosen.get(index, guess)
        columns.append(Column(index, header, choices, guess, choice if choice in choices else guess))
    return columns


def _conflict(columns: list[Column]) -> str:
    """Why the choices cannot stand together: a field that takes one column, chosen for two."""
    owner: dict[str, str] = {}
    for column in columns:
        first = owner.setdefault(column.chosen, column.header)
        if first != column.header and column.chosen not in SHARED_TARGETS:
            label = column.choices[column.chosen]
            return f"“{label}” is chosen for both “{first}” and “{column.header}”: keep it for one column."
    return ""


@dataclass(frozen=True)
class Plan:
    """A file read for the wizard: as auto-mapped (raw rows, what was detected), its columns with the
    user's choices, and the cleaned rows those give (None when the choices conflict: see ``error``)."""

    auto: Preview
    columns: list[Column]
    options: ImportOptions
    preview: Preview | None = None
    error: str = ""

    @property
    def identifies(self) -> bool:
        """Whether some column identifies a person (else the import would refuse to start)."""
        return self.preview is None or identifies_a_person(self.preview.mapping)


def _plan(upload: Upload, chosen: dict[int, str]) -> Plan:
    """Read the upload (raises :class:`UnreadableFile`) and apply the chosen mapping to its first rows.

    The choices travel as ``Header=target`` overrides of the columns that differ from the automatic
    mapping, as ``leadwell import contacts --map`` takes them, so web and CLI imports agree."""
    auto = preview_file(upload.path, upload.options)
    columns = _columns(auto.mapping, auto.headers, chosen)
    overrides = tuple(f"{c.header}={c.chosen}" for c in columns if c.chosen != c.auto)
    plan = Plan(auto, columns, replace(upload.options, overrides=overrides))
    if conflict := _conflict(columns):
        return replace(plan, error=conflict)
    if not overrides:
        return replace(plan, preview=auto)
    try:
        return replace(plan, preview=preview_file(upload.path, plan.options))
    except InvalidInput as refused:
        return replace(plan, error=_plain(refused.detail, upload))


def _plain(detail: str, upload: Upload) -> str:
    """A message for the page: without the CLI's field prefix ("--map: ", "file: "), and naming the
    file as the user knows it rather than by its token."""
    plain = re.sub(r"^(--map|--sheet|file): |; use --map .*$", "", detail)
    return plain.replace(upload.path.name, upload.file_name)


@dataclass(frozen=True)
class MappingForm:
    """A posted mapping form: its CSRF token and the ``column-<n>`` choices."""

    csrf_token: str | None
    chosen: dict[int, str]


async def mapping_form(request: Request) -> MappingForm:
    """Parse the form here (it is async) so that the routes run, blocking, in a worker thread."""
    form = await request.form()
    token = form.get("csrf_token")
    chosen = {}
    for key, value in form.multi_items():
        if key.startswith("column-") and key[7:].isdigit() and isinstance(value, str):
            chosen[int(key[7:])] = value
    return MappingForm(token if isinstance(token, str) else None, chosen)


Chosen = Annotated[MappingForm, Depends(mapping_form)]


def _unreadable(request: Request, scope: PageScope, upload: Upload, error: InvalidInput) -> HTMLResponse:
    message = _plain(error.detail, upload)
    return _page(request, scope, "imports/unreadable.html", 422, file_name=upload.file_name, message=message)


def _preview_page(
    request: Request, scope: PageScope, upload: Upload, chosen: dict[int, str], failed: str = ""
) -> HTMLResponse:
    """The whole preview page; ``failed`` says why an import just refused to run (422)."""
    try:
        plan = _plan(upload, chosen)
    except InvalidInput as unreadable:
        return _unreadable(request, scope, upload, unreadable)
    region = REGIONS.get(upload.region, "none")
    context: dict[str, Any] = {"upload": upload, "plan": plan, "failed": failed, "region_label": region}
    return _page(request, scope, "imports/preview.html", 422 if failed else 200, **context)


@router.get("/contacts/import/{token}", name="import_preview")
def import_preview(request: Request, scope: Page, token: str) -> HTMLResponse:
    """The file as leadwell reads it: detected format, raw rows, mapping choices, cleaned rows."""
    return _preview_page(request, scope, _load(scope, token), {})


@router.post("/contacts/import/{token}/preview", name="import_repreview")
def import_repreview(request: Request, scope: Page, token: str, form: Chosen) -> HTMLResponse:
    """The cleaned preview under the posted mapping: the partial for htmx, else the whole page."""
    check_csrf(request, form.csrf_token or request.headers.get("X-CSRF-Token"))
    upload = _load(scope, token)
    if request.headers.get("HX-Request") != "true":
        return _preview_page(request, scope, upload, form.chosen)
    try:
        plan = _plan(upload, form.chosen)
    except InvalidInput as unreadable:
        return _unreadable(request, scope, upload, unreadable)
    return render(request, "imports/_cleaned.html", scope=scope, workspaces=[], plan=plan)


# --- run (the summary it leads to: import_summary_pages) -------------------------------------------


@router.post("/contacts/import/{token}/run", name="import_run", response_model=None)
def import_run(request: Request, scope: Page, token: str, form: Chosen) -> HTMLResponse | RedirectResponse:
    """Import the file with the chosen mapping, then drop the upload and show the summary.

    This runs synchronously in the request's worker thread: fine for files of tens of thousands of
    rows (seconds). Bigger files should become a job for ``leadwell worker`` with a progress page; the
    pipeline already commits chunk by chunk and resumes, so only that hand-off is missing."""
    check_csrf(request, form.csrf_token)
    upload = _load(scope, token)
    try:
        plan = _plan(upload, form.chosen)
    except InvalidInput as unreadable:
        return _unreadable(request, scope, upload, unreadable)
    if plan.error:
        return _preview_page(request, scope, upload, form.chosen, plan.error)
    try:
        import_id = _import(scope, upload, plan.options)
    except InvalidInput as refused:  # e.g. no column identifies a person
        return _preview_page(request, scope, upload, form.chosen, _plain(refused.detail, upload))
    url = request.app.url_path_for("import_summary", import_id=str(import_id))
    return RedirectResponse(str(url), status_code=303)


def _import(scope: PageScope, upload: Upload, options: ImportOptions) -> int:
    """Import an upload, then drop it; returns the import's id.

    The file is claimed first by moving it aside (a rename is atomic), so a second click on Import
    cannot run the same file twice at once. If the import fails, the file goes back: another try
    resumes after the last committed chunk."""
    claimed = upload.path.parent / "running" / upload.path.name
    claimed.parent.mkdir(exist_ok=True)
    try:
        upload.path.rename(claimed)
    except FileNotFoundError:
        raise HTTPException(409, "This file is being imported already: see the recent imports.") from None
    try:
        summary = import_file(
            scope.db, scope.workspace_id, claimed, options, file_name=upload.file_name, user_id=scope.user.id
        )
    except BaseException:
        claimed.rename(upload.path)
        raise
    claimed.unlink()
    upload.path.with_suffix(".json").unlink(missing_ok=True)
    assert summary.import_id is not None
    return summary.import_id
