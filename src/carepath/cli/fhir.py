"""``carepath fhir``: export a FHIR R4 Bundle, import patients and referrals, API tokens."""

from __future__ import annotations

from pathlib import Path

import typer

from carepath.adapters.output_file import FORCE_HELP
from carepath.cli.common import console, err_console, open_app

fhir_app = typer.Typer(help="FHIR R4: export, import, API tokens.", no_args_is_help=True)


@fhir_app.command("export")
def export(
    patient: str = typer.Option("", "--patient", help="only this patient's record"),
    since: str = typer.Option("", "--since", help="patients with a change since YYYY-MM-DD"),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="write to this file (owner-only); default stdout"),
    as_transaction: bool = typer.Option(False, "--transaction",
                                        help="a transaction Bundle (PUT requests)"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Write the clinic (or one patient) as a FHIR R4 Bundle."""
    from carepath.fhir.export import export_to_file, export_to_stdout, parse_day

    options = {"patient_id": patient or None, "since": parse_day(since) if since else None,
               "as_transaction": as_transaction}
    app = open_app()
    if output is None:
        report = export_to_stdout(app, **options)
    else:
        report = export_to_file(app, output, force=force, **options)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.by_type.items()))
    err_console.print(f"exported {report.resources} resources ({counts})", markup=False,
                      soft_wrap=True)


@fhir_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="a FHIR R4 Bundle (JSON) or one resource"),
) -> None:
    """Import Patients and ServiceRequests (which enrol), or restore a carepath export.

    All or nothing: every problem is listed by resource and JSON path. Re-import updates.
    """
    from carepath.fhir.import_service import import_file

    result = import_file(open_app(), file)
    console.print(f"imported {file.name}: {result.created} patients added, {result.updated} "
                  f"updated, {result.unchanged} unchanged; {len(result.enrolled)} enrolled "
                  f"({result.already_enrolled} already were); restored {result.episodes} "
                  f"episodes, {result.appointments} appointments, {result.measurements} "
                  "measurements", markup=False)
    if result.ignored:
        ignored = ", ".join(f"{n} {kind}" for kind, n in sorted(result.ignored.items()))
        console.print(f"  ignored (carepath derives these itself): {ignored}", markup=False)


token_app = typer.Typer(help="API tokens for the FHIR read API.", no_args_is_help=True)
fhir_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    scope: list[str] = typer.Option(..., "--scope",
                                    help="system/*.read or system/<Type>.read (repeatable)"),
    name: str = typer.Option(..., "--name", help="who uses it, e.g. the EHR's sync job"),
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from carepath.fhir.api import TYPES
    from carepath.fhir.tokens import create_token

    token = create_token(open_app(), name, scope, set(TYPES))
    err_console.print("the token (shown once; store it as a secret):", markup=False)
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """Tokens by id, name and scopes (never the token itself)."""
    from carepath.fhir.tokens import list_tokens

    for info in list_tokens(open_app()):
        state = "revoked" if info.revoked else "active"
        console.print(f"{info.id}  {info.name}  {' '.join(info.scopes)}  {state}", markup=False)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="the id from `token list`")) -> None:
    """Revoke a token: the API refuses it from the next request on."""
    from carepath.fhir.tokens import revoke_token

    revoke_token(open_app(), token_id)
    console.print(f"revoked token {token_id}", markup=False)
