"""The ``carepath`` command line. Each area lives in its own module and is registered here."""

from __future__ import annotations

import typer

from carepath.cli.audit import audit
from carepath.cli.common import ErrorGroup
from carepath.cli.config import config_app, pathways_app
from carepath.cli.db import db_app
from carepath.cli.demo import demo
from carepath.cli.fhir import fhir_app
from carepath.cli.goals import (
    escalations_app,
    goals_app,
    measure_app,
    recovery_app,
    report_app,
    review,
)
from carepath.cli.messaging import calendar_app, dispatch, outbox_app
from carepath.cli.patients import patients_app
from carepath.cli.scheduling import appointments_app, enroll, slots, therapists_app
from carepath.cli.service import episodes_app, runs_app, serve

app = typer.Typer(
    cls=ErrorGroup, no_args_is_help=True, pretty_exceptions_enable=False,
    help="carepath: physical-therapy care pathways for people with MS.",
)
app.add_typer(config_app, name="config")
app.add_typer(pathways_app, name="pathways")
app.add_typer(patients_app, name="patients")
app.add_typer(db_app, name="db")
app.command("demo")(demo)
app.add_typer(goals_app, name="goals")
app.add_typer(measure_app, name="measure")
app.add_typer(recovery_app, name="recovery")
app.command("review")(review)
app.add_typer(escalations_app, name="escalations")
app.add_typer(report_app, name="report")
app.command("dispatch")(dispatch)
app.add_typer(outbox_app, name="outbox")
app.add_typer(calendar_app, name="calendar")
app.add_typer(episodes_app, name="episodes")
app.add_typer(runs_app, name="runs")
app.command("serve")(serve)
app.command("enroll")(enroll)
app.command("slots")(slots)
app.add_typer(appointments_app, name="appointments")
app.add_typer(therapists_app, name="therapists")
app.command("audit")(audit)
app.add_typer(fhir_app, name="fhir")
