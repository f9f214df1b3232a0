"""Run the benchmarks: ``python -m bench.run [--scale quick|full|<float>] [--only NAME] [--database ...]``.

Prints a table and writes every record to a JSON file. Exit code 0 when every benchmark ran (whether
or not its targets were met: this reports, it does not gate), 1 when one crashed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.databases import DatabaseTarget, targets
from bench.harness import DEFAULT_SEED, Benchmark, Context, discover, run_benchmark

SCALES = {"quick": 0.05, "full": 1.0}
DEFAULT_OUTPUT = Path(__file__).parent / "results.json"


def parse_scale(text: str) -> float:
    """``quick``, ``full`` or a positive factor of the full sizes."""
    if text in SCALES:
        return SCALES[text]
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quick, full or a positive number, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"the scale must be a positive number, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        default="quick",
        help=f"quick (x{SCALES['quick']} of full), full (the sizes the issues name) or a factor of full; "
        "default quick",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these benchmarks (repeat or a,b)",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres", "all"),
        default="all",
        help="all: SQLite, plus PostgreSQL when LEADWELL_BENCH_DATABASE_URL or "
        "LEADWELL_TEST_DATABASE_URL is set (default all)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the generated data")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser


def select(registry: dict[str, Benchmark], only: list[str]) -> dict[str, Benchmark]:
    """The benchmarks named by ``--only`` (all when none); raises KeyError naming an unknown one."""
    names = [name.strip() for value in only for name in value.split(",") if name.strip()]
    for name in names:
        if name not in registry:
            raise KeyError(name)
    return {name: function for name, function in registry.items() if not names or name in names}


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def format_table(records: list[dict[str, Any]]) -> str:
    """A plain-text table of the records, one line each."""
    header = ("benchmark", "database", "value", "baseline", "ratio", "target", "met")
    rows = [
        (
            r["name"],
            r["database"],
            f"{_number(r['value'])} {r['unit']}",
            f"{_number(r['baseline'])} {r['unit']}",
            f"{r['ratio']:.3f}",
            ("≥ " if r["better"] == "higher" else "≤ ") + f"{r['target']:g}",
            "yes" if r["met"] else "NO",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def metadata(scale_text: str, scale: float, seed: int, databases: list[DatabaseTarget]) -> dict[str, Any]:
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "scale": scale,
        "scale_name": scale_text if scale_text in SCALES else "custom",
        "seed": seed,
        "databases": [target.name for target in databases],
    }


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_all(
    chosen: dict[str, Benchmark], databases: list[DatabaseTarget], scale: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Run each benchmark on each database; a crash is recorded and the others still run."""
    records: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="leadwell-bench-") as workdir:
        for name, function in chosen.items():
            for target in databases:
                _log(f"running {name} on {target.name} (scale {scale:g}) ...")
                started = time.perf_counter()
                try:
                    records.extend(run_benchmark(function, Context(scale, target, Path(workdir), seed)))
                except Exception as error:
                    _log(traceback.format_exc())
                    errors.append({"name": name, "database": target.name, "error": repr(error)})
                _log(f"  done in {time.perf_counter() - started:.1f}s")
    return records, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    registry = discover()
    if args.list:
        print("\n".join(registry))
        return 0
    try:
        scale = parse_scale(args.scale)
        chosen = select(registry, args.only)
        databases = targets(args.database)
    except argparse.ArgumentTypeError as error:
        parser.error(f"--scale: {error}")
    except KeyError as error:
        parser.error(f"--only: unknown benchmark {error.args[0]!r}; known: {', '.join(registry)}")
    except ValueError as error:
        parser.error(str(error))
    if args.database == "all" and len(databases) == 1:
        _log(
            "PostgreSQL skipped: set LEADWELL_BENCH_DATABASE_URL or LEADWELL_TEST_DATABASE_URL to measure it"
        )
    records, errors = run_all(chosen, databases, scale, args.seed)
    output = {"meta": metadata(args.scale, scale, args.seed, databases), "results": records, "errors": errors}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2) + "\n")
    print(format_table(records))
    unmet = sum(not record["met"] for record in records)
    print(f"\n{len(records)} measures, {unmet} below target; written to {args.output}")
    for failure in errors:
        print(f"FAILED {failure['name']} on {failure['database']}: {failure['error']}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
