"""The benchmark registry, the context each benchmark receives, and the measures it returns.

A benchmark is a function registered under a name with :func:`benchmark`. It receives a
:class:`Context` (scale, database under test, a way to get fresh migrated databases) and returns
:class:`Measure` objects, each with a baseline measured in the same run on the same machine.
Modules named ``bench/bench_*.py`` are imported by :func:`discover`, so adding a file adds a benchmark.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.databases import DatabaseTarget, fresh_database

Better = Literal["higher", "lower"]
DEFAULT_SEED = 20260101


@dataclass(frozen=True)
class Measure:
    """One figure and its same-run baseline.

    ``target`` is a threshold on ``ratio = value / baseline``: when ``better`` is ``"higher"`` (a rate)
    the target is met when ``ratio >= target``; when ``"lower"`` (a latency) when ``ratio <= target``.
    """

    name: str
    value: float
    unit: str
    baseline: float
    target: float
    better: Better = "higher"

    @property
    def ratio(self) -> float:
        return self.value / self.baseline

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.better == "higher" else self.ratio <= self.target

    def record(self, database: str) -> dict[str, Any]:
        """The JSON record written to the results file."""
        return {
            "name": self.name,
            "database": database,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "better": self.better,
            "met": self.met,
        }


@dataclass(frozen=True)
class Context:
    """What a benchmark is given: how big to go, which database, and where to put files."""

    scale: float
    target: DatabaseTarget
    workdir: Path
    seed: int = DEFAULT_SEED

    @property
    def database(self) -> str:
        """The database's label in results: ``sqlite`` or ``postgres``."""
        return self.target.name

    @property
    def dialect(self) -> str:
        return self.target.dialect

    @property
    def url(self) -> str | None:
        """The server URL for PostgreSQL (fresh schemas are made inside it); None for SQLite."""
        return self.target.url

    def size(self, full: int, minimum: int = 1) -> int:
        """``full`` (the size the issue names) multiplied by the scale, at least ``minimum``."""
        return max(minimum, round(full * self.scale))

    def fresh_database(self) -> AbstractContextManager[str]:
        """A new, empty, migrated database of this kind; yields its URL and removes it afterwards."""
        return fresh_database(self.target, self.workdir)


Benchmark = Callable[[Context], Iterable[Measure]]
REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register the decorated function as the benchmark ``name``."""

    def register(function: Benchmark) -> Benchmark:
        if name in REGISTRY and REGISTRY[name] is not function:
            raise ValueError(f"benchmark {name!r} is registered twice")
        REGISTRY[name] = function
        return function

    return register


def discover() -> dict[str, Benchmark]:
    """Import every ``bench/bench_*.py`` module and return the registry, by name."""
    package = Path(__file__).parent
    for module in pkgutil.iter_modules([str(package)]):
        if module.name.startswith("bench_"):
            importlib.import_module(f"bench.{module.name}")
    return dict(sorted(REGISTRY.items()))


def run_benchmark(function: Benchmark, context: Context) -> Iterator[dict[str, Any]]:
    """Run one benchmark on one database and yield its records."""
    for measure in function(context):
        yield measure.record(context.database)
