"""Goals and outcome measures: is a change real, and where does each goal stand?

A change between two values counts only when it is at least max(MCID, noise threshold),
each taken absolute in the measure's unit or as a percent of the *earlier* value
(``config/measures.yaml``). A worsening uses ``worsening_mcid`` when the measure has one
(the 6-Minute Walk: +19.7 m to improve, −7.2 m to worsen). Ordinal scales such as the
Modified Ashworth (0, 1, 1+, 2, 3, 4) are compared by level index, so "1" → "1+" is one step.
A measure with neither MCID nor noise threshold counts every non-zero change: carepath
cannot tell noise from signal there, and asking a clinician to look is the safe side.

A goal's verdict, from its baseline and the readings after it (oldest first):
``achieved`` (the latest reading meets the target), else ``worsening`` (a real worsening
against the previous reading or the baseline), else ``improving`` (a real improvement on the
baseline), else ``no_change``; ``pending`` until the first reading after the baseline.
A "maintain" goal is achieved while nothing has really worsened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from carepath.domain.config.models import Measure, Threshold
from carepath.errors import InputError

Verdict = Literal["pending", "achieved", "improving", "no_change", "worsening", "flagged",
                  "unrated"]
Change = Literal["better", "worse", "none"]
TargetKind = Literal["mcid", "maintain", "value"]

# Float arithmetic must not turn an exact MCID (10.0 s → 8.0 s is 20 %) into "just short".
_EPSILON = 1e-9


@dataclass(frozen=True)
class Goal:
    """One goal of an episode: a measure, its baseline, a target and a due date."""

    measure_id: str
    baseline: float | None
    target: float | None
    target_kind: TargetKind = "mcid"
    due: date | None = None
    baseline_at: datetime | None = None  # readings up to this instant are not reviews

    def reviews(self, readings: Sequence[Reading]) -> list[Reading]:
        """The readings taken after the baseline, oldest first."""
        after = [r for r in readings if self.baseline_at is None or r.at > self.baseline_at]
        return sorted(after, key=lambda r: r.at)


@dataclass(frozen=True)
class Reading:
    """One measurement: the value (a level index for ordinal scales) and when it was taken."""

    value: float
    at: datetime
    ident: int | None = None


@dataclass(frozen=True)
class Point:
    """A goal's state at one review (one reading after the baseline)."""

    reading: Reading
    verdict: Verdict
    since_anchor: Change  # against the last reading that changed for real (or the baseline)
    anchor: Reading | None  # None: the baseline is the anchor


def threshold_amount(threshold: Threshold | None, earlier: float) -> float:
    """The size of ``threshold`` in the measure's unit, for a change from ``earlier``."""
    if threshold is None:
        return 0.0
    if threshold.kind == "percent":
        return abs(earlier) * threshold.value / 100
    return threshold.value


def improvement_threshold(measure: Measure, earlier: float) -> float:
    """The smallest real improvement from ``earlier``: max(MCID, noise)."""
    return max(threshold_amount(measure.mcid, earlier), threshold_amount(measure.noise, earlier))


def worsening_threshold(measure: Measure, earlier: float) -> float:
    """The smallest real worsening from ``earlier``: max(worsening MCID or MCID, worsening
    noise or noise) — the TUG's noise is −23 % one way and +31 % the other."""
    mcid = measure.worsening_mcid or measure.mcid
    noise = measure.worsening_noise or measure.noise
    return max(threshold_amount(mcid, earlier), threshold_amount(noise, earlier))


def for_stratum(measure: Measure, edss: float | None) -> Measure:
    """The measure with its thresholds for the patient's disability stratum (EDSS ≤ 4 or
    > 4) where the configuration gives one; unchanged without an EDSS or a stratum."""
    if edss is None or not measure.strata:
        return measure
    stratum = measure.strata.get("edss_4_or_less" if edss <= 4 else "edss_above_4")
    if stratum is None:
        return measure
    changes = {k: v for k, v in (("mcid", stratum.mcid), ("noise", stratum.noise),
                                 ("worsening_mcid", stratum.worsening_mcid)) if v is not None}
    return measure.model_copy(update=changes)


def signed_gain(measure: Measure, earlier: float, later: float) -> float:
    """How much better ``later`` is than ``earlier`` (negative when worse)."""
    return later - earlier if measure.better == "higher" else earlier - later


def change_between(measure: Measure, earlier: float, later: float) -> Change:
    """Whether going from ``earlier`` to ``later`` is a real improvement, a real worsening,
    or inside the threshold."""
    gain = signed_gain(measure, earlier, later)
    if gain > 0 and _reaches(gain, improvement_threshold(measure, earlier)):
        return "better"
    if gain < 0 and _reaches(-gain, worsening_threshold(measure, earlier)):
        return "worse"
    return "none"


