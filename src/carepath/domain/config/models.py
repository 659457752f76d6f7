"""Configuration as typed, frozen values: the clinic, its measures and its pathways.

These models check the shape of each file (types, unknown keys, ranges inside one field).
Rules that span fields or files live in ``config_checks``; reading YAML and mapping errors
to file and line lives in ``carepath.config.loader``.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from carepath.domain.config.types import (
    Email,
    Identifier,
    Invalid,
    Phone,
    PlainText,
    Sentence,
    WebLink,
    country_code,
    parse_range,
    parse_ranges,
    web_address,
    zone_hint,
)
from carepath.domain.timeutil import WEEKDAYS, ClockRange, is_valid_zone


class Strict(BaseModel):
    """Base: unknown keys are errors (typos are the commonest admin mistake); values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class WeeklyHours(Strict):
    """Clock ranges per weekday; a missing weekday means closed / not working."""

    mon: list[ClockRange] = []
    tue: list[ClockRange] = []
    wed: list[ClockRange] = []
    thu: list[ClockRange] = []
    fri: list[ClockRange] = []
    sat: list[ClockRange] = []
    sun: list[ClockRange] = []

    _ranges = field_validator(*WEEKDAYS, mode="before")(parse_ranges)

    def on(self, weekday: int) -> list[ClockRange]:
        """The ranges for ``date.weekday()`` (Monday is 0)."""
        ranges: list[ClockRange] = getattr(self, WEEKDAYS[weekday])
        return ranges

    def open_weekdays(self) -> list[int]:
        return [i for i in range(7) if self.on(i)]


class Period(Strict):
    """An inclusive date range, e.g. a therapist's leave or a room's maintenance.

    With ``hours`` ("09:00-11:00") only those hours of each day are taken: a meeting, a
    morning at another clinic, a few hours' service of the pool. Without, whole days.
    """

    from_: date = Field(alias="from")
    to: date
    reason: PlainText | None = None
    hours: ClockRange | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _hours = field_validator("hours", mode="before")(parse_range)

    def covers(self, day: date) -> bool:
        """True when the whole of ``day`` is taken (a period with ``hours`` never is)."""
        return self.hours is None and self.from_ <= day <= self.to

    def blocks(self, day: date) -> ClockRange | None:
        """The hours of ``day`` this period takes, when it takes only part of it."""
        return self.hours if self.hours is not None and self.from_ <= day <= self.to else None


class Closure(Strict):
    date: date
    reason: PlainText | None = None


class Holidays(Strict):
    country: Annotated[str, AfterValidator(country_code)]
    subdivision: Annotated[str, Field(max_length=10)] | None = None


class Resource(Strict):
    """A room or a piece of equipment; ``provides`` are the tags visit needs refer to."""

    id: Identifier
    name: PlainText
    kind: Literal["room", "equipment"] = "room"
    provides: list[Identifier] = Field(min_length=1)
    capacity: int = Field(default=1, ge=1, le=50)
    maintenance: list[Period] = []


class Therapist(Strict):
    id: Identifier
    name: PlainText
    email: Email
    skills: list[Identifier] = []
    senior: bool = False
    working_hours: WeeklyHours
    leave: list[Period] = []
    caldav_url: Annotated[str, AfterValidator(web_address)] | None = None


class Clinic(Strict):
    """The clinic: where, when it is open, who works, which rooms and equipment it has."""

    name: PlainText
    timezone: str
    organizer_email: Email
    address: PlainText
    # What every patient email shows: how to reach the clinic and get in.
    phone: Phone | None = None
    website: WebLink | None = None
    directions: Sentence | None = None
    parking: Sentence | None = None
    accessible_entrance: Sentence | None = None
    cancellation_notice_hours: int = Field(default=24, ge=0, le=24 * 14)
    opening_hours: WeeklyHours
    holidays: Holidays | None = None
    closures: list[Closure] = []
    heat_safe_before: time = time(11, 0)
    slot_step_minutes: int = Field(default=15, ge=5, le=60)
    invite_detail: Literal["initials", "full_name"] = "initials"
    new_episode_invites: Literal["per_visit", "digest"] = "per_visit"
    reminder_hours_before: int = Field(default=24, ge=1, le=24 * 14)
    # Days between any two visits of one patient, across all their episodes (a booster
    # series and a progression review held at once); each pathway's own rest days still hold.
    patient_min_rest_days: int = Field(default=0, ge=0, le=6)
    # "Least loaded" by booked minutes, or by the share of each therapist's own hours.
    balance_load_by: Literal["minutes", "utilisation"] = "minutes"
    resources: list[Resource] = Field(min_length=1)
    therapists: list[Therapist] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        if not is_valid_zone(value):
            raise Invalid("not an IANA time zone", zone_hint(value))
        return value


