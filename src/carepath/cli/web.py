"""``carepath web``, ``carepath users`` and ``carepath feeds``: the web app, its logins and
the secret calendar feed addresses."""

from __future__ import annotations

import os
import sys

import typer

from carepath.cli.common import console, open_app
from carepath.errors import InputError

users_app = typer.Typer(help="Logins of the web app.", no_args_is_help=True)
feeds_app = typer.Typer(help="Secret calendar feed addresses (webcal://).", no_args_is_help=True)


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on"),
    port: int = typer.Option(8000, "--port", help="the port to listen on"),
    insecure_cookies: bool = typer.Option(
        False, "--insecure-cookies",
        help="send cookies over plain http (only behind no proxy, on this machine)"),
) -> None:
    """Serve the clinic's web app (pages, patient links, calendar feeds, /fhir)."""
    import uvicorn

    from carepath.web import create_app

    app = open_app()
    if not app.settings.web_secret:
        raise InputError("CAREPATH_WEB_SECRET", "is not set",
                         "set it to a random value: python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(32))'")
    console.print(f"carepath web on http://{host}:{port} (Ctrl-C stops it)", markup=False)
    uvicorn.run(create_app(app, secure_cookies=not insecure_cookies), host=host, port=port,
                log_level="warning", access_log=False)  # URLs carry patient-link tokens


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="the login name"),
    role: str = typer.Option(..., "--role", help="admin or therapist"),
    therapist: str = typer.Option("", "--therapist", help="the therapist id (clinic.yaml)"),
    password_env: str = typer.Option(
        "", "--password-env",
        help="read the password from this environment variable instead of a prompt"),
) -> None:
    """Create a login for the web app (the password is asked for, never an argument)."""
    from carepath.services.accounts import add_user

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise InputError("--password-env", f"{password_env} is not set or empty",
                             f"export {password_env}=<a passphrase of 12+ characters>")
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    user = add_user(open_app(), username, password, role=role, therapist_id=therapist or None)
    console.print(f"added {user.role} {user.username}"
                  + (f" (therapist {user.therapist_id})" if user.therapist_id else ""),
                  markup=False)


@users_app.command("list")
def list_() -> None:
    """Every login with its role."""
    from carepath.services.accounts import list_users

    for user in list_users(open_app()):
        console.print(f"{user.username}\t{user.role}\t{user.therapist_id or ''}", markup=False)


@feeds_app.command("url")
def url(
    patient: str = typer.Option("", "--patient", help="a patient id"),
    therapist: str = typer.Option("", "--therapist", help="a therapist id"),
    rotate: bool = typer.Option(False, "--rotate", help="retire the old address, print a new"),
) -> None:
    """Print the secret calendar subscription address of one patient or therapist."""
    from carepath.services.self_service import feed_url

    if bool(patient) == bool(therapist):
        raise InputError("feeds url", "give exactly one of --patient or --therapist")
    app = open_app()
    address = (feed_url(app, "patient", patient, rotate=rotate) if patient
               else feed_url(app, "therapist", therapist, rotate=rotate))
    console.print(address, markup=False, soft_wrap=True)
