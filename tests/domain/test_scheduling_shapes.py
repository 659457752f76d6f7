"""What a differently shaped clinic needs: hours-long leave and maintenance, rest days across
a patient's episodes, every qualified therapist tried, and --partial that never starts an
episode without its first visit."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tests.scheduling_helpers import hard_violations, make_clinic, make_pathway, therapist

from carepath.domain.config.models import Clinic
from carepath.domain.scheduling import VisitRequest, check_slot, free_slots, schedule_batch
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.scheduling.types import Busy, EpisodeRequest

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)
DAWN = datetime(2027, 3, 1, 6, tzinfo=NEW_YORK)


def _local(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%a %H:%M")


def test_a_meeting_takes_only_its_hours_of_the_therapists_day() -> None:
    """Leave with hours 08:00-10:00 on Monday: Monday's first free slot is 10:00, not Tuesday."""
    clinic = make_clinic(therapists=[therapist("t1", leave=[
        {"from": "2027-03-01", "to": "2027-03-01", "hours": "08:00-10:00",
         "reason": "Team meeting"}])])
    visit = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]).visit_types["visit"]
    slots = free_slots(visit, clinic, Busy(), zone=NEW_YORK, not_before=DAWN, limit=1)
    assert _local(slots[0].start) == "Mon 10:00"


def test_a_booking_inside_a_meeting_is_refused_with_the_meeting_named() -> None:
    clinic = make_clinic(therapists=[therapist("t1", leave=[
        {"from": "2027-03-01", "to": "2027-03-01", "hours": "08:00-10:00",
         "reason": "Team meeting"}])])
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]), MONDAY)
    answer = check_slot(VisitRequest(plan.requirements[0], therapist_id="t1"), clinic, Busy(),
                        zone=NEW_YORK, start=datetime(2027, 3, 1, 9, tzinfo=NEW_YORK))
    assert "away 08:00-10:00" in answer.constraint and "Team meeting" in answer.constraint


def test_a_few_hours_of_pool_maintenance_move_the_visit_to_the_minute_it_ends() -> None:
    clinic = make_clinic(resources=[{"id": "pool", "name": "Pool", "provides": ["pool"],
                                     "maintenance": [{"from": "2027-03-01", "to": "2027-03-01",
                                                      "hours": "08:00-11:30"}]}])
    visit = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}],
                         needs={"resources": ["pool"]}).visit_types["visit"]
    slots = free_slots(visit, clinic, Busy(), zone=NEW_YORK, not_before=DAWN, limit=1)
    assert _local(slots[0].start) == "Mon 11:30"


def test_rest_days_hold_between_a_patients_two_episodes() -> None:
    """A booster series and a progression review at once: with patient_min_rest_days 1 no two
    of the patient's visits fall on consecutive days, whichever episode they belong to."""
    clinic = make_clinic(patient_min_rest_days=1,
                         therapists=[therapist("t1"), therapist("t2")])
    weekly = make_pathway([{"weeks": "1-2", "visit": "visit", "per_week": 2}], weeks=2)
    review = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}])
    requests = [EpisodeRequest("1", "p1", plan_episode(weekly, MONDAY)),
                EpisodeRequest("2", "p1", plan_episode(review, date(2027, 3, 2)))]
    results = schedule_batch(requests, clinic, Busy(), zone=NEW_YORK, not_before=DAWN)
    days = sorted(p.start.astimezone(NEW_YORK).date() for r in results for p in r.placements)
    assert len(days) == 5
    assert all((b - a).days >= 2 for a, b in zip(days, days[1:], strict=False)), days


def test_partial_never_books_treatment_without_its_evaluation() -> None:
    """The only evaluator is away all week: with --partial nothing of the episode is booked,
    and every treatment says it waits for the evaluation."""
    pathway = make_pathway(
        [{"weeks": 1, "visit": "visit", "per_week": 2}], rest=1,
        visit_types={"visit": {"name": "Treatment", "duration_minutes": 45,
                               "needs": {"resources": ["gym"]}},
                     "eval": {"name": "Evaluation", "duration_minutes": 60,
                              "needs": {"skills": ["evaluation"]}}},
        first_visit="eval")
    clinic = make_clinic(therapists=[
        therapist("t1"), therapist("t2", ["evaluation"], leave=[
            {"from": "2027-03-01", "to": "2027-03-07", "reason": "Vacation"}])])
    plan = plan_episode(pathway, MONDAY)
    busy = Busy()
    (result,) = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic, busy, zone=NEW_YORK,
                               not_before=DAWN, partial=True)
    assert result.placements == ()
    assert not busy.therapist("t1")  # nothing held back for the treatments
    first, *rest = sorted(result.unplaced, key=lambda u: u.requirement.seq)
    assert "leave" in first.constraint or "Vacation" in first.constraint
    assert rest and all(u.constraint.startswith("waits for visit 1") for u in rest)


