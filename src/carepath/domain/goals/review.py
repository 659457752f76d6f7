"""The review of one episode: classify its goals, apply the stall rules, climb the ladder.

``review_episode(facts, measures, now=…)`` decides and returns a ``ReviewDecision``; it does
no I/O. Stall rules come from the pathway (``stall_rule``):

- a review is a point on the pathway's ``goals.review_every_weeks`` cadence, counted from the
  baseline (the evaluation); it uses the latest value in its window. A goal that asks for
  improvement and shows no real change at ``consecutive_no_change_reviews`` planned reviews in
  a row has stalled (a "maintain" goal is *meant* to plateau) — unless its trend is on track:
  the least-squares line through the anchor and those reviews reaches the target by the
  episode's planned end;
- GAS: a value at or below the measure's ``stall_at_or_below`` at a planned review;
- a real worsening of any value, against the previous one, the baseline or the best reached,
  escalates at once and prompts a relapse screen;
- measures without a published MCID (``flag_only``) are flagged, never escalated;
- two-hour-rule failures, no-shows and under-scheduling: see ``carepath.domain.goals.attendance``.

The ladder (``escalation``): level 1 books a reassessment with the episode's therapist and
tells them why; level 2 — the reassessment took place and the same stall or worsening still
shows at it or at a later review, or two measures are worsening at once — opens a case
review for a senior therapist, tells the referring physician and proposes another
pathway. A dismissed level 1 is a clinician's answer: it does not climb to level 2. There is
one escalation per episode and condition: its key names every affected measure and the
value it is anchored to (``e7:stall:bbs@base+t25fw@m31:L1``), and while one of a kind is
open, new measures fold into it rather than raising a sibling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from carepath.domain.config.models import EscalationStep, Measure, Pathway
from carepath.domain.goals import attendance as rules
from carepath.domain.goals.attendance import Condition, Recovery, Visit
from carepath.domain.goals.escalations import (
    OPEN_STATUSES,
    BookReassessment,
    Effect,
    EscalationKind,
    HoldProgression,
    KnownEscalation,
    MeasureEvidence,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
)
from carepath.domain.goals.progress import (
    Goal,
    GoalStatus,
    Point,
    Reading,
    Verdict,
    band,
    change_between,
    for_stratum,
    goal_status,
    history,
    show_value,
)


@dataclass(frozen=True)
class EpisodeFacts:
    """What a review needs to know about one episode, loaded by the service."""

    episode_id: int
    pathway: Pathway
    therapist_id: str | None
    goals: tuple[Goal, ...]
    readings: Mapping[str, Sequence[Reading]] = field(default_factory=dict)
    recoveries: tuple[Recovery, ...] = ()
    visits: tuple[Visit, ...] = ()
    escalations: tuple[KnownEscalation, ...] = ()
    planned_days: tuple[date, ...] = ()  # first day of each planned visit's window
    has_physician: bool = False
    planned_end: datetime | None = None  # when the episode is planned to end (for trends)


@dataclass(frozen=True)
class GoalReview:
    measure_id: str
    verdict: Verdict
    latest: float | None
    reviews: int
    plateau: int  # planned reviews in a row without a real change
    on_track: bool = False


@dataclass(frozen=True)
class ReviewDecision:
    episode_id: int
    goals: tuple[GoalReview, ...]
    effects: tuple[Effect, ...]

    @property
    def escalations(self) -> list[OpenEscalation]:
        return [e for e in self.effects if isinstance(e, OpenEscalation)]


@dataclass(frozen=True)
class _GoalState:
    goal: Goal
    measure: Measure
    status: GoalStatus
    all_points: list[Point]  # every reading after the baseline (worsening is seen at once)


@dataclass(frozen=True)
class _Found:
    """A goal condition on one measure: the token that names it (measure@anchor) and why."""

    kind: EscalationKind
    token: str
    measure_id: str
    why: str


def review_episode(facts: EpisodeFacts, measures: Mapping[str, Measure], *, now: datetime,
                   senior_therapists: Sequence[str] = ()) -> ReviewDecision:
    """Decide what a review of this episode changes: goal verdicts and escalation effects.

    One escalation per episode and condition (a stall, a worsening): every affected measure
    is its evidence, never one sibling escalation per measure.
    """
    edss = _latest_edss(facts)
    states = [_state(g, for_stratum(measures[g.measure_id], edss), facts, now)
              for g in facts.goals if g.measure_id in measures]
    found = _goal_conditions(facts, states)
    known = {e.key: e for e in facts.escalations}
    evidence = tuple(_evidence(s) for s in states)
    effects: list[Effect] = []
    effects += _level_one(facts, _new_conditions(facts, found, known), evidence, now)
    persisting = _persisting(facts, found, known, states, now)
    effects += _level_two(facts, persisting, evidence, senior_therapists)
    if not any(c.kind == "worsening" for c in persisting):
        effects += _level_two(facts, _multi_worsening(facts, found, known), evidence,
                              senior_therapists)
    effects += _other_rules(facts, known, now)
    goals = tuple(GoalReview(s.goal.measure_id, s.status.verdict,
                             s.status.latest.value if s.status.latest else None,
                             len(s.status.reviews), s.status.plateau, s.status.on_track)
                  for s in states)
    return ReviewDecision(facts.episode_id, goals, tuple(effects))


def _latest_edss(facts: EpisodeFacts) -> float | None:
    values = sorted(facts.readings.get("edss", ()), key=lambda r: r.at)
    return values[-1].value if values else None


def _state(goal: Goal, measure: Measure, facts: EpisodeFacts, now: datetime) -> _GoalState:
    readings = facts.readings.get(goal.measure_id, ())
    status = goal_status(measure, goal, readings, now=now, planned_end=facts.planned_end,
                         every_weeks=facts.pathway.goals.review_every_weeks)
    seen = [r for r in goal.reviews(readings) if r.at <= now]
    return _GoalState(goal, measure, status, history(measure, goal, seen))


def _goal_conditions(facts: EpisodeFacts, states: list[_GoalState]) -> list[_Found]:
    rule = facts.pathway.stall_rule
    every = facts.pathway.goals.review_every_weeks
    found: list[_Found] = []
    for s in states:
        if s.measure.flag_only:
            continue  # no published MCID: flagged on the goal, never escalated
        name, mid, status = s.measure.name, s.goal.measure_id, s.status
        low = _low_run(s)
        if low:
            found.append(_Found("stall", f"{mid}@m{low[0].reading.ident}", mid,
                                f"{name} at or below {s.measure.stall_at_or_below:g} "
                                f"at {len(low)} planned review(s)"))
        elif (s.goal.target_kind != "maintain" and not status.on_track
              and status.plateau >= rule.consecutive_no_change_reviews):
            anchor = status.points[-1].anchor
            tag = "base" if anchor is None else f"m{anchor.ident}"
            found.append(_Found("stall", f"{mid}@{tag}", mid,
                                f"{name}: no real change at {status.plateau} planned reviews "
                                f"in a row (every {every} weeks)"))
        run = _worsening_run(s.all_points)
        if run and rule.worsening_escalates_at_once:
            found.append(_Found("worsening", f"{mid}@m{run[0].reading.ident}", mid,
                                f"{name}: real worsening"))
    return found


def _low_run(state: _GoalState) -> list[Point]:
    """GAS: the trailing planned reviews at or below the measure's stall level."""
    floor = state.measure.stall_at_or_below
    run: list[Point] = []
    if floor is None:
        return run
    for point in reversed(state.status.points):
        if point.reading.value > floor + 1e-9:
            break
        run.insert(0, point)
    return run


