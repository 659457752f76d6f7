"""The ``carepath`` command line. Each area lives in its own module, listed here and imported
only when one of its commands runs (see ``carepath.cli.group``)."""

from __future__ import annotations

import typer

from carepath.cli.group import LazyGroup

# name: (module, object, the one line `carepath --help` shows — the command's own first line)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("carepath.cli.demo", "demo",
             "Run the example clinic from an empty folder and print what happened."),
    "config": ("carepath.cli.config", "config_app", "Check the clinic's configuration."),
    "pathways": ("carepath.cli.config", "pathways_app",
                 "List pathways and show their visit plans."),
    "patients": ("carepath.cli.patients", "patients_app", "Add, import and list patients."),
    "enroll": ("carepath.cli.scheduling", "enroll",
               "Book every visit of a pathway for a patient, in one transaction, and print it."),
    "slots": ("carepath.cli.scheduling", "slots",
              "The next free slots for a visit type, with one therapist or any qualified one."),
    "appointments": ("carepath.cli.scheduling", "appointments_app",
                     "List, move, cancel and export appointments."),
    "therapists": ("carepath.cli.scheduling", "therapists_app",
                   "Therapists: leave entered at run time."),
    "episodes": ("carepath.cli.service", "episodes_app",
                 "Episodes of care: list, complete, relapse, hold, resume, cancel."),
    "goals": ("carepath.cli.goals", "goals_app", "An episode's goals and how they stand."),
    "measure": ("carepath.cli.goals", "measure_app", "Record outcome measurements."),
    "recovery": ("carepath.cli.goals", "recovery_app", "Record two-hour-rule reports."),
    "review": ("carepath.cli.goals", "review",
               "Review active episodes' goals now; escalate what has stalled (safe to re-run)."),
    "escalations": ("carepath.cli.goals", "escalations_app",
                    "Escalations raised by goal reviews."),
    "report": ("carepath.cli.goals", "report_app", "Reports a therapist can open offline."),
    "dispatch": ("carepath.cli.messaging", "dispatch",
                 "Send every due message (mail folder or SMTP, per CAREPATH_MAIL_TRANSPORT)."),
    "outbox": ("carepath.cli.messaging", "outbox_app", "See and resend queued messages."),
    "calendar": ("carepath.cli.messaging", "calendar_app",
                 "Calendar feeds and CalDAV publishing."),
    "serve": ("carepath.cli.service", "serve",
              "Run every timed sweep, progression reviews included, until SIGTERM."),
    "runs": ("carepath.cli.service", "runs_app", "Workflow runs and their outcome."),
    "deployments": ("carepath.cli.service", "deployments",
                    "Print prefect.yaml for this clinic: its time zone, serve's intervals, one "
                    "run at a time."),
    "audit": ("carepath.cli.audit", "audit",
              "Every recorded change: when (UTC), who, what, to which record, with its details."),
    "db": ("carepath.cli.db", "db_app", "Database schema and location."),
    "fhir": ("carepath.cli.fhir", "fhir_app", "FHIR R4: export, import, API tokens."),
    "web": ("carepath.cli.web", "web",
            "Serve the clinic's web app (pages, patient links, calendar feeds, /fhir)."),
    "users": ("carepath.cli.web", "users_app", "Logins of the web app."),
    "feeds": ("carepath.cli.web", "feeds_app", "Secret calendar feed addresses (webcal://)."),
    "holds": ("carepath.cli.clinical", "holds_app",
              "Progression holds from the two-hour rule: list and clear."),
    "visit-review": ("carepath.cli.clinical", "visit_review_app",
                     "Record what a progression review found: devices, orthotics, the "
                     "caregiver's role."),
}


class CarepathCommands(LazyGroup):
    table = COMMANDS


app = typer.Typer(
    cls=CarepathCommands, no_args_is_help=True, pretty_exceptions_enable=False,
    help="carepath: physical-therapy care pathways for people with MS.",
)


@app.callback()
def _root() -> None:
    """carepath: physical-therapy care pathways for people with MS."""
