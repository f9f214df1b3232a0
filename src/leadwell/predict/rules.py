"""Ideal-client discovery: short, readable rules that tell the wins apart from the rest.

A rule is a conjunction of at most three conditions (:mod:`leadwell.predict.conditions`), such as
``employees ≥ 100 and roi_months ≤ 3``. For each, :class:`Rule` reports its support (share of all
rows matched), coverage (share of the wins matched), precision (share of its rows that are wins),
lift (precision over the base rate) and a 95 % Wilson interval of the precision.

**Usefulness**, by which rules are ranked, is a conservative weighted relative accuracy:
``support × (low − base rate)``, with ``low`` the lower end of the precision's 95 % Wilson interval.
Weighted relative accuracy (support × (precision − base rate)) counts the wins a rule finds beyond
what the same number of leads picked at random would find, so it favours neither tiny rules with a
lucky precision nor rules that match everyone; the interval's lower end makes a rule over a few
dozen rows pay for its uncertainty.

**The search** is a beam search. Every single condition is scored; the best few (at most three
testing the same column the same way, so one strong column's thresholds do not crowd out every
other idea) are extended by one more condition, the best of those by a third. An extension is kept
only when it raises the usefulness and raises the precision beyond the shorter rule's with 95 %
confidence, so no condition rides along without earning its place, and a last pass drops any
condition whose removal would not make the rule worse. Trying hundreds of conditions, some beat the
base rate by luck, so a rule is shown only if its precision does even under a Bonferroni bound over
every rule tried. Among the rest, a rule matching nearly the same rows as a better one, or testing
the same columns the same way with other thresholds, is dropped. Ties are broken by the number of
conditions and then the text: the result is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from leadwell.errors import InvalidInput
from leadwell.predict.conditions import Bits, Candidate, Condition, candidate_conditions, count, pack
from leadwell.predict.features import Feature
from leadwell.predict.table import Table

Z95 = NormalDist().inv_cdf(0.975)
# A rule with this share of its rows inside a better rule's says nothing new unless surely more precise.
DUPLICATE_OVERLAP = 0.9
# Places in the beam (and the final pool) for rules testing the same columns the same way.
PER_SHAPE = 3
Shape = frozenset[tuple[str, str]]
Counts = NDArray[np.int64]


@dataclass(frozen=True)
class MiningOptions:
    """How hard to search and what counts as a rule worth showing."""

    max_conditions: int = 3
    beam_width: int = 24
    top: int = 10
    min_support: float = 0.02  # a rule must match at least this share of all rows…
    min_positives: int = 5  # …and at least this many wins
    quantiles: tuple[float, ...] = tuple(step / 20 for step in range(1, 20))
    max_values: int = 20  # frequent values tried per categorical column


@dataclass(frozen=True)
class Rule:
    """A rule and what it matched: ``rows`` of ``total_rows``, ``positives`` of ``total_positives``."""

    conditions: tuple[Condition, ...]
    rows: int
    positives: int
    total_rows: int
    total_positives: int

    @property
    def text(self) -> str:
        return " and ".join(condition.text for condition in self.conditions)

    @property
    def support(self) -> float:
        """Share of all rows the rule matches."""
        return self.rows / self.total_rows

    @property
    def coverage(self) -> float:
        """Share of all wins the rule matches ("78 % of wins")."""
        return self.positives / self.total_positives

    @property
    def precision(self) -> float:
        """Share of the matched rows that are wins."""
        return self.positives / self.rows if self.rows else 0.0

    @property
    def base_rate(self) -> float:
        return self.total_positives / self.total_rows

    @property
    def lift(self) -> float:
        """How many times more often a matched row is a win than any row."""
        return self.precision / self.base_rate

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the precision."""
        return wilson_interval(self.positives, self.rows)

    @property
    def usefulness(self) -> float:
        return usefulness(self.positives, self.rows, self.total_positives, self.total_rows)

    def summary(self) -> str:
        """ "employees ≥ 100 and roi_months ≤ 3: 31 % of leads, 78 % of wins, precision 0.41
        (0.35–0.47), lift 2.5"."""
        low, high = self.interval
        return (
            f"{self.text}: {percent(self.support)} of leads, {percent(self.coverage)} of wins, "
            f"precision {self.precision:.2f} ({low:.2f}–{high:.2f}), lift {self.lift:.1f}"
        )


@dataclass(frozen=True)
class Mined:
    """The rules found, best first, and the rows and wins they were found among."""

    rules: list[Rule]
    rows: int
    positives: int

    @property
    def base_rate(self) -> float:
        return self.positives / self.rows