def _worsening_run(points: list[Point]) -> list[Point]:
    run: list[Point] = []
    for point in reversed(points):
        if point.verdict != "worsening":
            break
        run.insert(0, point)
    return run


def _tokens(key: str) -> set[str]:
    """The measure@anchor tokens of a goal escalation's key ``e1:stall:a@x+b@y:L1``."""
    parts = key.split(":")
    return set(parts[2].split("+")) if len(parts) == 4 else set()


def _condition(facts: EpisodeFacts, kind: EscalationKind, items: list[_Found],
               suffix: str = "") -> Condition:
    tokens = "+".join(sorted(f.token for f in items))
    summary = "; ".join(f.why for f in items)
    if kind == "worsening":
        summary += " — screen for a relapse"
    return Condition(f"e{facts.episode_id}:{kind}:{tokens}", kind, summary + suffix)


def _new_conditions(facts: EpisodeFacts, found: list[_Found],
                    known: Mapping[str, KnownEscalation]) -> list[Condition]:
    """At most one new level 1 per condition: when a measure not yet covered by an
    escalation of that kind stalls (or worsens) and none of that kind is still open."""
    conditions = []
    kinds: tuple[EscalationKind, ...] = ("stall", "worsening")
    for kind in kinds:
        items = [f for f in found if f.kind == kind]
        mine = [k for k in known.values()
                if k.key.split(":")[1:2] == [kind] and k.key.endswith(":L1")]
        covered = set().union(*(_tokens(k.key) for k in mine)) if mine else set()
        still_open = any(k.status in OPEN_STATUSES for k in mine)
        if items and not still_open and {f.token for f in items} - covered:
            conditions.append(_condition(facts, kind, items))
    return conditions