def _reaches(size: float, threshold: float) -> bool:
    return size >= threshold - _EPSILON * max(1.0, abs(threshold))


def band(measure: Measure, around: float) -> tuple[float, float]:
    """The values (low, high) that are no real change from ``around``."""
    up, down = improvement_threshold(measure, around), worsening_threshold(measure, around)
    if measure.better == "higher":
        return around - down, around + up
    return around - up, around + down


def bounds(measure: Measure) -> tuple[float, float]:
    """The valid range; ordinal scales run from level index 0 to the last level."""
    if measure.scale == "ordinal":
        return 0.0, float(len(measure.levels) - 1)
    assert measure.min is not None and measure.max is not None  # checked when loaded
    return measure.min, measure.max


def default_target(measure: Measure, baseline: float, kind: TargetKind) -> float:
    """"mcid": the baseline improved by the real-change threshold; "maintain": the baseline."""
    if kind == "maintain":
        return baseline
    step = improvement_threshold(measure, baseline)
    if measure.scale == "ordinal":
        step = float(max(1, math.ceil(step - _EPSILON)))
    low, high = bounds(measure)
    wanted = baseline + step if measure.better == "higher" else baseline - step
    return min(max(wanted, low), high)


def meets(measure: Measure, value: float, target: float) -> bool:
    """True when ``value`` is at the target or beyond it in the better direction."""
    return signed_gain(measure, target, value) >= -_EPSILON * max(1.0, abs(target))


def parse_value(measure_id: str, measure: Measure, text: str | float) -> tuple[float, str]:
    """A typed value → (stored value, as typed); ordinal levels become their index.

    Rejects values outside the measure's range (a T25FW of 0 s or 900 s is a typo) and,
    on ordinal scales, anything that is not one of the levels.
    """
    raw = str(text).strip()
    if raw.startswith("\u2212"):  # a typographic minus, pasted from a document
        raw = "-" + raw[1:]
    if measure.scale == "ordinal":
        if raw not in measure.levels:
            raise InputError(f"{measure_id} value {raw!r}", "not a level of " + measure.name,
                             "use one of " + ", ".join(measure.levels))
        return float(measure.levels.index(raw)), raw
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{measure_id} value {raw!r}", "not a number",
                         f"give the value in {measure.unit}") from None
    low, high = bounds(measure)
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{measure_id} value {raw!r}",
                         f"outside the valid range {low:g}–{high:g} {measure.unit}",
                         "check for a typo or a wrong unit")
    if measure.whole_numbers and value != int(value):
        raise InputError(f"{measure_id} value {raw!r}",
                         f"{measure.name} is scored in whole {measure.unit}",
                         f"give a whole number, e.g. {math.floor(value):g}")
    return value, raw


def show_value(measure: Measure, value: float | None) -> str:
    """A stored value as a clinician reads it: the level name on ordinal scales."""
    if value is None:
        return ""
    if measure.scale == "ordinal":
        index = int(round(value))
        return measure.levels[index] if 0 <= index < len(measure.levels) else f"{value:g}"
    return f"{value:g}"


def best_value(measure: Measure, baseline: float, readings: Sequence[Reading]) -> float:
    """The best value reached: the baseline or any reading, in the better direction."""
    values = [baseline, *(r.value for r in readings)]
    return max(values) if measure.better == "higher" else min(values)


def verdict_for(measure: Measure, goal: Goal, readings: Sequence[Reading]) -> Verdict:
    """The goal's verdict after ``readings`` (oldest first, the baseline not among them).

    A real worsening is measured against the previous value, the baseline *and* the best
    value reached: a goal met and then clearly lost is "worsening", not "achieved".
    A measure without a published MCID (``flag_only``) gets no verdict: any change is
    "flagged" for a clinician to look at, an unchanged value is "unrated".
    """
    if goal.baseline is None or not readings:
        return "pending"
    latest = readings[-1].value
    previous = readings[-2].value if len(readings) > 1 else goal.baseline
    if measure.flag_only:
        return "flagged" if latest != previous or latest != goal.baseline else "unrated"
    best = best_value(measure, goal.baseline, readings[:-1])
    worse = "worse" in (change_between(measure, previous, latest),
                        change_between(measure, goal.baseline, latest),
                        change_between(measure, best, latest))
    if goal.target_kind == "maintain":
        return "worsening" if worse else "achieved"
    target = goal.target if goal.target is not None else default_target(
        measure, goal.baseline, "mcid")
    if worse:
        return "worsening"
    if meets(measure, latest, target):
        return "achieved"
    if change_between(measure, goal.baseline, latest) == "better":
        return "improving"
    return "no_change"


