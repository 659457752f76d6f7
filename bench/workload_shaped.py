"""A clinic shaped unlike the one carepath was tuned on, written as an admin would load it.

``generate(size, seed, first_day, folder)`` writes a config folder (``clinic.yaml``,
``measures.yaml``, ``pathways/``) and three CSV files a clinic admin feeds the CLI:
``patients.csv`` (``carepath patients import``), ``existing.csv`` (``carepath appointments
import``: the diaries already booked by the previous system) and ``batch.csv`` (``carepath
enroll --batch``). Nothing here imports carepath: the files are the interface.

The shapes: therapists on early, standard and late shifts with lunch breaks; four-day weeks
(no Friday or no Wednesday); part-timers on Mon/Wed/Fri or Tue/Thu; a week of vacation for
half of them and single days off, plus a few hours' meeting now and then; pools and gait
trainers (one per ~11 therapists) with maintenance blocks of a few hours; diaries ~60 % full
in the first week, thinning to ~12 % by week 12; post-relapse episodes (an evaluation, 3 a
week for two weeks, 2 a week for four, a discharge visit), 15 % needing the pool and 15 % the
gait trainer; weekly and monthly boosters; progression reviews, some patients holding a
booster series and a review at once; patients who ask for particular weekdays or times;
arrivals spread over eight weeks.
"""

from __future__ import annotations

import csv
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import holidays as holidays_lib

SIZES = {"small": (5, 40), "medium": (30, 400), "large": (200, 4000)}  # therapists, patients
ZONE = "Europe/Berlin"
COUNTRY, SUBDIVISION = "DE", "BE"
HORIZON_WEEKS = 12
BULK_WEEKS = 52  # the most a bulk import's bookings spread over
ARRIVAL_WEEKS = 8
OPEN = "07:00-19:00"
SHIFTS = {  # working ranges with a lunch break
    "early": ["07:00-11:00", "11:30-15:00"],
    "standard": ["08:30-12:30", "13:00-17:00"],
    "late": ["10:30-14:00", "14:30-19:00"],
}
PATTERNS = (  # (share, weekdays worked)
    (0.50, ("mon", "tue", "wed", "thu", "fri")),
    (0.12, ("mon", "tue", "wed", "thu")),
    (0.08, ("mon", "tue", "thu", "fri")),
    (0.15, ("mon", "wed", "fri")),
    (0.15, ("tue", "thu")),
)
FILL_FIRST, FILL_LAST = 0.60, 0.12  # share of each therapist's hours already booked
PATHWAY_MIX = (  # (share of referrals, pathway id)
    (0.42, "post-relapse"), (0.09, "post-relapse-pool"), (0.09, "post-relapse-gait"),
    (0.18, "boosters-weekly"), (0.12, "boosters-monthly"), (0.10, "progression-review"),
)
BOTH_SHARE = 0.25  # booster patients who also hold a progression review


@dataclass
class Shaped:
    """What was written, for the bench to drive and check."""

    folder: Path
    first_day: date
    therapists: int
    patients: int
    existing: int
    requests: int
    visits: int
    notes: list[str] = field(default_factory=list)


