"""The verdict sentence in each of its forms, and the statistic that decides it."""

from __future__ import annotations

import dataclasses

import pytest

from leadwell.errors import InvalidInput
from leadwell.experiments.bayes import Bayesian
from leadwell.experiments.frequentist import Frequentist
from leadwell.experiments.sequential import Sequential
from leadwell.experiments.stats import Counts, Wording, bayesian, frequentist, sequential, verdict
from leadwell.experiments.verdict import percent, round_significant, significant

MEETINGS = Wording(noun="meetings booked")
REPLIES = Wording(noun="replies")
REVENUE = Wording(noun="revenue", kind="revenue", currency="EUR")
UNSUBSCRIBES = Wording(noun="unsubscribes", higher_is_better=False)

FREQUENTIST = Frequentist(
    control_rate=0.040,
    variant_rate=0.052,
    difference=0.012,
    difference_low=0.002,
    difference_high=0.022,
    relative=0.3,
    relative_low=0.05,
    relative_high=0.55,
    p_value=0.02,
    significant=True,
    alpha=0.05,
    statistic=2.3,
    degrees_of_freedom=None,
)
BAYESIAN = Bayesian(
    chance_to_beat=0.97,
    expected_loss=0.001,
    expected_loss_control=0.0125,
    difference_low=0.002,
    difference_high=0.022,
    relative_low=0.05,
    relative_high=0.55,
    control_mean=0.04,
    variant_mean=0.052,
)
SEQUENTIAL = Sequential(
    p_value=0.03,
    difference=0.012,
    difference_low=0.001,
    difference_high=0.023,
    conclusive=True,
    alpha=0.05,
    planned_units=4000,
    mixing_variance=1e-4,
    p_values=(0.5, 0.03),
)
UNDECIDED = dataclasses.replace(SEQUENTIAL, p_value=0.4, conclusive=False, difference_low=-0.01)


def test_variant_wins() -> None:
    result = verdict(
        "A",
        "B",
        MEETINGS,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        exposed=(4000, 4010),
    )
    assert result.sentence == (
        "B beats A on meetings booked with 97% probability; "
        "expected loss if wrong: 0.1 meetings booked per 100 leads."
    )
    assert (result.outcome, result.decision, result.winner) == ("variant_wins", "B beats A", "B")
    assert str(result) == result.sentence


def test_control_wins() -> None:
    worse = dataclasses.replace(SEQUENTIAL, difference=-0.012)
    chance = dataclasses.replace(
        BAYESIAN, chance_to_beat=0.02, expected_loss=0.0034, expected_loss_control=0.0002
    )
    result = verdict(
        "A", "B", REPLIES, frequentist=FREQUENTIST, bayesian=chance, sequential=worse, exposed=(900, 880)
    )
    # Keeping A costs E[max(B − A, 0)] = 0.0002 per lead: 0.02 replies per 100 leads.
    assert result.sentence == (
        "A beats B on replies with 98% probability; expected loss if wrong: 0.02 replies per 100 leads."
    )
    assert (result.outcome, result.decision, result.winner) == ("control_wins", "A beats B", "A")


def test_no_difference_yet_says_how_far_the_plan_is() -> None:
    chance = dataclasses.replace(BAYESIAN, chance_to_beat=0.62)
    result = verdict(
        "A",
        "B",
        REPLIES,
        frequentist=FREQUENTIST,
        bayesian=chance,
        sequential=UNDECIDED,
        exposed=(1960, 1941),
        units_needed=3841,
        minimum_effect=0.2,
    )
    # 3,841 − 1,941 = 1,900 more per variant.
    assert result.sentence == (
        "No difference yet: B vs A on replies, 62% probability B is better; "
        "about 1,900 more leads per variant to tell a 20% lift."
    )
    assert (result.outcome, result.decision, result.winner) == ("no_difference", "no difference yet", None)
    done = verdict(
        "A",
        "B",
        REPLIES,
        frequentist=FREQUENTIST,
        bayesian=chance,
        sequential=UNDECIDED,
        exposed=(4000, 3900),
        units_needed=3841,
        minimum_effect=0.2,
    )
    assert done.sentence.endswith(
        "; the planned 3,841 leads per variant are in, so any lift is likely under 20%."
    )
    plain = verdict(
        "A", "B", REPLIES, frequentist=FREQUENTIST, bayesian=chance, sequential=UNDECIDED, exposed=(500, 500)
    )
    assert plain.sentence == "No difference yet: B vs A on replies, 62% probability B is better."


def test_too_early() -> None:
    result = verdict(
        "A",
        "B",
        MEETINGS,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        exposed=(40, 380),
    )
    assert result.sentence == "Too early: fewer than 100 exposed per variant (40 on A, 380 on B so far)."
    assert (result.outcome, result.winner) == ("too_early", None)
    later = verdict(
        "A",
        "B",
        MEETINGS,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        exposed=(400, 380),
        minimum_units=500,
    )
    assert later.sentence.startswith("Too early: fewer than 500 exposed per variant")