Direction = Literal["higher", "lower"]


class Threshold(Strict):
    """A change size: absolute in the measure's unit, or percent of the earlier value."""

    value: float = Field(gt=0)
    kind: Literal["absolute", "percent"] = "absolute"


class Stratum(Strict):
    """Thresholds for one disability stratum (EDSS ≤ 4 or > 4), where the literature
    gives them; what a stratum leaves out falls back to the measure's own."""

    mcid: Threshold | None = None
    worsening_mcid: Threshold | None = None
    noise: Threshold | None = None
    source: PlainText | None = None


class Measure(Strict):
    name: PlainText
    unit: PlainText
    better: Direction
    scale: Literal["continuous", "ordinal"] = "continuous"
    min: float | None = None
    max: float | None = None
    levels: list[str] = []
    mcid: Threshold | None = None
    worsening_mcid: Threshold | None = None
    noise: Threshold | None = None
    worsening_noise: Threshold | None = None  # asymmetric noise (TUG: −23 % / +31 %)
    whole_numbers: bool = False  # scored in whole points (Berg, GAS): 41.5 is a typo
    flag_only: bool = False  # no published MCID: a change is flagged for a look, no verdict
    stall_at_or_below: float | None = None  # GAS: −1 or lower at a review is a stall
    strata: dict[Literal["edss_4_or_less", "edss_above_4"], Stratum] = {}
    source: PlainText | None = None

    @model_validator(mode="after")
    def _range_or_levels(self) -> Measure:
        if self.scale == "ordinal" and len(self.levels) < 2:
            raise Invalid("an ordinal measure needs at least two levels",
                          "list the levels from lowest to highest", field="levels")
        if self.scale == "continuous" and (self.min is None or self.max is None):
            raise Invalid("a continuous measure needs min and max (its valid range)",
                          "add min: and max:", field="max" if self.min is not None else "min")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise Invalid(f"min must be below max ({self.max:g})",
                          "swap min and max, or correct the value", field="min")
        return self


class MeasuresFile(Strict):
    measures: dict[Identifier, Measure] = Field(min_length=1)


class Needs(Strict):
    resources: list[Identifier] = []
    skills: list[Identifier] = []


class VisitType(Strict):
    name: PlainText
    duration_minutes: int = Field(ge=10, le=480)
    needs: Needs = Needs()
    caregiver_invited: bool = False


