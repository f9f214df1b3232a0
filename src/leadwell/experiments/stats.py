"""The statistics of experiments in one place: pure functions over counts and sums.

Each lives in a small module beside this one; this module is the one others import from.

- ``frequentist``: two-sided z-test (conversions) or Welch's t-test (revenue) with intervals of the
  absolute and relative difference; ``holm`` adjusts several variants' p-values against one control.
- ``bayesian``: chance to beat the control, expected losses, credible intervals.
- ``sequential``: the mixture SPRT, valid however often it is looked at.
- ``sample_ratio``: did the split follow the weights?
- ``plan_sample_size`` / ``plan_minimum_effect``: units needed, and what the units can detect.
- ``thompson_shares``: the bandit's share of new units per arm.
- ``verdict``: one sentence and the decision behind it.
"""

from __future__ import annotations

from leadwell.experiments.allocation import thompson_shares
from leadwell.experiments.arms import Arm, Counts, Sums
from leadwell.experiments.bayes import Bayesian, bayesian
from leadwell.experiments.frequentist import Frequentist, frequentist, holm
from leadwell.experiments.planning import plan_minimum_effect, plan_sample_size
from leadwell.experiments.sample_ratio import SampleRatio, sample_ratio
from leadwell.experiments.sequential import Sequential, sequential
from leadwell.experiments.verdict import Verdict, Wording, verdict

__all__ = [
    "Arm",
    "Bayesian",
    "Counts",
    "Frequentist",
    "SampleRatio",
    "Sequential",
    "Sums",
    "Verdict",
    "Wording",
    "bayesian",
    "frequentist",
    "holm",
    "plan_minimum_effect",
    "plan_sample_size",
    "sample_ratio",
    "sequential",
    "thompson_shares",
    "verdict",
]