def percent(share: float) -> str:
    """ "31 %"; shares under one percent keep a decimal ("0.4 %")."""
    value = 100 * share
    return f"{value:.1f} %" if 0 < value < 1 else f"{value:.0f} %"


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default); (0, 1) without trials."""
    if trials == 0:
        return 0.0, 1.0
    low, high = _wilson(np.array([successes]), np.array([trials]), z)
    return float(low[0]), float(high[0])


def _wilson(k: Counts, n: Counts, z: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson intervals of arrays of (successes, trials); (0, 1) where there are no trials."""
    trials = np.maximum(n, 1).astype(np.float64)
    share = k / trials
    zz = z * z
    scale = 1 + zz / trials
    centre = (share + zz / (2 * trials)) / scale
    half = z * np.sqrt(share * (1 - share) / trials + zz / (4 * trials * trials)) / scale
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def usefulness(positives: int, rows: int, total_positives: int, total_rows: int) -> float:
    """support × (lower end of the precision's 95 % Wilson interval − base rate)."""
    return float(_usefulness(np.array([positives]), np.array([rows]), total_positives, total_rows)[0])


def _usefulness(k: Counts, n: Counts, total_k: int, total_n: int) -> NDArray[np.float64]:
    low = _wilson(k, n, Z95)[0]
    return np.where(n > 0, n / total_n * (low - total_k / total_n), -np.inf)


def corrected_z(tests: int) -> float:
    """The two-sided 95 % z for ``tests`` rules tried at once (Bonferroni)."""
    return NormalDist().inv_cdf(1 - 0.025 / max(tests, 1))


def check_labels(labels: Sequence[int]) -> tuple[int, int]:
    """(rows, positives) of 0/1 labels; :class:`InvalidInput` when there is nothing to tell apart."""
    rows, positives = len(labels), sum(1 for label in labels if label == 1)
    if rows == 0:
        raise InvalidInput("file: no rows to learn from", field="file")
    if positives in (0, rows):
        which = "wins" if positives == 0 else "other outcomes"
        raise InvalidInput(f"target: there are no {which}: rules need both", field="target")
    return rows, positives


# --- the search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """A rule during the search: its candidates' positions, its rows as bits, its counts."""

    members: tuple[int, ...]
    bits: Bits
    rows: int
    positives: int
    score: float


@dataclass
class _Search:
    candidates: list[Candidate]
    matrix: Bits  # a row of words per candidate
    wins: Bits
    total_rows: int
    total_positives: int
    options: MiningOptions
    seen: set[frozenset[int]] = field(default_factory=set)
    tried: int = 0  # rules evaluated, for the multiple-testing bound

    @property
    def base_rate(self) -> float:
        return self.total_positives / self.total_rows

    def evaluate(self, base: Bits | None) -> tuple[Bits, Counts, Counts, NDArray[np.float64]]:
        """Every candidate ANDed with ``base`` (alone when None): bits, rows, wins, usefulness."""
        joined = self.matrix if base is None else self.matrix & base
        rows, positives = count(joined), count(joined & self.wins)
        self.tried += len(self.candidates)
        return joined, rows, positives, _usefulness(positives, rows, self.total_positives, self.total_rows)

    def valid(self, rows: Counts, positives: Counts) -> NDArray[np.bool_]:
        least = max(1, math.ceil(self.options.min_support * self.total_rows))
        return (rows >= least) & (positives >= self.options.min_positives)

    def compatible(self, members: tuple[int, ...], index: int) -> bool:
        """A condition may join a rule unless the rule tests its column already — except a number's
        other bound, which makes a range (``≥ 10 and ≤ 50``)."""
        new = self.candidates[index].condition
        for member in members:
            old = self.candidates[member].condition
            if old.column != new.column:
                continue
            if not (self.candidates[index].numeric and {old.op, new.op} == {"gte", "lte"}):
                return False
            low, high = (old.value, new.value) if old.op == "gte" else (new.value, old.value)
            if not (isinstance(low, float) and isinstance(high, float) and low < high):
                return False
        return True

    def shape(self, found: _Found) -> Shape:
        """What a rule tests, thresholds aside: ``{("employees", "gte"), ("roi_months", "lte")}``."""
        return frozenset(
            (self.candidates[i].condition.column, self.candidates[i].condition.op) for i in found.members
        )

    def text(self, found: _Found) -> str:
        return " and ".join(self.candidates[i].condition.text for i in found.members)


def _first_level(search: _Search) -> tuple[list[_Found], list[_Found]]:
    """Single conditions: those worth ranking, and the seeds of longer rules (any condition with
    enough rows and more than its share of wins: two that each say little may together say much)."""
    joined, rows, positives, scores = search.evaluate(None)
    chosen = search.valid(rows, positives) & (positives > rows * search.base_rate)
    seeds = [
        _Found((int(i),), joined[i], int(rows[i]), int(positives[i]), float(scores[i]))
        for i in np.flatnonzero(chosen)
    ]
    search.seen.update(frozenset(seed.members) for seed in seeds)
    return [seed for seed in seeds if seed.score > 0], seeds


