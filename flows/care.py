"""Episode flows: enrol, complete, relapse, rolling boosters, progression reviews.

Parameters and run names are stored on the Prefect server: they carry carepath's internal
numbers (episode ids, patient references from ``carepath patients ref MRN``), never an MRN
or a name.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task

from carepath.services import lifecycle
from carepath.services.patient_refs import patient_of
from carepath.services.runs import recorded_run
from carepath.services.sweeps import run_sweep
from flows.context import current_app


@task
def book_episode(patient_ref: int, pathway_id: str, start: date, therapist_id: str | None,
                 partial: bool) -> str:
    # No retries: enrolment is one transaction, but a retry after an unseen commit would
    # enrol twice. A failure is recorded as a failed run for an admin to look at.
    from carepath.services.scheduling import enroll

    app = current_app()
    return str(enroll(app, patient_of(app, patient_ref), pathway_id, start,
                      therapist_id=therapist_id, partial=partial))


@flow(name="enroll_episode", flow_run_name="enroll-{pathway_id}-{start}")
def enroll_episode(patient_ref: int, pathway_id: str, start: date,
                   therapist_id: str | None = None, partial: bool = False) -> str:
    """Plan → book → queue invites and emails (same transaction) → summary."""
    app = current_app()
    with recorded_run(app, "enroll_episode", f"enroll {pathway_id} from {start}") as run:
        run.summary = book_episode(patient_ref, pathway_id, start, therapist_id, partial)
    return run.summary


@flow(name="complete_episode", flow_run_name="complete-episode-{episode_id}")
def complete_episode(episode_id: int) -> str:
    """Close an episode, then follow its pathway's on_complete."""
    app = current_app()
    with recorded_run(app, "complete_episode", f"complete episode {episode_id}") as run:
        run.summary = str(lifecycle.complete_episode(app, episode_id))
    return run.summary


@flow(name="report_relapse", flow_run_name="report-relapse-{patient_ref}")
def report_relapse(patient_ref: int, on: date | None = None) -> str:
    """Hold every running episode (CANCEL invites, patient emails), start post-relapse care."""
    app = current_app()
    with recorded_run(app, "report_relapse", f"report relapse of patient ref {patient_ref}") \
            as run:
        result = lifecycle.report_relapse(app, patient_of(app, patient_ref), on=on)
        run.summary = str(result)
    return run.summary


@flow(name="extend_boosters", flow_run_name="extend-boosters")
def extend_boosters() -> str:
    """Keep a rolling horizon of booster visits booked."""
    return run_sweep(current_app(), "extend_boosters")


@flow(name="schedule_progression_reviews", flow_run_name="schedule-progression-reviews")
def schedule_progression_reviews(every_months: int = 3) -> str:
    """Enrol stable patients due a progression review (caregiver invited when consented)."""
    app = current_app()
    with recorded_run(app, "schedule_progression_reviews", "progression reviews") as run:
        run.summary = str(lifecycle.schedule_progression_reviews(app, every_months=every_months))
    return run.summary
