"""Goal verdicts: real change against max(MCID, noise), worked cases and properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepath.domain.config.models import Config, Measure, Threshold
from carepath.domain.goals.progress import (
    Goal,
    Reading,
    band,
    change_between,
    default_target,
    history,
    parse_value,
    verdict_for,
)
from carepath.errors import InputError

T0 = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


def _readings(*values: float) -> list[Reading]:
    return [Reading(v, T0 + timedelta(days=7 * (i + 1)), i + 1) for i, v in enumerate(values)]


def _verdict(measure: Measure, baseline: float, *values: float, kind: str = "mcid") -> str:
    goal = Goal("m", baseline, default_target(measure, baseline, kind), kind)  # type: ignore[arg-type]
    return verdict_for(measure, goal, _readings(*values))


@pytest.mark.parametrize(("before", "after", "verdict"), [
    (10.0, 8.5, "no_change"),   # 15 %: inside the 20 % MCID
    (10.0, 7.9, "achieved"),    # 21 %: beyond the default target of 8.0 s
    (10.0, 12.5, "worsening"),  # 25 % slower
])
def test_t25fw_counts_only_changes_of_twenty_percent(config: Config, before: float,
                                                     after: float, verdict: str) -> None:
    """T25FW 10.0 s → 8.5 s is no change (15 %); → 7.9 s is a real improvement (21 %)."""
    assert _verdict(config.measures["t25fw"], before, after) == verdict


def test_t25fw_improvement_short_of_an_explicit_target_is_improving(config: Config) -> None:
    """10.0 s → 7.9 s improves by 21 %; with a target of 6 s the goal is improving."""
    goal = Goal("t25fw", 10.0, 6.0, "value")
    assert verdict_for(config.measures["t25fw"], goal, _readings(7.9)) == "improving"
    assert change_between(config.measures["t25fw"], 10.0, 7.9) == "better"


def test_berg_needs_three_points(config: Config) -> None:
    """Berg 40 → 42 is no change; 40 → 43 is a real improvement."""
    berg = config.measures["bbs"]
    assert change_between(berg, 40, 42) == "none"
    assert change_between(berg, 40, 43) == "better"
    assert _verdict(berg, 40, 42) == "no_change"
    assert verdict_for(berg, Goal("bbs", 40, 50, "value"), _readings(43)) == "improving"


def test_mfis_drop_of_ten_points_is_below_noise(config: Config) -> None:
    """An MFIS drop of 10 points is past the MCID (4) but below noise (20.2): no change."""
    mfis = config.measures["mfis"]
    assert change_between(mfis, 50, 40) == "none"
    assert _verdict(mfis, 50, 40) == "no_change"


def test_six_minute_walk_worsens_at_its_own_threshold(config: Config) -> None:
    """6MWT: −8 m is a real worsening (7.2 m) though +8 m is no real improvement (19.7 m)."""
    walk = config.measures["6mwt"]
    assert change_between(walk, 300, 292) == "worse"
    assert change_between(walk, 300, 308) == "none"


def test_ashworth_is_compared_by_level(config: Config) -> None:
    """Modified Ashworth 1 → 1+ is one grade worse; 2 → 1+ one grade better."""
    mas = config.measures["mas"]
    one, _ = parse_value("mas", mas, "1")
    one_plus, raw = parse_value("mas", mas, "1+")
    two, _ = parse_value("mas", mas, "2")
    assert raw == "1+" and (one, one_plus, two) == (1.0, 2.0, 3.0)
    assert change_between(mas, one, one_plus) == "worse"
    assert change_between(mas, two, one_plus) == "better"
    assert default_target(mas, two, "mcid") == one_plus


@pytest.mark.parametrize(("measure", "value"), [
    ("t25fw", "0"), ("t25fw", "900"), ("bbs", "57"), ("bbs", "-1"), ("bbs", "nan"),
    ("bbs", "forty"), ("mas", "5"), ("mas", "1.5"),
])
def test_values_outside_a_measure_are_refused(config: Config, measure: str, value: str) -> None:
    """A T25FW of 0 s or 900 s, a Berg of 57 or an Ashworth of 1.5 is a typo, refused."""
    with pytest.raises(InputError):
        parse_value(measure, config.measures[measure], value)


def test_maintain_goal_is_achieved_until_a_real_worsening(config: Config) -> None:
    """A "maintain" goal is met by a plateau and fails only on a real worsening."""
    walk = config.measures["6mwt"]
    assert _verdict(walk, 300, 301, kind="maintain") == "achieved"
    assert _verdict(walk, 300, 290, kind="maintain") == "worsening"


def test_a_goal_without_follow_up_is_pending(config: Config) -> None:
    """Only the baseline: nothing to judge yet."""
    assert _verdict(config.measures["bbs"], 40) == "pending"


def test_plateau_keeps_its_anchor_until_a_real_change(config: Config) -> None:
    """Creeping by 1 point a review resets the anchor only once 3 points have accrued."""
    berg = config.measures["bbs"]
    points = history(berg, Goal("bbs", 40, 50, "value"), _readings(41, 42, 43, 44))
    assert [p.since_anchor for p in points] == ["none", "none", "better", "none"]
    assert points[3].anchor == points[2].reading


def test_band_is_the_no_change_zone_around_a_value(config: Config) -> None:
    """The 6MWT band around 300 m runs from 292.8 m to 319.7 m."""
    low, high = band(config.measures["6mwt"], 300)
    assert (round(low, 1), round(high, 1)) == (292.8, 319.7)


def _measure(better: str, kind: str, size: float, noise: float | None = None) -> Measure:
    return Measure(name="x", unit="u", better=better, min=0, max=1_000_000,  # type: ignore[arg-type]
                   mcid=Threshold(value=size, kind=kind),  # type: ignore[arg-type]
                   noise=Threshold(value=noise, kind=kind) if noise else None)  # type: ignore[arg-type]


values = st.floats(min_value=10, max_value=1000, allow_nan=False)
kinds = st.sampled_from(["absolute", "percent"])
sizes = st.floats(min_value=0.5, max_value=50)
directions = st.sampled_from(["higher", "lower"])
FLIP = {"higher": "lower", "lower": "higher"}
SIGN = {"achieved": 1, "improving": 1, "no_change": 0, "worsening": -1}


@settings(deadline=None)  # a shared 2-core machine: time is not the property
@given(directions, kinds, sizes, values, st.floats(min_value=0, max_value=0.999))
def test_a_change_inside_the_threshold_is_never_a_verdict(
        better: str, kind: str, size: float, baseline: float, fraction: float) -> None:
    """Any change smaller than the threshold is neither improving nor worsening."""
    measure = _measure(better, kind, size)
    step = (size if kind == "absolute" else baseline * size / 100) * fraction
    for later in (baseline + step, baseline - step):
        assert change_between(measure, baseline, later) == "none"
        # "achieved" only where the target is clamped to the end of the scale
        assert _verdict(measure, baseline, later) in {"no_change", "achieved"}


@settings(deadline=None)  # a shared 2-core machine: time is not the property
@given(directions, kinds, sizes, values, values)
def test_flipping_the_direction_flips_the_verdict(
        better: str, kind: str, size: float, baseline: float, later: float) -> None:
    """The same two values read with the opposite better direction mirror the verdict."""
    verdict = _verdict(_measure(better, kind, size), baseline, later)
    flipped = _verdict(_measure(FLIP[better], kind, size), baseline, later)
    assert SIGN[flipped] == -SIGN[verdict]
    mirrored = change_between(_measure(FLIP[better], kind, size), baseline, later)
    assert {"better": "worse", "worse": "better", "none": "none"}[mirrored] == change_between(
        _measure(better, kind, size), baseline, later)


@settings(deadline=None)  # a shared 2-core machine: time is not the property
@given(directions, kinds, sizes, values, st.lists(values, max_size=5), st.floats(0, 3))
def test_a_sequence_reaching_its_target_is_achieved(
        better: str, kind: str, size: float, baseline: float, middle: list[float],
        beyond: float) -> None:
    """A latest reading at or past the target is achieved — unless it is a real worsening
    from a better value reached on the way (a goal met and then lost is not achieved)."""
    measure = _measure(better, kind, size, noise=size / 2)
    target = default_target(measure, baseline, "mcid")
    last = target + beyond if better == "higher" else max(target - beyond, 0)
    lost = any(change_between(measure, earlier, last) == "worse"
               for earlier in (baseline, *middle, *middle[-1:]))
    assert _verdict(measure, baseline, *middle, last) == ("worsening" if lost else "achieved")
