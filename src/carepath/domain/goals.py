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
from datetime import date, datetime
from typing import Literal

from carepath.domain.config import Measure, Threshold
from carepath.errors import InputError

Verdict = Literal["pending", "achieved", "improving", "no_change", "worsening"]
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
    """The smallest real worsening from ``earlier``: max(worsening MCID or MCID, noise)."""
    mcid = measure.worsening_mcid or measure.mcid
    return max(threshold_amount(mcid, earlier), threshold_amount(measure.noise, earlier))


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
    return value, raw


def show_value(measure: Measure, value: float | None) -> str:
    """A stored value as a clinician reads it: the level name on ordinal scales."""
    if value is None:
        return ""
    if measure.scale == "ordinal":
        index = int(round(value))
        return measure.levels[index] if 0 <= index < len(measure.levels) else f"{value:g}"
    return f"{value:g}"


def verdict_for(measure: Measure, goal: Goal, readings: Sequence[Reading]) -> Verdict:
    """The goal's verdict after ``readings`` (oldest first, the baseline not among them)."""
    if goal.baseline is None or not readings:
        return "pending"
    latest = readings[-1].value
    previous = readings[-2].value if len(readings) > 1 else goal.baseline
    worse = "worse" in (change_between(measure, previous, latest),
                        change_between(measure, goal.baseline, latest))
    if goal.target_kind == "maintain":
        return "worsening" if worse else "achieved"
    target = goal.target if goal.target is not None else default_target(
        measure, goal.baseline, "mcid")
    if meets(measure, latest, target):
        return "achieved"
    if worse:
        return "worsening"
    if change_between(measure, goal.baseline, latest) == "better":
        return "improving"
    return "no_change"


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