def test_split_mismatch_overrides_everything() -> None:
    result = verdict(
        "A",
        "B",
        MEETINGS,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        exposed=(4000, 3000),
        sample_ratio_mismatch=True,
    )
    assert result.outcome == "mismatch" and result.sentence.startswith("Split mismatch:")


def test_revenue_losses_read_in_currency_per_unit() -> None:
    money = dataclasses.replace(BAYESIAN, expected_loss=0.4234)
    result = verdict(
        "A", "B", REVENUE, frequentist=FREQUENTIST, bayesian=money, sequential=SEQUENTIAL, exposed=(900, 900)
    )
    assert (
        result.sentence
        == "B beats A on revenue with 97% probability; expected loss if wrong: 0.42 EUR per lead."
    )
    unknown = dataclasses.replace(BAYESIAN, expected_loss=None)
    bare = verdict(
        "A",
        "B",
        REVENUE,
        frequentist=FREQUENTIST,
        bayesian=unknown,
        sequential=SEQUENTIAL,
        exposed=(900, 900),
    )
    assert bare.sentence == "B beats A on revenue with 97% probability."


def test_lower_is_better_reverses_the_direction() -> None:
    # Unsubscribes rose in B (difference > 0): A wins; P(B better) = 1 − 0.97.
    result = verdict(
        "A",
        "B",
        UNSUBSCRIBES,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        exposed=(900, 900),
    )
    assert result.outcome == "control_wins"
    # Keeping A when B were better costs E[max(A − B, 0)] = expected_loss = 0.001: 0.1 per 100.
    assert result.sentence == (
        "A beats B on unsubscribes with 97% probability; "
        "expected loss if wrong: 0.1 unsubscribes per 100 leads."
    )


@pytest.mark.parametrize(
    ("statistic", "p_value", "outcome"),
    [
        ("sequential", None, "variant_wins"),  # sequential p 0.03
        ("sequential", 0.06, "no_difference"),  # Holm-adjusted across variants
        ("frequentist", None, "variant_wins"),  # p 0.02
        ("frequentist", 0.09, "no_difference"),
        ("bayesian", None, "variant_wins"),  # 97 % ≥ 95 %
    ],
)
def test_the_experiments_statistic_decides(statistic: str, p_value: float | None, outcome: str) -> None:
    result = verdict(
        "A",
        "B",
        MEETINGS,
        frequentist=FREQUENTIST,
        bayesian=BAYESIAN,
        sequential=SEQUENTIAL,
        statistic=statistic,
        p_value=p_value,
        exposed=(900, 900),
    )
    assert result.outcome == outcome


def test_bayesian_needs_the_chance_past_one_minus_alpha() -> None:
    unsure = dataclasses.replace(BAYESIAN, chance_to_beat=0.93)
    decide = {
        "frequentist": FREQUENTIST,
        "sequential": SEQUENTIAL,
        "statistic": "bayesian",
        "exposed": (900, 900),
    }
    assert verdict("A", "B", MEETINGS, bayesian=unsure, **decide).outcome == "no_difference"  # type: ignore[arg-type]
    assert verdict("A", "B", MEETINGS, bayesian=unsure, alpha=0.1, **decide).outcome == "variant_wins"  # type: ignore[arg-type]
    low = dataclasses.replace(BAYESIAN, chance_to_beat=0.01)
    assert verdict("A", "B", MEETINGS, bayesian=low, **decide).outcome == "control_wins"  # type: ignore[arg-type]


def test_from_real_counts() -> None:
    control, variant = Counts(4000, 400), Counts(4000, 480)
    looks = [(Counts(2000, 200), Counts(2000, 240)), (control, variant)]
    result = verdict(
        "Short subject",
        "Question subject",
        REPLIES,
        frequentist=frequentist(control, variant),
        bayesian=bayesian(control, variant),
        sequential=sequential(looks, planned_units=4000),
        statistic="frequentist",
        exposed=(4000, 4000),
    )
    assert result.outcome == "variant_wins"
    assert result.sentence.startswith(
        "Question subject beats Short subject on replies with >99% probability;"
    )


def test_bad_statistic_or_missing_sequential_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        verdict(
            "A",
            "B",
            MEETINGS,
            frequentist=FREQUENTIST,
            bayesian=BAYESIAN,
            statistic="magic",
            exposed=(900, 900),
        )
    assert error.value.field == "statistic"
    with pytest.raises(InvalidInput) as error:
        verdict("A", "B", MEETINGS, frequentist=FREQUENTIST, bayesian=BAYESIAN, exposed=(900, 900))
    assert error.value.field == "sequential"


def test_number_formats() -> None:
    assert [percent(value) for value in (0.9996, 0.004, 0.62, 0.5)] == [">99%", "<1%", "62%", "50%"]
    assert percent(0.2, bounded=False) == "20%"
    assert [significant(value) for value in (0.1, 0.0342, 1.25, 12.4, 1234.5, 0.0)] == [
        "0.1",
        "0.034",
        "1.2",
        "12",
        "1,234",
        "0",
    ]
    assert [round_significant(count) for count in (1873, 87, 12345, 0, 5)] == [1900, 87, 12000, 0, 5]