def on_track(measure: Measure, goal: Goal, points: Sequence[tuple[datetime, float]],
             end: datetime) -> bool:
    """True when the least-squares line through ``points`` (the anchor and the reviews since,
    oldest first) moves in the better direction and reaches the target by ``end``.

    Several steps each below the MCID add up: a patient gaining a little at every review is
    responding, and the fitted slope says whether the pace is enough for this episode.
    """
    if goal.baseline is None or goal.target_kind == "maintain" or len(points) < 2:
        return False
    target = goal.target if goal.target is not None else default_target(
        measure, goal.baseline, "mcid")
    origin = points[0][0]
    xs = [(at - origin).total_seconds() / 86400 for at, _ in points]
    ys = [value for _, value in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread <= 0:
        return False
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    if signed_gain(measure, 0.0, slope) <= 0:
        return False
    days = (end - origin).total_seconds() / 86400
    projected = mean_y + slope * (days - mean_x)
    return meets(measure, projected, target)


def history(measure: Measure, goal: Goal, readings: Sequence[Reading]) -> list[Point]:
    """The goal's state at every review, oldest first (empty without a baseline).

    The anchor is the last reading that changed for real against the anchor before it;
    a run of readings with ``since_anchor == "none"`` is a plateau.
    """
    if goal.baseline is None:
        return []
    points: list[Point] = []
    anchor: Reading | None = None
    for i, reading in enumerate(readings):
        reference = goal.baseline if anchor is None else anchor.value
        moved = change_between(measure, reference, reading.value)
        points.append(Point(reading, verdict_for(measure, goal, readings[: i + 1]), moved,
                            anchor))
        if moved != "none":
            anchor = reading
    return points


REVIEW_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Review:
    """One planned review: the cadence point and the value it uses (the latest reading in
    its window, the weeks since the review before)."""

    due: datetime
    reading: Reading


def planned_reviews(goal: Goal, readings: Sequence[Reading], every_weeks: int,
                    now: datetime) -> list[Review]:
    """The reviews held up to ``now`` on the pathway's cadence, counted from the baseline
    (the evaluation); a review whose window holds no reading is skipped, not "no change"."""
    after = goal.reviews(readings)
    origin = goal.baseline_at or (after[0].at if after else None)
    if origin is None:
        return []
    step = timedelta(weeks=every_weeks)
    held: list[Review] = []
    due, start = origin + step, origin
    while due <= now:
        # A value taken later on the review's own day (at the review visit) still counts.
        end = due + REVIEW_DAY
        window = [r for r in after if start < r.at <= end and r.at <= now]
        if window:
            held.append(Review(due, window[-1]))
        start, due = end, due + step
    return held


@dataclass(frozen=True)
class GoalStatus:
    """Where a goal stands: its verdict on the latest value, the planned reviews, how many
    of the last ones show no real change, and whether the trend is on track."""

    verdict: Verdict
    reviews: tuple[Review, ...]
    points: tuple[Point, ...]  # one per planned review
    plateau: int
    on_track: bool
    latest: Reading | None

    @property
    def shown_verdict(self) -> str:
        return "improving (on track)" if self.on_track else self.verdict.replace("_", " ")


def goal_status(measure: Measure, goal: Goal, readings: Sequence[Reading], *, every_weeks: int,
                now: datetime, planned_end: datetime | None) -> GoalStatus:
    """The goal's status at ``now``: the verdict reads every value (a worsening is seen at
    once); the plateau and the trend read the planned reviews only. Values after ``now``
    are not seen (a review is decided as of its time)."""
    after = [r for r in goal.reviews(readings) if r.at <= now]
    reviews = planned_reviews(goal, after, every_weeks, now)
    points = history(measure, goal, [r.reading for r in reviews])
    plateau = 0
    for point in reversed(points):
        if point.since_anchor != "none" or point.verdict == "achieved":
            break
        plateau += 1
    verdict = verdict_for(measure, goal, after)
    track = False
    if plateau and verdict == "no_change" and planned_end is not None and goal.baseline_at:
        anchor = points[-1].anchor
        start = (anchor.at, anchor.value) if anchor else (goal.baseline_at, goal.baseline or 0.0)
        series = [start, *((p.reading.at, p.reading.value) for p in points[-plateau:])]
        track = on_track(measure, goal, series, planned_end)
    return GoalStatus("improving" if track else verdict, tuple(reviews), tuple(points), plateau,
                      track, after[-1] if after else None)
