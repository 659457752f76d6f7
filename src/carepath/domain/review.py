"""The review of one episode: classify its goals, apply the stall rules, climb the ladder.

``review_episode(facts, measures, now=…)`` decides and returns a ``ReviewDecision``; it does
no I/O. Stall rules come from the pathway (``stall_rule``):

- a goal that asks for improvement and shows no real change at ``consecutive_no_change_reviews``
  reviews in a row has stalled (a "maintain" goal is *meant* to plateau);
- a real worsening at any review escalates at once and prompts a relapse screen;
- two-hour-rule failures, no-shows and under-scheduling: see ``carepath.domain.attendance``.

The ladder (``escalation``): level 1 books a reassessment with the episode's therapist and
tells them why; level 2 — the same stall or worsening still holds at a review after that
reassessment, or two measures are worsening at once — opens a case review for a senior
therapist, tells the referring physician and proposes another pathway. A dismissed level 1
is a clinician's answer: it does not climb to level 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from carepath.domain import attendance as rules
from carepath.domain.attendance import Condition, Recovery, Visit
from carepath.domain.config import EscalationStep, Measure, Pathway
from carepath.domain.escalations import (
    BookReassessment,
    Effect,
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
from carepath.domain.goals import Goal, Point, Reading, Verdict, band, history, show_value


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


@dataclass(frozen=True)
class GoalReview:
    measure_id: str
    verdict: Verdict
    latest: float | None
    reviews: int
    plateau: int  # reviews in a row without a real change


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
    points: list[Point]
    plateau: int


def review_episode(facts: EpisodeFacts, measures: Mapping[str, Measure], *, now: datetime,
                   senior_therapists: Sequence[str] = ()) -> ReviewDecision:
    """Decide what a review of this episode changes: goal verdicts and escalation effects."""
    states = [_state(g, measures[g.measure_id], facts) for g in facts.goals
              if g.measure_id in measures]
    conditions = _goal_conditions(facts, states)
    known = {e.key: e for e in facts.escalations}
    evidence = tuple(_evidence(s) for s in states)
    effects: list[Effect] = []
    level_one = [c for c in conditions if f"{c.key}:L1" not in known]
    effects += _level_one(facts, level_one, evidence, now)
    effects += _level_two(facts, _persisting(conditions, known, states), evidence,
                          senior_therapists)
    effects += _level_two(facts, _multi_worsening(facts, conditions, known), evidence,
                          senior_therapists)
    effects += _other_rules(facts, known, now)
    goals = tuple(GoalReview(s.goal.measure_id, s.points[-1].verdict if s.points else "pending",
                             s.points[-1].reading.value if s.points else None,
                             len(s.points), s.plateau) for s in states)
    return ReviewDecision(facts.episode_id, goals, tuple(effects))


def _state(goal: Goal, measure: Measure, facts: EpisodeFacts) -> _GoalState:
    points = history(measure, goal, goal.reviews(facts.readings.get(goal.measure_id, ())))
    plateau = 0
    for point in reversed(points):
        if point.since_anchor != "none" or point.verdict == "achieved":
            break
        plateau += 1
    return _GoalState(goal, measure, points, plateau)


def _goal_conditions(facts: EpisodeFacts, states: list[_GoalState]) -> list[Condition]:
    rule = facts.pathway.stall_rule
    found = []
    for s in states:
        name, mid = s.measure.name, s.goal.measure_id
        if s.goal.target_kind != "maintain" and s.plateau >= rule.consecutive_no_change_reviews:
            anchor = s.points[-1].anchor
            tag = "base" if anchor is None else f"m{anchor.ident}"
            found.append(Condition(f"e{facts.episode_id}:stall:{mid}:{tag}", "stall",
                                   f"{name}: no real change at {s.plateau} reviews in a row"))
        run = _worsening_run(s.points)
        if run and rule.worsening_escalates_at_once:
            found.append(Condition(f"e{facts.episode_id}:worsening:{mid}:m{run[0].reading.ident}",
                                   "worsening", f"{name}: real worsening — screen for relapse"))
    return found


def _worsening_run(points: list[Point]) -> list[Point]:
    run: list[Point] = []
    for point in reversed(points):
        if point.verdict != "worsening":
            break
        run.insert(0, point)
    return run


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


def _persisting(conditions: list[Condition], known: Mapping[str, KnownEscalation],
                states: list[_GoalState]) -> list[Condition]:
    """Conditions whose level 1 was not dismissed and that still hold at a later review."""
    found = []
    for c in conditions:
        first, second = known.get(f"{c.key}:L1"), known.get(f"{c.key}:L2")
        if first is None or second is not None or first.status == "dismissed":
            continue
        since = first.reassessment_start or first.created_at
        if _reviewed_since(c, states, since):
            found.append(Condition(c.key, c.kind, c.summary + ", still after the reassessment",
                                   c.facts))
    return found


def _reviewed_since(condition: Condition, states: list[_GoalState], since: datetime) -> bool:
    measure_id = condition.key.split(":")[2]
    return any(s.goal.measure_id == measure_id and s.points and s.points[-1].reading.at >= since
               for s in states)


def _multi_worsening(facts: EpisodeFacts, conditions: list[Condition],
                     known: Mapping[str, KnownEscalation]) -> list[Condition]:
    worse = sorted(c.key.split(":", 2)[2] for c in conditions if c.kind == "worsening")
    if len(worse) < 2:
        return []
    key = f"e{facts.episode_id}:multi_worsening:{'+'.join(worse)}"
    if f"{key}:L2" in known:
        return []
    names = ", ".join(w.split(":")[0] for w in worse)
    return [Condition(key, "multi_worsening", f"real worsening on {len(worse)} measures ({names})")]


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
                     for p in state.points),
        verdict=state.points[-1].verdict if state.points else "pending")


def _target_text(goal: Goal, measure: Measure) -> str:
    if goal.target_kind == "maintain":
        return "maintain (no real worsening)"
    return show_value(measure, goal.target)
