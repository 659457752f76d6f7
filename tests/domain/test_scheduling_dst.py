"""Weekly visits keep their wall-clock time across daylight-saving changes, north and south."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from carepath.domain.config.models import Clinic, VisitType
from carepath.domain.scheduling import (
    Busy,
    Placement,
    Unplaced,
    VisitRequest,
    check_slot,
    free_slots,
    schedule_episode,
)
from carepath.domain.scheduling.one_visit import requirement_for
from carepath.domain.scheduling.planning import PatientPreferences, VisitRequirement, plan_episode
from carepath.domain.timeutil import ClockRange
from scheduling_helpers import make_clinic, make_pathway, therapist

NINE = PatientPreferences(windows=(ClockRange.parse("09:00-09:45"),))
WEEKLY_40 = [{"weeks": "1-40", "visit": "visit", "per_week": 1}]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney"])
def test_a_weekly_nine_o_clock_visit_stays_at_nine_across_both_changes(zone: str) -> None:
    """Forty weekly visits from March cross both DST changes of the zone; every one starts
    at 09:00 local, so the UTC offset changes twice."""
    tz = ZoneInfo(zone)
    plan = plan_episode(make_pathway(WEEKLY_40, weeks=40), date(2027, 3, 1), NINE)
    result = schedule_episode(plan, make_clinic(zone=zone), Busy(), zone=tz,
                              not_before=datetime(2027, 3, 1, tzinfo=tz))
    assert result.complete
    local = [p.start.astimezone(tz) for p in result.placements]
    assert {m.time() for m in local} == {time(9, 0)}
    assert len({m.utcoffset() for m in local}) == 2
    offsets = [m.utcoffset() for m in local]
    assert offsets[0] != offsets[15] and offsets[0] == offsets[-1]  # changed, and back


def _night_clinic(zone: str) -> Clinic:
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return make_clinic(zone=zone, opening_hours={d: ["00:00-24:00"] for d in every_day},
                       therapists=[therapist("t1", hours="00:00-24:00", days=every_day)])


def _visit_req(day: date) -> VisitRequirement:
    pathway = make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}], minutes=30)
    return requirement_for(pathway.visit_types["visit"], "visit", day, day)


def test_the_twice_happening_hour_holds_two_different_visits() -> None:
    """01:30 happens twice on 7 November 2027 in New York: 01:30 EDT and 01:30 EST are an
    hour apart, so the same therapist can see two patients at "01:30"."""
    tz = ZoneInfo("America/New_York")
    clinic, busy, day = _night_clinic("America/New_York"), Busy(), date(2027, 11, 7)
    first = datetime(2027, 11, 7, 1, 30, tzinfo=tz, fold=0)
    second = datetime(2027, 11, 7, 1, 30, tzinfo=tz, fold=1)
    for patient, start in (("a", first), ("b", second)):
        request = VisitRequest(_visit_req(day), patient_id=patient, same_day_visits=True,
                               therapist_id="t1")
        placed = check_slot(request, clinic, busy, zone=tz, start=start)
        assert isinstance(placed, Placement), placed
    clash = check_slot(VisitRequest(_visit_req(day), patient_id="c", therapist_id="t1"),
                       clinic, busy, zone=tz, start=first)
    assert isinstance(clash, Unplaced) and clash.taken


def test_sydney_april_fall_back_night_keeps_slots_on_the_local_grid() -> None:
    """On 4 April 2027 in Sydney (clocks go back at 03:00) free slots still start on the
    local quarter hours, and none starts twice at the same instant."""
    tz = ZoneInfo("Australia/Sydney")
    clinic = _night_clinic("Australia/Sydney")
    slots = free_slots(_pathway_visit(), clinic, Busy(), zone=tz,
                       not_before=datetime(2027, 4, 4, 1, 0, tzinfo=tz), limit=20)
    starts = [s.start for s in slots]
    assert len(set(starts)) == len(starts)
    assert all(s.astimezone(tz).minute % 15 == 0 for s in starts)
    assert len({s.astimezone(tz).utcoffset() for s in starts}) == 2


def _pathway_visit() -> VisitType:
    return make_pathway([{"weeks": 1, "visit": "visit", "per_week": 1}],
                        minutes=30).visit_types["visit"]