class WeekRange(Strict):
    first: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, int):
            return {"first": value, "last": value}
        if isinstance(value, str) and "-" in value:
            first, _, last = value.partition("-")
            if first.strip().isdigit() and last.strip().isdigit():
                return {"first": int(first), "last": int(last)}
            raise Invalid("expected weeks like 1-2 or 3", "write the first and last week as "
                          "whole numbers joined by -")
        if isinstance(value, str) and value.strip().isdigit():
            return {"first": int(value), "last": int(value)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> WeekRange:
        if self.last < self.first:
            raise Invalid(f"weeks {self.first}-{self.last} end before they start",
                          f"write {self.last}-{self.first}")
        return self

    def __str__(self) -> str:
        return f"{self.first}-{self.last}" if self.first != self.last else str(self.first)


class Cadence(Strict):
    """How often a visit type happens over a run of weeks: N per week, or one every N weeks."""

    weeks: WeekRange
    visit: Identifier
    per_week: int | None = Field(default=None, ge=1, le=7)
    every_weeks: int | None = Field(default=None, ge=1, le=52)

    @model_validator(mode="after")
    def _one_rate(self) -> Cadence:
        if (self.per_week is None) == (self.every_weeks is None):
            raise Invalid("give exactly one of per_week or every_weeks",
                          "per_week: N for N visits each week, every_weeks: N for one visit "
                          "every N weeks")
        return self


class Length(Strict):
    min_weeks: int = Field(ge=1, le=260)
    max_weeks: int = Field(ge=1, le=260)

    @model_validator(mode="after")
    def _ordered(self) -> Length:
        if self.max_weeks < self.min_weeks:
            raise Invalid(f"max_weeks is below min_weeks ({self.min_weeks})",
                          "raise max_weeks or lower min_weeks", field="max_weeks")
        return self


class FirstVisitWindow(Strict):
    """When an episode's first visit may be: days after the referral (the batch line's
    ``referred`` date, else the episode's start). ``first_visit_window: 14`` means 0 to 14."""

    earliest_days: int = Field(default=0, ge=0, le=365)
    latest_days: int = Field(ge=0, le=365)

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"earliest_days": 0, "latest_days": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FirstVisitWindow:
        if self.latest_days < self.earliest_days:
            raise Invalid(f"latest_days is below earliest_days ({self.earliest_days})",
                          "raise latest_days or lower earliest_days", field="latest_days")
        return self


class GoalTemplate(Strict):
    measure: Identifier
    target: Literal["mcid", "maintain"] = "mcid"


class Goals(Strict):
    measures: list[GoalTemplate] = []
    review_every_weeks: int = Field(default=2, ge=1, le=26)


class TwoHourRule(Strict):
    failures: int = Field(default=2, ge=1)
    within_days: int = Field(default=7, ge=1)


class StallRule(Strict):
    consecutive_no_change_reviews: int = Field(default=2, ge=1, le=10)
    worsening_escalates_at_once: bool = True
    two_hour_rule: TwoHourRule = TwoHourRule()
    no_shows: int = Field(default=2, ge=1)


class EscalationStep(Strict):
    level: int = Field(ge=1, le=5)
    action: Literal["book_reassessment", "case_review"]
    within_days: int = Field(default=5, ge=1, le=60)
    visit: Identifier | None = None
    notify_physician: bool = False
    propose_pathway: Identifier | None = None


class Transitions(Strict):
    on_complete: Identifier | None = None
    on_relapse: Identifier | None = None


class Timeline(Strict):
    """Which episodes may run together, and what a relapse does to this one."""

    # Exclusive groups: a patient has at most one running episode in each group. Every
    # pathway is also exclusive with itself (one running episode of it per patient).
    exclusive: list[Identifier] = []
    relapse: Literal["hold", "cancel", "keep"] = "hold"


class Pathway(Strict):
    """One care pathway, as a clinic admin writes it."""

    id: Identifier
    name: PlainText
    version: int = Field(ge=1)
    description: str = ""
    length: Length
    visit_types: dict[Identifier, VisitType] = Field(min_length=1)
    first_visit: Identifier | None = None
    last_visit: Identifier | None = None
    # Days after the referral within which the first visit must be booked; past it, the
    # first visit is wait-listed with this reason, never booked late.
    first_visit_window: FirstVisitWindow | None = None
    cadence: list[Cadence] = Field(min_length=1)
    # "from_start": week 1 is the 7 days from the episode's start. "calendar": weeks run
    # Monday to Sunday; a partial first week gets its per_week count pro rata.
    weeks_are: Literal["from_start", "calendar"] = "from_start"
    min_rest_days: int = Field(default=0, ge=0, le=6)
    same_day_visits: bool = False
    goals: Goals = Goals()
    stall_rule: StallRule = StallRule()
    escalation: list[EscalationStep] = []
    transitions: Transitions = Transitions()
    timeline: Timeline = Timeline()


class Config(BaseModel):
    """Everything loaded from a config directory, checked and cross-checked."""

    model_config = ConfigDict(frozen=True)

    clinic: Clinic
    measures: dict[str, Measure]
    pathways: dict[str, Pathway]

    def pathway(self, pathway_id: str) -> Pathway:
        from carepath.errors import NotFound

        try:
            return self.pathways[pathway_id]
        except KeyError:
            known = ", ".join(sorted(self.pathways))
            raise NotFound("pathway", pathway_id, f"known pathways: {known}") from None

    def therapist(self, therapist_id: str) -> Therapist:
        from carepath.errors import NotFound

        for therapist in self.clinic.therapists:
            if therapist.id == therapist_id:
                return therapist
        known = ", ".join(t.id for t in self.clinic.therapists)
        raise NotFound("therapist", therapist_id, f"known therapists: {known}")
