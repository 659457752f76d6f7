"""A patient's care timeline: which episodes may run together, and what each event does.

Pure: the service loads a ``Timeline`` (the patient's episodes and each pathway's rules),
asks ``decide(timeline, event)`` for a ``Decision``, and applies that decision in one
transaction. Nothing here reads the database or the clock.

Exclusivity is by *lanes*. Each pathway occupies its own id and the exclusive groups named
under its ``timeline.exclusive`` key; a *running* episode (planned or active) holds its
lanes, and no two running episodes of one patient may share a lane. The bundled pathways
put boosters and post-relapse care in the ``series`` lane and post-relapse care and the
progression review in the ``review`` lane: boosters and a review may run side by side,
post-relapse care runs alone. The database holds the same rule (``episode_claim``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from carepath.errors import InputError, InvalidTransition

RUNNING = frozenset({"planned", "active"})  # holds its lanes and may have future visits
OPEN = RUNNING | {"on_hold"}  # not over yet: can still be resumed or closed
CLOSED = frozenset({"finished", "cancelled"})
STATES = ("planned", "active", "on_hold", "finished", "cancelled")

# Which episode states accept which event, and the state each goes to. One table: the
# manual's lifecycle section is generated from it and ``domain.episodes`` derives from it.
EPISODE_EVENTS: Mapping[str, Mapping[str, str]] = {
    "activate": {"planned": "active"},
    "complete": {"active": "finished", "on_hold": "finished"},
    "continue": {"active": "finished"},
    "relapse": {"planned": "on_hold", "active": "on_hold"},
    "hold": {"active": "on_hold"},
    "resume": {"on_hold": "active"},
    "cancel": {"planned": "cancelled", "active": "cancelled", "on_hold": "cancelled"},
    "supersede": {"on_hold": "finished"},
    "discharge": {"planned": "cancelled", "active": "finished", "on_hold": "finished"},
}

EVENT_MEANINGS: Mapping[str, str] = {
    "activate": "its visits are booked (enrolment)",
    "complete": "the series is over; remaining visits cancelled, `on_complete` enrolled",
    "continue": "a booster series runs on; its future visits move to the next series",
    "relapse": "a relapse is reported: held (`timeline.relapse: hold`), future visits cancelled",
    "hold": "paused by hand; future visits cancelled",
    "resume": "back to active once its lanes are free (book visits again by hand)",
    "cancel": "stopped; future visits cancelled",
    "supersede": "a held series is over: the next one in its lane has started",
    "discharge": "the patient leaves care: every open episode closed",
}

RelapseAction = Literal["hold", "cancel", "keep"]


class TimelineConflict(InputError):
    """An event the timeline refuses (two running episodes in one lane), with the way out."""


@dataclass(frozen=True)
class PathwayRules:
    """What the timeline needs from one pathway's config."""

    pathway_id: str
    exclusive: frozenset[str] = frozenset()
    on_complete: str | None = None
    on_relapse: str | None = None
    relapse_action: RelapseAction = "hold"

    @property
    def lanes(self) -> frozenset[str]:
        return self.exclusive | {self.pathway_id}


@dataclass(frozen=True)
class EpisodeView:
    id: int
    pathway_id: str
    state: str
    start_date: date
    label: str = ""  # how an error names it; default "episode N"

    @property
    def name(self) -> str:
        return self.label or f"episode {self.id}"


@dataclass(frozen=True)
class Timeline:
    patient_id: str
    episodes: tuple[EpisodeView, ...]
    rules: Mapping[str, PathwayRules]

    def rule(self, pathway_id: str) -> PathwayRules:
        return self.rules.get(pathway_id) or PathwayRules(pathway_id)

    def episode(self, episode_id: int) -> EpisodeView:
        for episode in self.episodes:
            if episode.id == episode_id:
                return episode
        raise TimelineConflict(f"episode {episode_id}", f"is not {self.patient_id}'s",
                               "list their episodes with: carepath episodes list")

    def running(self) -> list[EpisodeView]:
        return [e for e in self.episodes if e.state in RUNNING]


# Events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Complete:
    episode_id: int
    follow: str | None = None  # default: the pathway's on_complete
    note: str = ""


@dataclass(frozen=True)
class Continue:
    """A rolling series runs on: finished, its future visits carried to the next one."""

    episode_id: int
    note: str = "series continued"


@dataclass(frozen=True)
class Relapse:
    pass


@dataclass(frozen=True)
class Hold:
    episode_id: int
    note: str = "on hold"


@dataclass(frozen=True)
class Resume:
    episode_id: int


@dataclass(frozen=True)
class Cancel:
    episode_id: int
    note: str = "cancelled"


@dataclass(frozen=True)
class Discharge:
    note: str = "discharged"


@dataclass(frozen=True)
class Enrol:
    """A new episode: by hand, from a batch, or an accepted escalation proposal."""

    pathway_id: str
    start: date
    reason: str = "enrolment"


