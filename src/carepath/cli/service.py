"""``carepath serve`` (the embedded scheduler), ``carepath runs`` and ``carepath episodes``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

import typer

from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app
from carepath.cli.config import parse_date
from carepath.config.settings import mask_url
from carepath.services import App, lifecycle
from carepath.services.episode_views import list_episodes
from carepath.services.runs import double_runs, list_runs
from carepath.services.sweeps import SWEEPS, run_sweep

runs_app = typer.Typer(help="Workflow runs and their outcome.", no_args_is_help=True)
episodes_app = typer.Typer(help="Episodes of care: list, complete, relapse, hold, resume, cancel.",
                           no_args_is_help=True)


def prefect_runner() -> Callable[[App, str], str]:
    """Run each sweep as a Prefect flow (local ephemeral API unless PREFECT_API_URL is set)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    import flows
    from flows.context import using_app

    by_name: dict[str, Callable[[], object]] = {
        "dispatch_outbox": flows.dispatch_outbox, "send_reminders": flows.send_reminders,
        "review_goals": flows.review_goals, "extend_boosters": flows.extend_boosters,
        "schedule_progression_reviews": flows.schedule_progression_reviews}

    def run(app: App, name: str) -> str:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), using_app(app):
            return str(by_name[name]())

    return run


def serve(
    engine: str = typer.Option("direct", "--engine",
                               help="direct: plain calls; prefect: sweeps run as Prefect flows "
                                    "(on a Prefect server that dies with serve)"),
    standby: bool = typer.Option(False, "--standby",
                                 help="wait for the lease while another orchestrator holds it, "
                                      "and again after losing it, instead of exiting"),
) -> None:
    """Run every timed sweep, progression reviews included, until SIGTERM."""
    from carepath.entrypoints.serve import serve as serve_forever

    if engine not in ("prefect", "direct"):
        raise typer.BadParameter("use direct or prefect", param_hint="--engine")
    app = open_app()
    settings = app.settings
    console.print(f"carepath serve: {app.config.clinic.name}, database "
                  f"{mask_url(str(app.engine.url))}, engine {engine}; dispatch every "
                  f"{settings.dispatch_seconds:g} s, reminders every "
                  f"{settings.reminder_seconds:g} s, daily sweeps at {settings.daily_at}; "
                  "SIGTERM stops after the running job", markup=False)
    with _engine_runner(engine) as runner:
        serve_forever(app, runner, standby=standby, engine=engine,
                      on_lease=lambda fence: console.print(
                          f"holding the lease (fencing token {fence.token})", markup=False))
    console.print("stopped")


@contextmanager
def _engine_runner(engine: str) -> Iterator[Callable[[App, str], str]]:
    if engine == "direct":
        yield run_sweep
        return
    from carepath.adapters.prefect_server import child_prefect_server

    with child_prefect_server():
        yield prefect_runner()


def deployments() -> None:
    """Print prefect.yaml for this clinic: its time zone, serve's intervals, one run at a time."""
    from carepath.services.deployments import prefect_yaml

    app = open_app()
    sys.stdout.write(prefect_yaml(app.settings, app.config.clinic.timezone))


@runs_app.command("list")
def runs_list(
    status: str = typer.Option("", "--status", help="only runs with this status, e.g. failed"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    doubles: bool = typer.Option(False, "--doubles",
                                 help="only runs that overlapped a run of the same sweep by "
                                      "another process (a sweep run twice at once)"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Recent workflow runs, newest first; failed ones carry their error."""
    runs = list_runs(open_app(), limit=limit, status=status or None)
    rows = [{"id": r.id, "flow": r.flow, "name": r.name, "status": r.status,
             "started": r.started_at.isoformat(), "summary": r.summary, "error": r.error,
             "engine": r.engine, "host": r.host, "pid": r.pid, "token": r.owner_token,
             "flow_run": r.flow_run_id}
            for r in (double_runs(runs) if doubles else runs)]
    emit(rows, fmt, "Runs")


@runs_app.command("sweep")
def runs_sweep(name: str = typer.Argument(..., help="dispatch_outbox, send_reminders, "
                                                    "review_goals, extend_boosters or "
                                                    "schedule_progression_reviews")) -> None:
    """Run one sweep now, recorded like a scheduled run."""
    if name not in SWEEPS:
        raise typer.BadParameter(f"one of {', '.join(SWEEPS)}", param_hint="NAME")
    console.print(run_sweep(open_app(), name), markup=False)


@episodes_app.command("list")
def episodes_list(
    state: str = typer.Option("", "--state", help="planned, active, on_hold, finished, cancelled"),
    patient: str = typer.Option("", "--patient"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Episodes with their pathway, state and visit counts."""
    episodes = list_episodes(open_app(), state=state or None, patient_id=patient or None)
    rows = [{"id": e.id, "patient": e.patient_id, "pathway": e.pathway, "state": e.state,
             "start": e.start.isoformat(), "therapist": e.therapist_id, "booked": e.booked,
             "completed": e.completed, "previous": e.previous_episode_id} for e in episodes]
    emit(rows, fmt, "Episodes")


@episodes_app.command("complete")
def episodes_complete(
    episode_id: int = typer.Argument(..., min=1, max=2**63 - 1),  # beyond: no database row id
) -> None:
    """Finish an episode (future visits cancelled) and start its pathway's on_complete."""
    console.print(str(lifecycle.complete_episode(open_app(), episode_id)), markup=False)


@episodes_app.command("relapse")
def episodes_relapse(
    patient_id: str,
    on: str = typer.Option("", "--on", help="first day of post-relapse care (default tomorrow)"),
) -> None:
    """Hold the patient's running episodes (future visits cancelled), start post-relapse care."""
    start: date | None = parse_date(on, "--on") if on else None
    console.print(str(lifecycle.report_relapse(open_app(), patient_id, on=start)), markup=False)


EPISODE_ID = typer.Argument(..., min=1, max=2**63 - 1)


@episodes_app.command("hold")
def episodes_hold(episode_id: int = EPISODE_ID,
                  note: str = typer.Option("on hold", "--note", help="why, kept on the episode")
                  ) -> None:
    """Pause an active episode: its future visits are cancelled (one email to the patient)."""
    console.print(str(lifecycle.hold_episode(open_app(), episode_id, note)), markup=False)


@episodes_app.command("resume")
def episodes_resume(episode_id: int = EPISODE_ID) -> None:
    """Make a held episode active again, if nothing that excludes it is running."""
    console.print(str(lifecycle.resume_episode(open_app(), episode_id)), markup=False)


@episodes_app.command("cancel")
def episodes_cancel(episode_id: int = EPISODE_ID,
                    note: str = typer.Option("cancelled", "--note", help="why, kept on it")
                    ) -> None:
    """Stop an episode for good: its future visits are cancelled (one email to the patient)."""
    console.print(str(lifecycle.cancel_episode(open_app(), episode_id, note)), markup=False)


@episodes_app.command("discharge")
def episodes_discharge(patient_id: str) -> None:
    """Close every open episode of the patient and cancel their future visits."""
    console.print(str(lifecycle.discharge_patient(open_app(), patient_id)), markup=False)


@episodes_app.command("repair")
def episodes_repair(
    dry_run: bool = typer.Option(False, "--dry-run", help="say what would change, change nothing"),
) -> None:
    """Settle episodes that run together though their pathways exclude it (oldest stays)."""
    lines = lifecycle.repair_timelines(open_app(), dry_run=dry_run)
    for line in lines:
        console.print(("would be: " if dry_run else "") + line, markup=False)
    console.print(f"{len(lines)} change(s){' proposed' if dry_run else ''}", markup=False)