def generate(size: str, seed: int, first_day: date, folder: Path,
             import_rows: int = 0) -> Shaped:
    """The clinic; with ``import_rows``, also ``bulk.csv`` and ``bulk-patients.csv``: that
    many bookings from a previous system, for an import timed on its own."""
    therapist_count, patient_count = SIZES[size]
    rng = random.Random(f"shaped-{size}-{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config"
    (config / "pathways").mkdir(parents=True, exist_ok=True)
    closed = _closed_days(first_day)
    therapists = [_therapist(i, first_day, rng) for i in range(therapist_count)]
    resources = _resources(therapist_count, first_day, rng)
    (config / "clinic.yaml").write_text(_clinic_yaml(therapists, resources), encoding="utf-8")
    shutil.copy(Path(__file__).resolve().parent.parent / "config" / "measures.yaml",
                config / "measures.yaml")
    for name, text in PATHWAYS.items():
        (config / "pathways" / f"{name}.yaml").write_text(text, encoding="utf-8")
    existing_rows, existing_patients = _existing(therapists, resources, first_day, closed, rng)
    patients, requests = _referrals(patient_count, first_day, closed, rng)
    _write_csv(folder / "patients.csv", PATIENT_COLUMNS, [*existing_patients, *patients])
    _write_csv(folder / "existing.csv", ("patient_id", "therapist_id", "visit_type", "start"),
               existing_rows)
    _write_csv(folder / "batch.csv", ("patient_id", "pathway_id", "start"), requests)
    if import_rows:
        bulk_rows, bulk_patients = _existing(therapists, resources, first_day, closed,
                                             random.Random(f"bulk-{size}-{seed}"),
                                             rows=import_rows)
        _write_csv(folder / "bulk-patients.csv", PATIENT_COLUMNS, bulk_patients)
        _write_csv(folder / "bulk.csv", ("patient_id", "therapist_id", "visit_type", "start"),
                   bulk_rows)
    visits = sum(VISITS[r["pathway_id"]] for r in requests)
    return Shaped(folder, first_day, therapist_count, patient_count, len(existing_rows),
                  len(requests), visits)


def _closed_days(first_day: date) -> set[date]:
    years = range(first_day.year, first_day.year + 2)
    return set(holidays_lib.country_holidays(COUNTRY, subdiv=SUBDIVISION, years=years))


@dataclass
class Staff:
    id: str
    skills: list[str]
    days: tuple[str, ...]
    shift: str
    leave: list[tuple[date, date, str | None, str]]  # from, to, hours or None, reason


def _therapist(index: int, first_day: date, rng: random.Random) -> Staff:
    share, days = rng.random(), PATTERNS[-1][1]
    for weight, pattern in PATTERNS:
        if share < weight:
            days = pattern
            break
        share -= weight
    skills = ["treatment"]
    if rng.random() < 0.6 or index == 0:
        skills.append("evaluation")
    if rng.random() < 0.3 or index == 1:
        skills.append("aquatic")
    if rng.random() < 0.3 or index == 2:
        skills.append("gait-training")
    leave: list[tuple[date, date, str | None, str]] = []
    if rng.random() < 0.5:
        monday = first_day + timedelta(weeks=rng.randrange(HORIZON_WEEKS))
        leave.append((monday, monday + timedelta(days=4), None, "Vacation"))
    for _ in range(rng.randrange(3)):
        day = first_day + timedelta(days=rng.randrange(7 * HORIZON_WEEKS))
        leave.append((day, day, None, "Day off"))
    if rng.random() < 0.4:  # a team meeting or a morning at another clinic
        day = first_day + timedelta(days=rng.randrange(7 * HORIZON_WEEKS))
        leave.append((day, day, "09:00-11:00", "Team meeting"))
    return Staff(f"pt{index + 1:03d}", skills, days, rng.choice(list(SHIFTS)), leave)


@dataclass
class Room:
    id: str
    name: str
    provides: str
    capacity: int
    maintenance: list[tuple[date, date, str | None]]


def _resources(therapists: int, first_day: date, rng: random.Random) -> list[Room]:
    gyms = -(-therapists * 4 // 5 // 20) or 1  # gyms hold 20 at once; they do not bind
    rooms = [Room(f"gym-{i + 1}", f"Gym {i + 1}", "gym", min(20, max(2, therapists * 4 // 5)),
                  []) for i in range(gyms)]
    rooms += [Room(f"treat-{i + 1}", f"Treatment room {i + 1}", "treatment-room", 1, [])
              for i in range(max(2, therapists // 3))]
    scarce = max(1, round(therapists / 11))
    for kind, tag in (("pool", "pool"), ("gait", "gait-trainer")):
        for i in range(scarce):
            maintenance = []
            for _ in range(1 + rng.randrange(3)):
                day = first_day + timedelta(days=rng.randrange(7 * HORIZON_WEEKS))
                start = rng.choice((7, 8, 10, 13, 15))
                hours = f"{start:02d}:00-{start + 2 + rng.randrange(3):02d}:00"
                maintenance.append((day, day, hours))
            rooms.append(Room(f"{kind}-{i + 1}", f"{kind.title()} {i + 1}", tag, 1,
                              maintenance))
    return rooms


def _clinic_yaml(therapists: list[Staff], rooms: list[Room]) -> str:
    lines = [
        "name: Lakeside Neuro Rehab", f"timezone: {ZONE}",
        "organizer_email: desk@lakeside-rehab.example", "address: 1 Seeufer, Berlin",
        "slot_step_minutes: 15", "new_episode_invites: digest", "patient_min_rest_days: 1",
        "opening_hours:", *[f"  {d}: [\"{OPEN}\"]" for d in ("mon", "tue", "wed", "thu", "fri")],
        "holidays:", f"  country: {COUNTRY}", f"  subdivision: {SUBDIVISION}",
        "resources:",
    ]
    for room in rooms:
        lines += [f"  - id: {room.id}", f"    name: {room.name}",
                  f"    provides: [{room.provides}]", f"    capacity: {room.capacity}"]
        if room.maintenance:
            lines.append("    maintenance:")
            for first, last, hours in room.maintenance:
                lines.append(f"      - {{from: {first}, to: {last}, reason: Service"
                             + (f", hours: \"{hours}\"" if hours else "") + "}")
    lines.append("therapists:")
    for staff in therapists:
        lines += [f"  - id: {staff.id}", f"    name: Therapist {staff.id[2:]}",
                  f"    email: {staff.id}@lakeside-rehab.example",
                  f"    skills: [{', '.join(staff.skills)}]", "    working_hours:"]
        lines += [f"      {d}: [{', '.join(chr(34) + r + chr(34) for r in SHIFTS[staff.shift])}]"
                  for d in staff.days]
        if staff.leave:
            lines.append("    leave:")
            for first, last, hours, reason in staff.leave:
                lines.append(f"      - {{from: {first}, to: {last}, reason: {reason}"
                             + (f", hours: \"{hours}\"" if hours else "") + "}")
    return "\n".join(lines) + "\n"


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _existing(therapists: list[Staff], rooms: list[Room], first_day: date, closed: set[date],
              rng: random.Random, rows: int = 0
              ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Bookings already in the diaries, thinning from ~60 % to ~12 % over 12 weeks; with
    ``rows``, that many at ~60 % for as many weeks as it takes (a bulk import).

    Each is a 45-minute treatment in the gym at a free quarter hour of the therapist's
    shift, away from their leave and meetings, for an existing patient free that day.
    """
    gym = sum(r.capacity for r in rooms if r.provides == "gym")
    patients = [f"EX{n:05d}" for n in range(max(20, len(therapists) * 25))]
    patient_days: dict[str, set[date]] = {}
    gym_use: dict[tuple[date, int], int] = {}
    booked_rows: list[dict[str, str]] = []
    for week in range(HORIZON_WEEKS if not rows else BULK_WEEKS):
        if rows and len(booked_rows) >= rows:
            break
        fill = FILL_FIRST + (FILL_LAST - FILL_FIRST) * week / (HORIZON_WEEKS - 1)
        fill = FILL_FIRST if rows else fill
        for offset in range(5):
            day = first_day + timedelta(weeks=week, days=offset)
            if day in closed:
                continue
            for staff in therapists:
                if WEEKDAY_NAMES[day.weekday()] not in staff.days or _on_leave(staff, day):
                    continue
                starts = [m for r in SHIFTS[staff.shift] for m in _quarters(r, 45)]
                booked = 0
                target = fill * sum(_minutes(r) for r in SHIFTS[staff.shift]) / 45
                taken: list[tuple[int, int]] = []
                for start in rng.sample(starts, len(starts)):
                    if booked >= round(target):
                        break
                    if any(s < start + 45 and start < e for s, e in taken):
                        continue
                    slots = [(day, q) for q in range(start // 15, (start + 45) // 15)]
                    if any(gym_use.get(s, 0) >= gym for s in slots):
                        continue
                    patient = rng.choice(patients)
                    if day in patient_days.setdefault(patient, set()):
                        continue
                    patient_days[patient].add(day)
                    for s in slots:
                        gym_use[s] = gym_use.get(s, 0) + 1
                    taken.append((start, start + 45))
                    booked += 1
                    booked_rows.append({"patient_id": patient, "therapist_id": staff.id,
                                        "visit_type": "treatment",
                                        "start": f"{day} {start // 60:02d}:{start % 60:02d}"})
    if rows:
        booked_rows = booked_rows[:rows]
        patient_days = {p: patient_days[p] for p in {r["patient_id"] for r in booked_rows}}
    people = [_patient(p, random.Random(p)) for p in patients if p in patient_days]
    return sorted(booked_rows, key=lambda r: (r["start"], r["therapist_id"])), people


def _on_leave(staff: Staff, day: date) -> bool:
    return any(first <= day <= last and hours is None for first, last, hours, _ in staff.leave)


def _minutes(clock_range: str) -> int:
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in clock_range.split("-"))
    return end - start


def _quarters(clock_range: str, length: int) -> list[int]:
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in clock_range.split("-"))
    meeting = (9 * 60, 11 * 60)  # keep clear of the generated meetings' hours
    return [m for m in range(start, end - length + 1, 15)
            if not (m < meeting[1] and meeting[0] < m + length)]


PATIENT_COLUMNS = ("id", "name", "email", "preferred_weekdays", "time_windows",
                   "heat_sensitive")


def _patient(ident: str, rng: random.Random) -> dict[str, str]:
    days, windows = "", ""
    if rng.random() < 0.2:
        days = ",".join(sorted(rng.sample(WEEKDAY_NAMES[:5], rng.choice((2, 3))),
                               key=WEEKDAY_NAMES.index))
    if rng.random() < 0.15:
        windows = rng.choice(("08:00-12:00", "13:00-18:00"))
    return {"id": ident, "name": f"Patient {ident}", "email": f"{ident.lower()}@mail.example",
            "preferred_weekdays": days, "time_windows": windows,
            "heat_sensitive": "yes" if rng.random() < 0.1 else "no"}


def _referrals(count: int, first_day: date, closed: set[date], rng: random.Random
               ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    patients, requests = [], []
    for n in range(count):
        ident = f"NEW{n:05d}"
        patients.append(_patient(ident, rng))
        share, pathway = rng.random(), PATHWAY_MIX[-1][1]
        for weight, name in PATHWAY_MIX:
            if share < weight:
                pathway = name
                break
            share -= weight
        start = _open_day(first_day + timedelta(days=rng.randrange(7 * ARRIVAL_WEEKS)), closed)
        requests.append({"patient_id": ident, "pathway_id": pathway, "start": str(start)})
        if pathway.startswith("boosters") and rng.random() < BOTH_SHARE:
            review = _open_day(start + timedelta(days=rng.randrange(14)), closed)
            requests.append({"patient_id": ident, "pathway_id": "progression-review",
                             "start": str(review)})
    return patients, requests


def _open_day(day: date, closed: set[date]) -> date:
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


_VISIT_TYPES = """\
  evaluation:
    name: Evaluation
    duration_minutes: 60
    needs: {resources: [treatment-room], skills: [evaluation]}
  treatment:
    name: Treatment
    duration_minutes: 45
    needs: {resources: [gym], skills: [treatment]}
  aquatic:
    name: Aquatic therapy
    duration_minutes: 45
    needs: {resources: [pool], skills: [aquatic]}
  gait:
    name: Gait training
    duration_minutes: 45
    needs: {resources: [gait-trainer], skills: [gait-training]}
  discharge:
    name: Discharge visit
    duration_minutes: 45
    needs: {resources: [treatment-room], skills: [evaluation]}
"""


def _post_relapse(ident: str, special: str | None) -> str:
    early, late = (2, 1) if special else (3, 2)
    cadence = [f"  - {{weeks: 1-2, visit: treatment, per_week: {early}}}",
               f"  - {{weeks: 3-6, visit: treatment, per_week: {late}}}"]
    if special:
        cadence.append(f"  - {{weeks: 1-6, visit: {special}, per_week: 1}}")
    return (f"id: {ident}\nname: Post-relapse {special or ''}\nversion: 1\n"
            "length: {min_weeks: 6, max_weeks: 8}\nvisit_types:\n" + _VISIT_TYPES
            + "first_visit: evaluation\nlast_visit: discharge\ncadence:\n"
            + "\n".join(cadence) + "\nmin_rest_days: 1\n")


PATHWAYS = {
    "post-relapse": _post_relapse("post-relapse", None),
    "post-relapse-pool": _post_relapse("post-relapse-pool", "aquatic"),
    "post-relapse-gait": _post_relapse("post-relapse-gait", "gait"),
    "boosters-weekly": ("id: boosters-weekly\nname: Weekly boosters\nversion: 1\n"
                        "length: {min_weeks: 8, max_weeks: 9}\nvisit_types:\n" + _VISIT_TYPES
                        + "cadence:\n  - {weeks: 1-8, visit: treatment, per_week: 1}\n"
                        "min_rest_days: 1\n"),
    "boosters-monthly": ("id: boosters-monthly\nname: Monthly boosters\nversion: 1\n"
                         "length: {min_weeks: 9, max_weeks: 10}\nvisit_types:\n" + _VISIT_TYPES
                         + "cadence:\n  - {weeks: 1-9, visit: treatment, every_weeks: 4}\n"
                         "min_rest_days: 1\n"),
    "progression-review": ("id: progression-review\nname: Progression review\nversion: 1\n"
                           "length: {min_weeks: 3, max_weeks: 4}\nvisit_types:\n"
                           + _VISIT_TYPES + "first_visit: evaluation\n"
                           "cadence:\n  - {weeks: 1-3, visit: treatment, every_weeks: 2}\n"
                           "min_rest_days: 1\n"),
}
VISITS = {"post-relapse": 14, "post-relapse-pool": 14, "post-relapse-gait": 14,
          "boosters-weekly": 8, "boosters-monthly": 3, "progression-review": 2}
