"""The engine for people who only have spreadsheets: train on a CSV file, score another one.

Training reads a file with one row per past lead and a target column; every other column (but the
ids named) is a feature, numeric or categorical as inferred unless overridden. The model is stored
as a new version of the workspace's models (source ``csv``), never active: the call queue only
reads models trained on the workspace's own history. Scoring writes every input row back, as it
was, with ``probability``, ``rank`` (1 = most likely) and ``reasons`` added.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from leadwell.errors import InvalidInput, NotFound
from leadwell.predict import engine
from leadwell.predict.artifact import dump, load
from leadwell.predict.design import read_values
from leadwell.predict.features import infer_features_explained
from leadwell.predict.reasons import contributions, words
from leadwell.predict.table import Table, read_csv_table, write_csv_table
from leadwell.predict.train_workspace import model_by_version, next_version

SOURCE = "csv"
ADDED_COLUMNS = ("probability", "rank", "reasons")
REASONS_PER_ROW = 3
MAX_LABEL = 200  # the length of a model's name, target and positive value in the database
STORE_ATTEMPTS = 3  # another training may take the next version number first


@dataclass
class CsvTraining:
    """A model trained from a file, stored; with what was left out of it."""

    model: PredictiveModel
    skipped_columns: dict[str, str] = field(default_factory=dict)  # column -> why it is no feature
    blank_targets: int = 0  # rows without a target value, left out


@dataclass
class CsvScoring:
    """A scored file's content and the model version that scored it."""

    content: bytes
    version: int
    rows: int


def read_file(path: Path, option: str = "FILE") -> tuple[bytes, str]:
    """A file's bytes and name; :class:`InvalidInput` when it cannot be read."""
    try:
        return path.read_bytes(), path.name
    except OSError as error:
        raise InvalidInput(f"{option}: cannot read {path}: {error.strerror}", field=option) from None


def write_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder, so that a failure
    never leaves half a file."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as error:
        raise InvalidInput(f"--out: cannot write in {folder}: {error.strerror}", field="--out") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def find_column(table: Table, name: str, option: str) -> str:
    """The table's column called ``name`` (case aside); :class:`InvalidInput` naming the option."""
    for column in table.columns:
        if column == name:
            return column
    for column in table.columns:
        if column.casefold() == name.strip().casefold():
            return column
    shown = ", ".join(table.columns[:12]) + (" …" if len(table.columns) > 12 else "")
    raise InvalidInput(f"{option} {name}: the file has no column of this name (it has {shown})", field=name)


def target_labels(table: Table, target: str, positive: str) -> tuple[list[int], list[int]]:
    """(labels, positions): 1 where ``target`` holds ``positive`` (spaces and case aside), 0 for any
    other value; rows with a blank target are left out of ``positions``.

    Raises :class:`InvalidInput` when every row has the same value, or none has ``positive``."""
    at = table.index(target)
    wanted = positive.strip().casefold()
    labels: list[int] = []
    positions: list[int] = []
    seen: Counter[str] = Counter()
    for position, row in enumerate(table.rows):
        cell = (row[at] or "").strip()
        if not cell:
            continue
        seen[cell] += 1
        labels.append(1 if cell.casefold() == wanted else 0)
        positions.append(position)
    values = ", ".join(repr(value) for value, _count in seen.most_common(8))
    if len({value.casefold() for value in seen}) < 2:
        only = f"the value {values}" if seen else "no value at all"
        raise InvalidInput(
            f"--target {target}: every row has {only}; a model needs rows of both outcomes", field=target
        )
    if not any(labels):
        raise InvalidInput(
            f"--positive {positive}: no row has this value in {target} (its values: {values})",
            field="positive",
        )
    return labels, positions


def train_csv(
    db: Database,
    workspace_id: int,
    content: bytes,
    name: str,
    target: str,
    positive: str,
    *,
    id_columns: Sequence[str] = (),
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    by_user_id: int | None = None,
    seed: int = 0,
) -> CsvTraining:
    """Train on a file and store the model as the workspace's next version (never active).

    Raises :class:`InvalidInput` (the CLI's exit code 2) for an unreadable or empty file, an unknown
    target, id or override column, a single-class target, an unknown positive value, and
    :class:`~leadwell.predict.engine.TooFewOutcomes` under 30 positives; nothing is stored then."""
    table = read_csv_table(content, name)
    target = find_column(table, target, "--target")
    ids = [find_column(table, column, "--id-column") for column in id_columns]
    labels, positions = target_labels(table, target, positive)
    _check_lengths(target=target, positive=positive)
    _require_enough(labels, target, positive)
    rows = table.subset(positions)
    features, skipped = infer_features_explained(rows, [target, *ids], numeric, categorical)
    if not features:
        raise InvalidInput(f"file: {name} has no column to learn from besides {target}", field="file")
    trained = engine.train(rows, labels, features, seed=seed)
    spec = {
        "features": [{"name": feature.name, "kind": feature.kind} for feature in features],
        "target": target,
        "positive": positive,
        "id_columns": ids,
        "columns": table.columns,
        "skipped": skipped,
    }
    model = PredictiveModel(
        workspace_id=workspace_id,
        source=SOURCE,
        name=name[:MAX_LABEL],
        target=target,
        positive=positive,
        status="ready",
        algorithm=trained.algorithm,
        rows=len(labels),
        positives=sum(labels),
        metrics=trained.metrics,
        spec=spec,
        artifact=dump(trained),
        active=False,
        trained_by_id=by_user_id,
    )
    return CsvTraining(_store(db, workspace_id, model), skipped, len(table.rows) - len(positions))