def _step(pathway: Pathway, level: int) -> EscalationStep | None:
    return next((s for s in pathway.escalation if s.level == level), None)


def _level_one(facts: EpisodeFacts, conditions: list[Condition],
               evidence: tuple[MeasureEvidence, ...], now: datetime) -> list[Effect]:
    if not conditions:
        return []
    effects: list[Effect] = []
    for c in conditions:
        key = f"{c.key}:L1"
        effects.append(OpenEscalation(key, 1, c.kind, c.summary, evidence, c.facts))
        effects.append(NotifyTherapist(f"{key}:tell-therapist", key, facts.therapist_id,
                                       c.summary))
        if c.kind == "worsening":
            effects.append(PromptRelapseScreen(f"{key}:relapse-screen", key))
    step = _step(facts.pathway, 1)
    if step is not None and step.action == "book_reassessment":
        keys = tuple(f"{c.key}:L1" for c in conditions)
        visit = step.visit or facts.pathway.last_visit or next(iter(facts.pathway.visit_types))
        effects.append(BookReassessment(f"{keys[0]}:book", keys, visit, facts.therapist_id,
                                        step.within_days, _upcoming_reassessment(facts, now),
                                        _next_visit(facts, now, step.within_days)))
    return effects


def _next_visit(facts: EpisodeFacts, now: datetime, within_days: int) -> int | None:
    """The episode's next booked visit inside the window: where to reassess when a dense
    week leaves no room for a separate visit."""
    window = [v for v in facts.visits if v.status == "booked"
              and now < v.start <= now + timedelta(days=within_days)]
    return min(window, key=lambda v: v.start).ident if window else None


def _upcoming_reassessment(facts: EpisodeFacts, now: datetime) -> int | None:
    """A reassessment an earlier escalation booked and that is still to come: reuse it."""
    for e in facts.escalations:
        start = e.reassessment_start
        if e.appointment_id and e.reassessment_status == "booked" and start and start > now:
            return e.appointment_id
    return None


def _reassessed_at(first: KnownEscalation, now: datetime) -> datetime | None:
    """When the level-1 reassessment took place, or None while it has not.

    Without a booked reassessment (none could be booked) the escalation's own date serves:
    a clinician was told then, and the reviews after it are the evidence."""
    if first.appointment_id is None:
        return first.created_at
    start = first.reassessment_start
    if start is None or first.reassessment_status in ("cancelled", "no_show"):
        return None
    if first.reassessment_status == "completed" or start <= now:
        return start
    return None


def _persisting(facts: EpisodeFacts, found: list[_Found], known: Mapping[str, KnownEscalation],
                states: list[_GoalState], now: datetime) -> list[Condition]:
    """Level-1 goal escalations, not dismissed, whose reassessment has taken place and whose
    measures still show the condition at a review held at or after it — the reassessment's
    own measurement is such a review, and so is a planned review after it."""
    current = {f.token: f for f in found}
    conditions = []
    for first in known.values():
        if not first.key.endswith(":L1") or first.kind not in ("stall", "worsening"):
            continue
        prefix = first.key[:-3]
        if f"{prefix}:L2" in known or first.status == "dismissed":
            continue
        since = _reassessed_at(first, now)
        still = [current[t] for t in sorted(_tokens(first.key)) if t in current]
        if since is None or not still:
            continue
        confirmed = [f for f in still if _confirmed_since(f, states, since)]
        if confirmed:
            summary = "; ".join(f.why for f in confirmed) + ", still after the reassessment"
            conditions.append(Condition(prefix, confirmed[0].kind, summary))
    return conditions