def test_a_part_timer_is_tried_when_the_episodes_therapist_is_full() -> None:
    """The full-timers are booked solid: the part-timer who works Tue/Thu takes both visits,
    keeping the rest day."""
    full_time = [therapist(f"f{i}") for i in range(8)]
    clinic = make_clinic(therapists=[*full_time, therapist("pt", days=("tue", "thu"))])
    busy = Busy()
    for i in range(8):  # every full-timer booked solid all week
        for day in range(1, 6):
            busy.add(datetime(2027, 3, day, 8, tzinfo=NEW_YORK),
                     datetime(2027, 3, day, 17, tzinfo=NEW_YORK), therapist_id=f"f{i}")
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 2}], rest=1),
                        MONDAY)
    (result,) = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic, busy, zone=NEW_YORK,
                               not_before=DAWN, partial=True)
    assert [(p.therapist_id, _local(p.start)[:3]) for p in result.placements] == [
        ("pt", "Tue"), ("pt", "Thu")]
    assert not hard_violations([("p1", plan, p) for p in result.placements], clinic)


def test_a_wait_listed_visit_names_what_bound_it_not_a_default() -> None:
    """Both therapists are booked solid on the only days left: the reason says no qualified
    therapist had the minutes, not that rest days left no day."""
    clinic = make_clinic(therapists=[therapist("t1"), therapist("t2")])
    busy = Busy()
    for ident in ("t1", "t2"):
        for day in range(1, 6):
            busy.add(datetime(2027, 3, day, 8, tzinfo=NEW_YORK),
                     datetime(2027, 3, day, 17, tzinfo=NEW_YORK), therapist_id=ident)
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]), MONDAY)
    (result,) = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic, busy, zone=NEW_YORK,
                               not_before=DAWN, partial=True)
    (unplaced,) = result.unplaced
    assert unplaced.constraint.startswith("no therapist has 45 free minutes with a free gym "
                                          "on Mon/Tue/Wed/Thu/Fri in week 1")
    assert unplaced.constraint.endswith("(all 2 qualified looked at)")
    assert "rest days" not in unplaced.constraint


def test_load_can_be_balanced_by_each_therapists_own_hours() -> None:
    """Booked 4 h of 18 weekly hours against 2 h of 8: by minutes the part-timer looks
    lighter; by utilisation the full-timer is, and takes the visit."""
    def clinic(balance: str) -> Clinic:
        return make_clinic(balance_load_by=balance, therapists=[
            therapist("full", days=("tue", "thu")),
            therapist("part", hours="08:00-12:00", days=("tue", "thu"))])
    picked = {}
    for balance in ("minutes", "utilisation"):
        busy = Busy()
        busy.add(datetime(2027, 2, 23, 8, tzinfo=NEW_YORK), datetime(2027, 2, 23, 12,
                                                                     tzinfo=NEW_YORK),
                 therapist_id="full")
        busy.add(datetime(2027, 2, 23, 8, tzinfo=NEW_YORK), datetime(2027, 2, 23, 10,
                                                                     tzinfo=NEW_YORK),
                 therapist_id="part")
        plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]),
                            MONDAY)
        (result,) = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic(balance), busy,
                                   zone=NEW_YORK, not_before=DAWN)
        picked[balance] = result.placements[0].therapist_id
    assert picked == {"minutes": "part", "utilisation": "full"}


def test_a_full_pool_takes_as_many_visits_as_it_has_lanes_at_a_time() -> None:
    """Two lanes, four therapists free, six patients wanting the same two hours: four visits
    are booked, never three in the pool at once, and the other two are wait-listed with the
    pool named (the pool's free time is tracked lane by lane as the batch books)."""
    clinic = make_clinic(
        therapists=[therapist(f"t{i}", hours="08:00-10:00", days=["mon"]) for i in range(4)],
        resources=[{"id": "pool", "name": "Pool", "provides": ["pool"], "capacity": 2}])
    pathway = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}],
                           needs={"resources": ["pool"]})
    plan = plan_episode(pathway, MONDAY)
    requests = [EpisodeRequest(str(i), f"p{i}", plan) for i in range(6)]
    results = schedule_batch(requests, clinic, Busy(), zone=NEW_YORK, not_before=DAWN,
                             partial=True)
    placed = [(r.patient_id, r.plan, p) for r in results for p in r.placements]
    assert len(placed) == 4
    assert hard_violations(placed, clinic) == []
    waiting = [u for r in results for u in r.unplaced]
    assert len(waiting) == 2 and all("pool" in u.constraint for u in waiting), waiting
