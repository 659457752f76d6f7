"""Scheduling places whole episodes without breaking a hard rule, and says why when not."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Config
from carepath.domain.scheduling import (
    Busy,
    EpisodeRequest,
    schedule_batch,
    schedule_episode,
)
from carepath.domain.scheduling.availability import to_minute
from carepath.domain.scheduling.planning import PatientPreferences, plan_episode
from carepath.domain.timeutil import ClockRange
from scheduling_helpers import hard_violations, make_clinic, make_pathway, therapist

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)
DAWN = datetime(2027, 3, 1, 6, 0, tzinfo=NEW_YORK)
THREE_A_WEEK = [{"weeks": 1, "visit": "visit", "per_week": 3}]


def _local(moment: datetime) -> datetime:
    return moment.astimezone(NEW_YORK)


def test_example_clinic_books_forty_episodes_without_a_hard_violation(config: Config) -> None:
    """A batch over the example clinic books visits and the independent checker finds none
    broken: no double booking, hours, holidays, leave, needs, weeks or rest days."""
    kinds = ["post-relapse", "stable-boosters", "progression-review", "post-relapse"]
    requests = [EpisodeRequest(str(i), f"p{i}", plan_episode(
        config.pathway(kinds[i % 4]), MONDAY + timedelta(days=i % 10),
        PatientPreferences(heat_sensitive=i % 3 == 0))) for i in range(40)]
    results = schedule_batch(requests, config.clinic, Busy(), zone=NEW_YORK, not_before=DAWN,
                             partial=True)
    booked = [(r.patient_id, r.plan, p) for r in results for p in r.placements]
    assert len(booked) > 300
    assert hard_violations(booked, config.clinic) == []


def test_three_a_week_with_a_rest_day_takes_monday_wednesday_friday() -> None:
    """In a Mon–Fri clinic the only pattern for 3 visits with a rest day is Mon/Wed/Fri."""
    plan = plan_episode(make_pathway(THREE_A_WEEK, rest=1), MONDAY)
    result = schedule_episode(plan, make_clinic(), Busy(), zone=NEW_YORK, not_before=DAWN)
    assert [_local(p.start).strftime("%a") for p in result.placements] == ["Mon", "Wed", "Fri"]


def test_a_holiday_monday_makes_the_week_impossible_and_books_nothing() -> None:
    """Memorial Day closes Monday 31 May 2027: three visits with rest days cannot fit, so
    nothing is booked and the answer names the visit and the rest-day constraint."""
    clinic = make_clinic(holidays={"country": "US"})
    plan = plan_episode(make_pathway(THREE_A_WEEK, rest=1), date(2027, 5, 31))
    busy = Busy()
    result = schedule_episode(plan, clinic, busy, zone=NEW_YORK,
                              not_before=datetime(2027, 5, 31, 6, tzinfo=NEW_YORK))
    assert not result.booked and result.placements == ()
    assert busy.therapists == {}
    assert "rest days" in result.unplaced[0].constraint


def test_partial_books_what_fits_and_lists_the_rest() -> None:
    """With partial, two of the three visits are booked and the third is wait-listed."""
    clinic = make_clinic(holidays={"country": "US"})
    plan = plan_episode(make_pathway(THREE_A_WEEK, rest=1), date(2027, 5, 31))
    result = schedule_episode(plan, clinic, Busy(), zone=NEW_YORK, partial=True,
                              not_before=datetime(2027, 5, 31, 6, tzinfo=NEW_YORK))
    assert len(result.placements) == 2 and len(result.unplaced) == 1
    assert result.unplaced[0].alternatives  # nearest free slots after the week


def test_the_binding_constraint_names_the_missing_skill_and_the_week() -> None:
    """A visit needing a skill nobody free has says which skill, which days, which week."""
    clinic = make_clinic(therapists=[therapist("t1", ["aquatic"], days=("tue", "thu")),
                                     therapist("t2")])
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}],
                                     needs={"resources": ["gym"], "skills": ["aquatic"]}),
                        MONDAY)
    busy = Busy()
    for day in (2, 4):
        busy.add(datetime(2027, 3, day, 8, tzinfo=NEW_YORK),
                 datetime(2027, 3, day, 17, tzinfo=NEW_YORK), therapist_id="t1")
    result = schedule_episode(plan, clinic, busy, zone=NEW_YORK, not_before=DAWN)
    constraint = result.unplaced[0].constraint
    assert "no therapist with the aquatic skill" in constraint
    assert "Tue/Thu" in constraint and "week 1" in constraint


def test_stretches_toward_the_maximum_when_a_week_is_short() -> None:
    """Leave in week 2 makes the 2-week plan impossible; stretched to 3 weeks it fits, and
    the answer says it was stretched."""
    clinic = make_clinic(therapists=[therapist("t1", leave=[
        {"from": "2027-03-08", "to": "2027-03-12"}])])
    pathway = make_pathway([{"weeks": "1-2", "visit": "visit", "per_week": 2}], rest=1,
                           weeks=2, max_weeks=3)
    result = schedule_episode(plan_episode(pathway, MONDAY), clinic, Busy(), zone=NEW_YORK,
                              not_before=DAWN)
    assert result.complete and result.stretched_from == 2 and result.plan.weeks == 3
    assert any("stretched" in note for note in result.notes)


def test_most_constrained_episode_is_placed_first_in_a_batch() -> None:
    """Two flexible one-visit episodes listed first cannot take the only days a tight
    3-a-week episode can use: all three are booked."""
    clinic = make_clinic(therapists=[therapist("t1", hours="08:00-08:45")])
    one = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}])
    tight = make_pathway(THREE_A_WEEK, rest=1)
    requests = [EpisodeRequest("a", "a", plan_episode(one, MONDAY)),
                EpisodeRequest("b", "b", plan_episode(one, MONDAY)),
                EpisodeRequest("c", "c", plan_episode(tight, MONDAY))]
    results = schedule_batch(requests, clinic, Busy(), zone=NEW_YORK, not_before=DAWN)
    assert all(r.complete for r in results)
    assert [_local(p.start).strftime("%a") for p in results[2].placements] == \
        ["Mon", "Wed", "Fri"]


def test_heat_sensitive_patients_get_cool_mornings_even_when_listed_last() -> None:
    """Twelve ordinary patients listed first do not take the mornings that four
    heat-sensitive patients need."""
    clinic = make_clinic(therapists=[therapist("t1", hours="08:00-13:00")])
    one = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}])
    ordinary = [EpisodeRequest(str(i), f"o{i}", plan_episode(one, MONDAY)) for i in range(12)]
    hot = [EpisodeRequest(f"h{i}", f"h{i}", plan_episode(
        one, MONDAY, PatientPreferences(heat_sensitive=True))) for i in range(4)]
    results = schedule_batch(ordinary + hot, clinic, Busy(), zone=NEW_YORK, not_before=DAWN)
    for result in results[12:]:
        assert _local(result.placements[0].end).time() <= time(11, 0)


def test_patient_weekdays_and_windows_are_met_when_possible() -> None:
    """A patient who prefers Tuesdays 14:00–16:00 gets exactly that."""
    prefs = PatientPreferences(weekdays=(1,), windows=(ClockRange.parse("14:00-16:00"),))
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]), MONDAY,
                        prefs)
    placed = schedule_episode(plan, make_clinic(), Busy(), zone=NEW_YORK,
                              not_before=DAWN).placements[0]
    assert _local(placed.start).strftime("%a") == "Tue"
    assert time(14) <= _local(placed.start).time() and _local(placed.end).time() <= time(16)
    assert placed.penalties == ()


def test_one_therapist_sees_the_whole_episode_when_possible(config: Config) -> None:
    """Boosters need no special skill: every visit goes to the same therapist."""
    plan = plan_episode(config.pathway("stable-boosters"), MONDAY)
    result = schedule_episode(plan, config.clinic, Busy(), zone=NEW_YORK, not_before=DAWN)
    assert result.complete and result.single_therapist


def test_reevaluation_is_at_the_time_of_day_of_the_evaluation(config: Config) -> None:
    """Test results compare best at the same time of day: the re-evaluation matches the
    baseline evaluation's local time (across the March DST change)."""
    plan = plan_episode(config.pathway("post-relapse"), MONDAY)
    result = schedule_episode(plan, config.clinic, Busy(), zone=NEW_YORK, not_before=DAWN)
    first, last = result.placements[0], result.placements[-1]
    assert first.requirement.role == "first" and last.requirement.role == "last"
    assert _local(first.start).time() == _local(last.start).time()


