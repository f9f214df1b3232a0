"""One plain sentence that says what a comparison means, and the short decision behind it.

The deciding statistic (the experiment's ``statistic``) says whether there is a winner; the sentence
always reads in probabilities and losses, which people weigh better than p-values:

- "B beats A on meetings booked with 97% probability; expected loss if wrong: 0.1 meetings booked
  per 100 leads."
- "A beats B on replies with 98% probability; expected loss if wrong: 0.3 replies per 100 leads."
- "No difference yet: B vs A on replies, 62% probability B is better; about 1,900 more leads per
  variant to tell a 20% lift."
- "Too early: fewer than 100 exposed per variant (40 on A, 38 on B so far)."
- "Split mismatch: the units did not reach the variants in the proportions of their weights, so no
  verdict can be trusted until the cause is found."
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from leadwell.errors import InvalidInput
from leadwell.experiments.arms import JsonReady
from leadwell.experiments.bayes import Bayesian
from leadwell.experiments.frequentist import Frequentist
from leadwell.experiments.sequential import Sequential

STATISTICS = ("sequential", "frequentist", "bayesian")
OUTCOMES = ("variant_wins", "control_wins", "no_difference", "too_early", "mismatch")


@dataclass(frozen=True)
class Wording:
    """How the metric and the units read in a sentence."""

    noun: str  # "meetings booked", "revenue"
    kind: str = "conversion"  # or "revenue"
    unit: str = "lead"  # one unit, then several
    units: str = "leads"
    per: int = 100  # conversion losses read per this many units
    currency: str = ""  # revenue losses read in this currency ("EUR")
    higher_is_better: bool = True


@dataclass(frozen=True)
class Verdict(JsonReady):
    """The outcome code, the short decision ("B beats A") and the sentence."""

    outcome: str  # one of OUTCOMES
    decision: str
    sentence: str
    winner: str | None  # the name of the better arm when there is one

    def __str__(self) -> str:
        return self.sentence


def verdict(
    control_name: str,
    variant_name: str,
    wording: Wording,
    *,
    frequentist: Frequentist,
    bayesian: Bayesian,
    sequential: Sequential | None = None,
    statistic: str = "sequential",
    alpha: float = 0.05,
    p_value: float | None = None,
    exposed: tuple[int, int],
    minimum_units: int = 100,
    units_needed: int | None = None,
    minimum_effect: float | None = None,
    sample_ratio_mismatch: bool = False,
) -> Verdict:
    """The verdict on ``variant_name`` against ``control_name``.

    ``statistic`` decides: a p-value below ``alpha`` (``p_value`` when given, e.g. Holm-adjusted
    across variants; else the statistic's own), or for ``bayesian`` a chance to be better of at least
    1 − alpha either way. ``exposed`` is (control, variant) exposed units; below ``minimum_units`` on
    either side it is too early. ``units_needed`` and ``minimum_effect`` (the plan) say how far a
    "no difference yet" is from its answer."""
    if sample_ratio_mismatch:
        return Verdict("mismatch", "split mismatch", _MISMATCH, None)
    if min(exposed) < minimum_units:
        sentence = (
            f"Too early: fewer than {minimum_units:,} exposed per variant "
            f"({exposed[0]:,} on {control_name}, {exposed[1]:,} on {variant_name} so far)."
        )
        return Verdict("too_early", "too early", sentence, None)
    better = chance_better(bayesian, wording.higher_is_better)
    winner = _winner(frequentist, bayesian, sequential, statistic, alpha, p_value, wording.higher_is_better)
    if winner is None:
        sentence = (
            f"No difference yet: {variant_name} vs {control_name} on {wording.noun}, "
            f"{percent(better)} probability {variant_name} is better"
            f"{_remaining(units_needed, minimum_effect, min(exposed), wording)}."
        )
        return Verdict("no_difference", "no difference yet", sentence, None)
    names = (variant_name, control_name) if winner == "variant" else (control_name, variant_name)
    chance = better if winner == "variant" else 1 - better
    loss = _loss_if_wrong(bayesian, winner, wording)
    sentence = f"{names[0]} beats {names[1]} on {wording.noun} with {percent(chance)} probability{loss}."
    outcome = "variant_wins" if winner == "variant" else "control_wins"
    return Verdict(outcome, f"{names[0]} beats {names[1]}", sentence, names[0])


_MISMATCH = (
    "Split mismatch: the units did not reach the variants in the proportions of their weights, "
    "so no verdict can be trusted until the cause is found."
)


def chance_better(bayesian: Bayesian, higher_is_better: bool) -> float:
    """The posterior probability that the variant is the better arm for this metric."""
    return bayesian.chance_to_beat if higher_is_better else 1 - bayesian.chance_to_beat


def _winner(
    frequentist: Frequentist,
    bayesian: Bayesian,
    sequential: Sequential | None,
    statistic: str,
    alpha: float,
    p_value: float | None,
    higher_is_better: bool,
) -> str | None:
    """``"variant"``, ``"control"`` or ``None`` by the deciding statistic."""
    if statistic not in STATISTICS:
        raise InvalidInput(f"one of {', '.join(STATISTICS)} (got {statistic!r})", field="statistic")
    if statistic == "bayesian":
        better = chance_better(bayesian, higher_is_better)
        return "variant" if better >= 1 - alpha else "control" if better <= alpha else None
    if statistic == "sequential":
        if sequential is None:
            raise InvalidInput("the sequential result is needed to decide by it", field="sequential")
        own, difference = sequential.p_value, sequential.difference
    else:
        own, difference = frequentist.p_value, frequentist.difference
    if (own if p_value is None else p_value) >= alpha or not difference:
        return None
    return "variant" if (difference > 0) == higher_is_better else "control"


def _loss_if_wrong(bayesian: Bayesian, winner: str, wording: Wording) -> str:
    """ "; expected loss if wrong: …" in the metric's own terms, or nothing when undefined."""
    choose_variant = bayesian.expected_loss if wording.higher_is_better else bayesian.expected_loss_control
    keep_control = bayesian.expected_loss_control if wording.higher_is_better else bayesian.expected_loss
    loss = choose_variant if winner == "variant" else keep_control
    if loss is None:
        return ""
    if wording.kind == "revenue":
        amount = f"{loss:,.2f} {wording.currency}".strip()
        return f"; expected loss if wrong: {amount} per {wording.unit}"
    amount = significant(loss * wording.per)
    return f"; expected loss if wrong: {amount} {wording.noun} per {wording.per:,} {wording.units}"


def _remaining(
    units_needed: int | None, minimum_effect: float | None, smallest: int, wording: Wording
) -> str:
    """How far the experiment is from telling the planned lift, when there is a plan."""
    if units_needed is None or minimum_effect is None:
        return ""
    lift = percent(minimum_effect, bounded=False)
    more = units_needed - smallest
    if more > 0:
        return f"; about {round_significant(more):,} more {wording.units} per variant to tell a {lift} lift"
    planned = f"{units_needed:,} {wording.units}"
    return f"; the planned {planned} per variant are in, so any lift is likely under {lift}"


def percent(value: float, *, bounded: bool = True) -> str:
    """A share as a whole percentage; with ``bounded``, never "0%" or "100%" (">99%", "<1%")."""
    if bounded and value >= 0.995:
        return ">99%"
    if bounded and value < 0.005:
        return "<1%"
    return f"{round(value * 100):,}%"


def significant(value: float, digits: int = 2) -> str:
    """A small positive number to ``digits`` significant digits, without exponent: 0.1, 0.034, 12, 1,234."""
    if value == 0 or not math.isfinite(value):
        return "0"
    if abs(value) >= 10 ** (digits - 1):
        return f"{round(value):,}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):.{decimals}f}".rstrip("0").rstrip(".")


def round_significant(count: int, digits: int = 2) -> int:
    """A count rounded to ``digits`` significant digits (1,873 → 1,900), at least 1."""
    if count <= 0:
        return 0
    scale = int(10 ** max(len(str(count)) - digits, 0))
    return max(1, int(round(count / scale)) * scale)