def _extend(search: _Search, rule: _Found) -> list[_Found]:
    """The rule with one more condition, wherever that raises its usefulness, and its precision
    with 95 % confidence (a column of noise trimming a few unlucky rows raises it, but not surely)."""
    joined, rows, positives, scores = search.evaluate(rule.bits)
    better = search.valid(rows, positives) & (scores > rule.score)
    better &= _wilson(positives, rows, Z95)[0] > rule.positives / rule.rows
    found = []
    for index in (int(i) for i in np.flatnonzero(better)):
        members = tuple(sorted((*rule.members, index)))
        if frozenset(members) in search.seen or not search.compatible(rule.members, index):
            continue
        search.seen.add(frozenset(members))
        found.append(
            _Found(members, joined[index], int(rows[index]), int(positives[index]), float(scores[index]))
        )
    return found


def _best(search: _Search, found: list[_Found], limit: int, per_shape: int = PER_SHAPE) -> list[_Found]:
    """The ``limit`` best, at most ``per_shape`` of each shape; ties go to fewer conditions, then
    to the text."""
    ranked = sorted(found, key=lambda f: (-f.score, len(f.members), search.text(f)))
    chosen: list[_Found] = []
    taken: Counter[Shape] = Counter()
    for rule in ranked:
        shape = search.shape(rule)
        if taken[shape] < per_shape:
            taken[shape] += 1
            chosen.append(rule)
            if len(chosen) == limit:
                break
    return chosen


def _beam(search: _Search) -> list[_Found]:
    """The rules worth ranking: the best of each length, each length grown from the last's best."""
    options = search.options
    keep = max(options.beam_width, 5 * options.top)
    shown, seeds = _first_level(search)
    pool = _best(search, shown, keep)
    beam = _best(search, seeds, options.beam_width)
    for _ in range(1, options.max_conditions):
        level = [extended for rule in beam for extended in _extend(search, rule)]
        pool.extend(_best(search, level, keep))
        beam = _best(search, level, options.beam_width)
    return pool


def _simplified(search: _Search, rule: _Found) -> _Found:
    """The rule without any condition whose removal leaves it as useful, or as surely precise."""
    if len(rule.members) == 1:
        return rule
    low, _ = wilson_interval(rule.positives, rule.rows)
    for member in rule.members:
        rest = tuple(m for m in rule.members if m != member)
        bits = search.matrix[rest[0]]
        for other in rest[1:]:
            bits = bits & search.matrix[other]
        rows, positives = int(count(bits)), int(count(bits & search.wins))
        score = usefulness(positives, rows, search.total_positives, search.total_rows)
        if score >= rule.score or low <= positives / rows:
            return _simplified(search, _Found(rest, bits, rows, positives, score))
    return rule


def _beats_chance(search: _Search, rule: _Found, z: float) -> bool:
    low = _wilson(np.array([rule.positives]), np.array([rule.rows]), z)[0]
    return bool(low[0] > search.base_rate)


def _says_more(search: _Search, rule: _Found, kept: list[_Found]) -> bool:
    """Whether ``rule`` adds to the better rules kept: it tests other columns or directions than
    each ("employees ≥ 60" after "employees ≥ 100" would fill the list with one finding), and where
    it adds conditions to one, or has nearly all its rows inside one's, it is surely more precise
    (otherwise it narrows that rule without finding more)."""
    shape = search.shape(rule)
    low, _ = wilson_interval(rule.positives, rule.rows)
    for other in kept:
        other_shape = search.shape(other)
        if shape == other_shape:
            return False
        narrower = other_shape < shape or int(count(rule.bits & other.bits)) >= DUPLICATE_OVERLAP * rule.rows
        if narrower and low <= other.positives / other.rows:
            return False
    return True


def _distinct(search: _Search, ranked: list[_Found]) -> list[_Found]:
    """The best ``top`` rules, each saying more than the better ones before it."""
    kept: list[_Found] = []
    for rule in ranked:
        if _says_more(search, rule, kept):
            kept.append(rule)
            if len(kept) == search.options.top:
                break
    return kept


def mine_rules(
    table: Table, labels: Sequence[int], features: Sequence[Feature], options: MiningOptions | None = None
) -> Mined:
    """The best rules of at most ``options.max_conditions`` conditions telling the rows labelled 1
    (won) apart from the rest, by usefulness. :class:`InvalidInput` without rows, or without both
    labels."""
    options = options or MiningOptions()
    rows, positives = check_labels(labels)
    found = candidate_conditions(table, features, options.quantiles, options.max_values)
    if not found.items:
        return Mined([], rows, positives)
    wins = pack(np.asarray(labels) == 1)
    search = _Search(found.items, found.matrix, wins, rows, positives, options)
    simplified: dict[tuple[int, ...], _Found] = {}
    for rule in _beam(search):
        simple = _simplified(search, rule)
        simplified.setdefault(simple.members, simple)
    z = corrected_z(search.tried)
    sure = [rule for rule in simplified.values() if _beats_chance(search, rule, z)]
    ranked = _best(search, sure, len(sure), per_shape=len(sure))
    return Mined([_rule(search, rule) for rule in _distinct(search, ranked)], rows, positives)


def _rule(search: _Search, found: _Found) -> Rule:
    conditions = tuple(search.candidates[i].condition for i in found.members)
    return Rule(conditions, found.rows, found.positives, search.total_rows, search.total_positives)