def test_a_fixed_therapist_on_leave_is_named_with_another_therapist_as_alternative(
        config: Config) -> None:
    """Chen is on leave the whole week of a one-week plan; asking for Chen explains it and
    offers another therapist."""
    one = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}])
    plan = plan_episode(one, date(2027, 3, 22))
    result = schedule_episode(plan, config.clinic, Busy(), zone=NEW_YORK, therapist_id="chen",
                              not_before=DAWN, partial=True)
    failed = result.unplaced[0]
    assert "leave" in failed.constraint
    assert any(a.startswith("another therapist") for a in failed.alternatives)


def test_existing_bookings_are_never_double_booked() -> None:
    """A therapist busy all Monday morning gets the new visit after the busy time."""
    busy = Busy()
    busy.add(datetime(2027, 3, 1, 8, tzinfo=NEW_YORK), datetime(2027, 3, 1, 16, tzinfo=NEW_YORK),
             therapist_id="t1")
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}]), MONDAY)
    placed = schedule_episode(plan, make_clinic(), busy, zone=NEW_YORK,
                              not_before=DAWN).placements[0]
    assert _local(placed.start) >= datetime(2027, 3, 1, 16, tzinfo=NEW_YORK)


def test_free_slots_never_offers_a_therapist_without_the_visits_skills(config: Config) -> None:
    """Chen has no aquatic skill, so no pool slot is ever his, however free he is."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from carepath.domain.scheduling.one_visit import free_slots
    from carepath.domain.scheduling.types import Busy

    zone = ZoneInfo(config.clinic.timezone)
    aquatic = config.pathway("post-relapse").visit_types["aquatic"]
    start = datetime(2027, 3, 1, 7, tzinfo=zone)
    assert free_slots(aquatic, config.clinic, Busy(), zone=zone, not_before=start,
                      therapist_id="chen", limit=3) == []
    assert {s.therapist_id for s in free_slots(aquatic, config.clinic, Busy(), zone=zone,
                                               not_before=start, limit=20)} <= {
        "alvarez", "okafor", "nguyen"}


class _RecordingDiary:
    """Serves ``free_slots`` from a full diary, only what it asks for, and notes each ask."""

    def __init__(self, full: Busy, into: Busy) -> None:
        self.full, self.into, self.asked = full, into, []

    def rooms(self, start: datetime, end: datetime) -> None:
        self.asked.append(("rooms", start, end))
        lo, hi = to_minute(start), to_minute(end)
        for unit, spans in self.full.units.items():
            for s, e in spans.within(lo, hi):
                self.into.add_minutes(s, e, units=[unit])

    def therapists(self, start: datetime, end: datetime) -> None:
        self.asked.append(("therapists", start, end))
        lo, hi = to_minute(start), to_minute(end)
        for therapist_id, spans in self.full.therapists.items():
            for s, e in spans.within(lo, hi):
                self.into.add_minutes(s, e, therapist_id=therapist_id)


def test_free_slots_reads_only_the_diary_it_needs_and_finds_the_same(config: Config) -> None:
    """With a diary reader, the answer equals the answer on the whole diary; therapists'
    bookings are asked for only where the pool has a free unit (full all first week)."""
    from carepath.domain.scheduling.one_visit import free_slots

    aquatic = config.pathway("post-relapse").visit_types["aquatic"]
    full = Busy()
    batch = schedule_batch([EpisodeRequest(str(i), f"p{i}", plan_episode(
        config.pathway("post-relapse"), MONDAY, PatientPreferences())) for i in range(12)],
        config.clinic, full, zone=NEW_YORK, not_before=DAWN, partial=True)
    assert any(p.requirement.visit_type == "aquatic" for r in batch for p in r.placements)
    for unit in (("pool", 0), ("pool", 1)):  # the pool is full from Monday to Sunday
        full.add(DAWN, DAWN + timedelta(days=7), units=[unit])
    expected = free_slots(aquatic, config.clinic, full, zone=NEW_YORK, not_before=DAWN,
                          limit=15)
    searched = Busy()
    diary = _RecordingDiary(full, searched)
    found = free_slots(aquatic, config.clinic, searched, zone=NEW_YORK, not_before=DAWN,
                       limit=15, diary=diary)
    assert found == expected and len(found) == 15
    assert min(s.start for s in found) >= DAWN + timedelta(days=7)
    therapist_reads = [(s, e) for kind, s, e in diary.asked if kind == "therapists"]
    assert therapist_reads and min(s for s, _ in therapist_reads) >= DAWN + timedelta(days=7)
    assert diary.asked[0][0] == "rooms"  # rooms first: they decide where to look