def _confirmed_since(found: _Found, states: list[_GoalState], since: datetime) -> bool:
    """A value taken at or after ``since`` that still shows the condition: no real change
    from the stall's anchor (or still at the GAS floor), or still a real worsening."""
    state = next((s for s in states if s.goal.measure_id == found.measure_id), None)
    latest = state.status.latest if state else None
    if state is None or latest is None or latest.at < since:
        return False
    if found.kind == "worsening":
        return state.status.verdict == "worsening"
    floor = state.measure.stall_at_or_below
    if floor is not None and latest.value <= floor + 1e-9:
        return True
    anchor = state.status.points[-1].anchor if state.status.points else None
    reference = anchor.value if anchor else state.goal.baseline
    return reference is not None and change_between(state.measure, reference,
                                                    latest.value) == "none"


def _multi_worsening(facts: EpisodeFacts, found: list[_Found],
                     known: Mapping[str, KnownEscalation]) -> list[Condition]:
    """Real worsening on two measures or more at once goes to a case review at once."""
    worse = [f for f in found if f.kind == "worsening"]
    if len({f.measure_id for f in worse}) < 2:
        return []
    condition = _condition(facts, "worsening", worse)
    key = f"{condition.key}:L2"
    if key in known or any(k.kind == "worsening" and k.key.endswith(":L2")
                           and k.status in OPEN_STATUSES for k in known.values()):
        return []
    return [Condition(condition.key, "worsening",
                      f"real worsening on {len({f.measure_id for f in worse})} measures at once: "
                      + condition.summary)]


def _level_two(facts: EpisodeFacts, conditions: list[Condition],
               evidence: tuple[MeasureEvidence, ...], seniors: Sequence[str]) -> list[Effect]:
    step = _step(facts.pathway, 2)
    if step is None or not conditions:
        return []
    senior = next((t for t in seniors if t != facts.therapist_id), None) or next(
        iter(seniors), None)
    effects: list[Effect] = []
    for c in conditions:
        key = f"{c.key}:L2"
        effects.append(OpenEscalation(key, 2, c.kind, c.summary, evidence, c.facts))
        effects.append(OpenCaseReview(f"{key}:case-review", key, senior))
        effects.append(NotifyTherapist(f"{key}:tell-therapist", key, facts.therapist_id,
                                       c.summary))
        if step.notify_physician and facts.has_physician:
            effects.append(NotifyPhysician(f"{key}:tell-physician", key))
        if step.propose_pathway:
            effects.append(ProposePathway(f"{key}:propose", key, step.propose_pathway))
    return effects


def _other_rules(facts: EpisodeFacts, known: Mapping[str, KnownEscalation],
                 now: datetime) -> list[Effect]:
    rule = facts.pathway.stall_rule
    found = (rules.two_hour_failures(facts.episode_id, facts.recoveries, rule)
             + rules.no_shows(facts.episode_id, facts.visits, rule)
             + rules.under_scheduled(facts.episode_id, facts.visits, facts.planned_days,
                                     now.date()))
    effects: list[Effect] = []
    for c in found:
        key = f"{c.key}:L1"
        if key in known:
            continue
        effects.append(OpenEscalation(key, 1, c.kind, c.summary, (), c.facts))
        effects.append(NotifyTherapist(f"{key}:tell-therapist", key, facts.therapist_id,
                                       c.summary))
        if c.kind == "two_hour":
            effects.append(HoldProgression(f"{key}:hold", key))
    return effects


def _evidence(state: _GoalState) -> MeasureEvidence:
    goal, measure = state.goal, state.measure
    low, high = band(measure, goal.baseline) if goal.baseline is not None else (0.0, 0.0)
    return MeasureEvidence(
        measure_id=goal.measure_id, name=measure.name, unit=measure.unit,
        baseline=show_value(measure, goal.baseline), target=_target_text(goal, measure),
        band_low=round(low, 3), band_high=round(high, 3),
        values=tuple((p.reading.at.isoformat(), show_value(measure, p.reading.value))
                     for p in state.all_points),
        verdict=state.status.shown_verdict)


def _target_text(goal: Goal, measure: Measure) -> str:
    if goal.target_kind == "maintain":
        return "maintain (no real worsening)"
    return show_value(measure, goal.target)
