"""``flask staff create-admin`` and ``flask staff create``: staff accounts from the shell.

The first administrator can only be made here (no one can sign in to make one). The
password is asked for (hidden, twice); the two-factor key is set up at first sign-in.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.errors import PortalError

staff_cli = AppGroup("staff", help="Staff accounts of the back office.")


def _password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@staff_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
def create_admin(email: str, full_name: str) -> None:
    """Create an administrator."""
    from portal.staff import service

    try:
        staff = service.create_first_admin(email=email, full_name=full_name, password=_password())
    except PortalError as exc:
        raise click.ClickException("; ".join(e["message"] for e in exc.errors())) from exc
    click.echo(f"Administrator {staff.email} created; two-factor sign-in is set up at first sign-in.")


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice(["agent", "supervisor", "agency_officer", "admin"]), required=True)
@click.option("--agency", "agencies", multiple=True, help="Agency code (agency officers; repeatable).")
def create(email: str, full_name: str, role: str, agencies: tuple[str, ...]) -> None:
    """Create a staff account of any role."""
    from portal.staff import service

    try:
        staff = service.create_staff_from_cli(
            email=email, full_name=full_name, role=role, password=_password(), agency_codes=list(agencies)
        )
    except PortalError as exc:
        raise click.ClickException("; ".join(e["message"] for e in exc.errors())) from exc
    click.echo(f"Staff account {staff.email} ({staff.role}) created.")