@dataclass(frozen=True)
class Accept:
    """An escalation's proposed pathway accepted: it starts, and the episode that proposed it
    ends when the two may not run together (a stalled post-relapse episode → a review)."""

    episode_id: int
    pathway_id: str


@dataclass(frozen=True)
class ReviewDue:
    """A periodic review has fallen due; enrolled only if the timeline allows it now."""

    pathway_id: str


Event = (Complete | Continue | Relapse | Hold | Resume | Cancel | Discharge | Enrol | Accept
         | ReviewDue)


# Decisions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StateChange:
    episode_id: int
    event: str
    before: str
    after: str
    cancel_visits: bool  # its booked future visits are cancelled (one CANCEL email)
    carry_visits: bool = False  # its booked future visits move to the successor instead
    note: str = ""


@dataclass(frozen=True)
class NewEpisode:
    pathway_id: str
    previous_episode_id: int | None
    start: date | None  # None: the service picks the next open day
    reason: str


@dataclass(frozen=True)
class Decision:
    changes: tuple[StateChange, ...] = ()
    enrol: NewEpisode | None = None
    existing_episode_id: int | None = None  # an identical request: nothing to do
    skipped: str = ""  # a review not due after all, and why

    @property
    def empty(self) -> bool:
        return not self.changes and self.enrol is None


def next_state(episode_id: object, state: str, event: str) -> str:
    """The state ``event`` moves an episode to, or ``InvalidTransition`` naming both."""
    row = EPISODE_EVENTS.get(event)
    if row is None or state not in row:
        wanted = next(iter(row.values())) if row else event
        raise InvalidTransition("episode", episode_id, state, wanted)
    return row[state]


def decide(timeline: Timeline, event: Event) -> Decision:
    """What ``event`` does to the patient's episodes; raises when it cannot happen."""
    match event:
        case Complete(episode_id, follow, note):
            return _complete(timeline, episode_id, follow, note, "complete")
        case Continue(episode_id, note):
            pathway = timeline.episode(episode_id).pathway_id
            return _complete(timeline, episode_id, pathway, note, "continue")
        case Relapse():
            return _relapse(timeline)
        case Hold(episode_id, note):
            return _single(timeline, episode_id, "hold", note, cancel_visits=True)
        case Resume(episode_id):
            return _resume(timeline, episode_id)
        case Cancel(episode_id, note):
            return _single(timeline, episode_id, "cancel", note, cancel_visits=True)
        case Discharge(note):
            return _discharge(timeline, note)
        case Enrol(pathway_id, start, reason):
            return _enrol(timeline, pathway_id, start, reason)
        case Accept(episode_id, pathway_id):
            return _accept(timeline, episode_id, pathway_id)
        case ReviewDue(pathway_id):
            return _review_due(timeline, pathway_id)
    raise AssertionError(f"unknown event {event!r}")


def _change(episode: EpisodeView, event: str, note: str, *, cancel_visits: bool,
            carry_visits: bool = False) -> StateChange:
    after = next_state(episode.id, episode.state, event)
    return StateChange(episode.id, event, episode.state, after, cancel_visits and
                       not carry_visits and episode.state in RUNNING, carry_visits, note)


def _single(timeline: Timeline, episode_id: int, event: str, note: str, *,
            cancel_visits: bool) -> Decision:
    episode = timeline.episode(episode_id)
    return Decision((_change(episode, event, note, cancel_visits=cancel_visits),))


def _complete(timeline: Timeline, episode_id: int, follow: str | None, note: str,
              event: str) -> Decision:
    episode = timeline.episode(episode_id)
    change = _change(episode, event, note, cancel_visits=True,
                     carry_visits=event == "continue")
    changes = [change]
    follow = follow or timeline.rule(episode.pathway_id).on_complete
    if not follow:
        return Decision(tuple(changes))
    after = _apply(timeline, changes)
    blocked = _blocking(after, timeline.rule(follow).lanes, timeline)
    changes += [_change(e, "supersede", f"replaced by {follow}", cancel_visits=False)
                for e in _held_in(timeline, changes, timeline.rule(follow).lanes)]
    if blocked:
        raise _conflict(timeline, follow, blocked)
    return Decision(tuple(changes), NewEpisode(follow, episode.id, None, event))


def _relapse(timeline: Timeline) -> Decision:
    running = timeline.running()
    if not running:
        raise TimelineConflict(f"patient {timeline.patient_id}", "has no running episode to hold",
                               "enrol them directly: carepath enroll PATIENT post-relapse "
                               "--start …")
    changes = []
    for episode in running:
        action = timeline.rule(episode.pathway_id).relapse_action
        if action != "keep":
            event = "relapse" if action == "hold" else "cancel"
            changes.append(_change(episode, event, "relapse reported", cancel_visits=True))
    # The post-relapse pathway comes from the first running episode that names one.
    source = next((e for e in running if timeline.rule(e.pathway_id).on_relapse), None)
    if source is None:
        return Decision(tuple(changes))
    follow = str(timeline.rule(source.pathway_id).on_relapse)
    after = _apply(timeline, changes)
    blocked = _blocking(after, timeline.rule(follow).lanes, timeline)
    if blocked:
        raise _conflict(timeline, follow, blocked)
    return Decision(tuple(changes), NewEpisode(follow, source.id, None, "relapse"))