def _require_enough(labels: list[int], target: str, positive: str) -> None:
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives < engine.MIN_POSITIVES:
        raise engine.TooFewOutcomes(positives, negatives, field=target, what=f"rows are {positive}")
    if negatives < engine.MIN_NEGATIVES:
        raise engine.TooFewOutcomes(positives, negatives, field=target, what=f"rows are not {positive}")


def _check_lengths(**labels: str) -> None:
    for what, text in labels.items():
        if len(text) > MAX_LABEL:
            raise InvalidInput(f"{what}: at most {MAX_LABEL} characters (got {len(text)})", field=what)


def _store(db: Database, workspace_id: int, model: PredictiveModel) -> PredictiveModel:
    """Insert with the next free version, retrying when a concurrent training took it first."""
    for attempt in range(STORE_ATTEMPTS):
        try:
            with db.session() as session:
                model.version = next_version(session, workspace_id)
                session.add(model)
                session.flush()
                session.expunge(model)
                return model
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
            model = _copy(model)
    raise AssertionError("unreachable")


def _copy(model: PredictiveModel) -> PredictiveModel:
    """A fresh, unsaved row with the same values (a rolled-back insert leaves the object unusable)."""
    columns = PredictiveModel.__table__.columns.keys()
    return PredictiveModel(**{name: getattr(model, name) for name in columns if name != "id"})


def scoring_model(session: Session, workspace_id: int, version: int | None) -> PredictiveModel:
    """The model ``version``, or the latest ready model trained from a file."""
    if version is not None:
        model = model_by_version(session, workspace_id, version)
    else:
        found = session.scalars(
            select(PredictiveModel)
            .where(
                PredictiveModel.workspace_id == workspace_id,
                PredictiveModel.source == SOURCE,
                PredictiveModel.status == "ready",
            )
            .order_by(PredictiveModel.version.desc())
            .limit(1)
        ).first()
        if found is None:
            raise NotFound(
                "version: no model trained from a file in this workspace yet: run "
                "`leadwell model train --from FILE.csv --target COLUMN --positive VALUE` first",
                field="version",
            )
        model = found
    if model.status != "ready" or model.artifact is None:
        raise InvalidInput(
            f"version: version {model.version} is not ready ({model.message or model.status})",
            field="version",
        )
    return model


def score_csv(
    db: Database, workspace_id: int, content: bytes, name: str, version: int | None = None
) -> CsvScoring:
    """Every row of the file with ``probability``, ``rank`` (1 = most likely) and ``reasons`` added,
    written the way the file was (delimiter, quoting, column order).

    Raises :class:`InvalidInput` naming a feature column the file lacks, or a column already called
    ``probability``, ``rank`` or ``reasons``."""
    with db.session() as session:
        model = scoring_model(session, workspace_id, version)
        number, artifact = model.version, model.artifact
    assert artifact is not None  # scoring_model checked
    table = read_csv_table(content, name)
    taken = [column for column in table.columns if column.casefold() in ADDED_COLUMNS]
    if taken:
        raise InvalidInput(
            f"{taken[0]}: the file already has a column of this name (a scored file?); rename or remove it",
            field=taken[0],
        )
    trained = load(artifact)
    values = read_values(table, trained.features)
    raw = engine.raw_scores(trained, values)
    probabilities = engine.calibrated_probabilities(trained.estimator, trained.choice, raw)
    said = words(trained, table, contributions(trained, values, raw), REASONS_PER_ROW)
    order = np.argsort(-probabilities, kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    rows: list[list[str | None]] = [
        [*row, f"{p:.4f}", str(rank), "; ".join(reasons)]
        for row, p, rank, reasons in zip(
            table.rows, probabilities.tolist(), ranks.tolist(), said, strict=True
        )
    ]
    scored = Table([*table.columns, *ADDED_COLUMNS], rows, table.lines, table.format)
    return CsvScoring(write_csv_table(scored), number, len(rows))
