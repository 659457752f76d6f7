"""``carepath holds|visit-review``: the two-hour rule's holds, and what a progression review
recorded on its visit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer

from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app

holds_app = typer.Typer(help="Progression holds from the two-hour rule: list and clear.",
                        no_args_is_help=True)
visit_review_app = typer.Typer(
    help="Record what a progression review found: devices, orthotics, the caregiver's role.",
    no_args_is_help=True)


def _hold_row(view: Any) -> dict[str, Any]:
    return {**asdict(view), "active": view.active}


@holds_app.command("list")
def holds_list(
    episode: int | None = typer.Option(None, "--episode"),
    all_: bool = typer.Option(False, "--all", help="cleared holds too"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Holds on progression, newest first (active ones unless --all)."""
    from carepath.services.holds import list_holds

    rows = [_hold_row(h) for h in list_holds(open_app(), episode_id=episode,
                                            include_cleared=all_)]
    emit(rows, fmt, "Progression holds", columns=[
        "id", "episode_id", "patient_id", "escalation_id", "created_at", "active",
        "cleared_by", "clear_reason"])


@holds_app.command("clear")
def holds_clear(hold: int,
                reason: str = typer.Option(..., "--reason", help="why (required, audited)")
                ) -> None:
    """Clear a hold: the patient recovers within two hours again."""
    from carepath.services.holds import clear_hold

    view = clear_hold(open_app(), hold, reason)
    console.print(f"hold {view.id} on episode {view.episode_id} cleared by {view.cleared_by}",
                  markup=False)


@visit_review_app.command("record")
def visit_review_record(
    appointment: int,
    devices: str = typer.Option("", "--devices", help="assistive devices, e.g. 'cane; walker'"),
    orthotics: str = typer.Option("", "--orthotics", help="e.g. 'AFO right'"),
    caregiver_role: str = typer.Option("", "--caregiver-role",
                                       help="what the caregiver does, e.g. 'helps with transfers'"),
    caregiver_present: bool = typer.Option(False, "--caregiver-present/--caregiver-absent",
                                           help="did the caregiver come?"),
) -> None:
    """Record devices, orthotics and the caregiver's role on a review visit."""
    from carepath.services.visit_reviews import record_visit_review

    view = record_visit_review(open_app(), appointment, assistive_devices=devices,
                               orthotics=orthotics, caregiver_role=caregiver_role,
                               caregiver_present=caregiver_present)
    console.print(f"recorded the review of appointment {view.appointment_id} "
                  f"({view.visit_name})", markup=False)


@visit_review_app.command("show")
def visit_review_show(appointment: int, fmt: Format = FORMAT_OPTION) -> None:
    """What was recorded on a review visit."""
    from carepath.services.visit_reviews import get_visit_review

    view = get_visit_review(open_app(), appointment)
    emit([asdict(view)], fmt, f"Review of appointment {appointment}")