def _resume(timeline: Timeline, episode_id: int) -> Decision:
    episode = timeline.episode(episode_id)
    change = _change(episode, "resume", "resumed", cancel_visits=False)
    others = [e for e in timeline.running() if e.id != episode_id]
    blocked = _blocking(others, timeline.rule(episode.pathway_id).lanes, timeline)
    if blocked:
        raise _conflict(timeline, episode.pathway_id, blocked, verb="resume")
    return Decision((change,))


def _discharge(timeline: Timeline, note: str) -> Decision:
    changes = tuple(_change(e, "discharge", note, cancel_visits=True)
                    for e in timeline.episodes if e.state in OPEN)
    if not changes:
        raise TimelineConflict(f"patient {timeline.patient_id}", "has no open episode",
                               "nothing to discharge")
    return Decision(changes)


def _enrol(timeline: Timeline, pathway_id: str, start: date, reason: str) -> Decision:
    running = timeline.running()
    for episode in running:
        if episode.pathway_id == pathway_id and episode.start_date == start:
            return Decision(existing_episode_id=episode.id)  # the same request again
    blocked = _blocking(running, timeline.rule(pathway_id).lanes, timeline)
    if blocked:
        raise _conflict(timeline, pathway_id, blocked)
    return Decision(enrol=NewEpisode(pathway_id, None, start, reason))


def _accept(timeline: Timeline, episode_id: int, pathway_id: str) -> Decision:
    episode = timeline.episode(episode_id)
    note = f"proposal accepted: {pathway_id}"
    if episode.state in RUNNING and (timeline.rule(episode.pathway_id).lanes
                                     & timeline.rule(pathway_id).lanes):
        return _complete(timeline, episode_id, pathway_id, note, "complete")
    blocked = _blocking(timeline.running(), timeline.rule(pathway_id).lanes, timeline)
    if blocked:
        raise _conflict(timeline, pathway_id, blocked)
    return Decision(enrol=NewEpisode(pathway_id, episode_id, None, "proposal accepted"))


def _review_due(timeline: Timeline, pathway_id: str) -> Decision:
    blocked = _blocking(timeline.running(), timeline.rule(pathway_id).lanes, timeline)
    if blocked:
        names = ", ".join(f"{e.pathway_id} {e.name}" for e in blocked)
        return Decision(skipped=f"not beside {names}")
    return Decision(enrol=NewEpisode(pathway_id, None, None, "review due"))


def _apply(timeline: Timeline, changes: list[StateChange]) -> list[EpisodeView]:
    """The running episodes once ``changes`` are made."""
    after = {c.episode_id: c.after for c in changes}
    return [e for e in timeline.episodes if after.get(e.id, e.state) in RUNNING]


def _blocking(running: list[EpisodeView], lanes: frozenset[str],
              timeline: Timeline) -> list[EpisodeView]:
    return [e for e in running if timeline.rule(e.pathway_id).lanes & lanes]


def _held_in(timeline: Timeline, changes: list[StateChange],
             lanes: frozenset[str]) -> list[EpisodeView]:
    """Episodes still held once ``changes`` are made that a successor replaces: they share
    its lanes and would never resume. (A held episode being completed is not one of them.)"""
    after = {c.episode_id: c.after for c in changes}
    return [e for e in timeline.episodes if after.get(e.id, e.state) == "on_hold"
            and timeline.rule(e.pathway_id).lanes & lanes]


def _conflict(timeline: Timeline, pathway_id: str, blocked: list[EpisodeView],
              verb: str = "start") -> TimelineConflict:
    names = ", ".join(f"{e.pathway_id} {e.name} ({e.state})" for e in blocked)
    return TimelineConflict(
        f"patient {timeline.patient_id}", f"cannot {verb} {pathway_id} beside {names}",
        "complete, hold or cancel that episode first (carepath episodes …)")


@dataclass(frozen=True)
class LifecycleRow:
    """One row of the manual's table: an event and what it does from each state."""

    event: str
    meaning: str
    to: dict[str, str] = field(default_factory=dict)


def lifecycle_table() -> list[LifecycleRow]:
    """Events × states, straight from ``EPISODE_EVENTS`` (the manual is checked against it)."""
    return [LifecycleRow(event, EVENT_MEANINGS[event], dict(row))
            for event, row in EPISODE_EVENTS.items()]


def lifecycle_markdown() -> str:
    header = "| event | " + " | ".join(STATES[:3]) + " | what it means |"
    rule = "|---" * 5 + "|"
    lines = [header, rule]
    for row in lifecycle_table():
        cells = [row.to.get(state, "—") for state in STATES[:3]]
        lines.append(f"| `{row.event}` | " + " | ".join(cells) + f" | {row.meaning} |")
    return "\n".join(lines)
