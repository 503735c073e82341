"""``flask payments refund|reconcile|expire|mop-up|cron``."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from portal.errors import PortalError

payments_cli = AppGroup("payments", help="Fee payments: refunds, reconciliation, expiry, mop-up.")


@payments_cli.command("refund")
@click.argument("payment_id", type=int)
@click.option("--amount", type=int, required=True, help="Whole đồng to refund.")
@click.option("--actor", required=True, help="Who refunds (recorded with the refund).")
@click.option("--reason", required=True, help="Why (recorded with the refund).")
def refund_command(payment_id: int, amount: int, actor: str, reason: str) -> None:
    """Refund AMOUNT đồng of payment PAYMENT_ID (never more than what is left)."""
    from portal.payments.refunds import refund_payment

    try:
        result = refund_payment(payment_id, amount, actor=actor, reason=reason)
    except PortalError as exc:
        raise click.ClickException(f"{exc.token}: {exc.message}") from None
    click.echo(json.dumps(result, ensure_ascii=False))
    if result["state"] == "failed":
        raise click.ClickException("the gateway refused the refund; nothing was given back")


@payments_cli.command("reconcile")
@click.option("--date", "day", required=True, help="The Vietnamese calendar day, YYYY-MM-DD.")
def reconcile_command(day: str) -> None:
    """Compare the gateway's charges of a day with the portal's payments."""
    from portal.payments.reconcile import reconcile

    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    try:
        result = reconcile(parsed)
    except PortalError as exc:
        raise click.ClickException(f"{exc.token}: {exc.message}") from None
    click.echo(
        f"{day}: gateway {result['gateway_count']} charges, {result['gateway_total']} đồng; "
        f"portal {result['portal_count']} payments, {result['portal_total']} đồng; "
        f"{len(result['mismatches'])} mismatches; totals in {result['totals_path']}"
    )
    for item in result["mismatches"]:
        click.echo(json.dumps(item, ensure_ascii=False))


@payments_cli.command("expire")
def expire_command() -> None:
    """Cancel and mark expired the payments left open too long."""
    from portal.payments.service import expire_payments

    click.echo(f"expired: {expire_payments()}")


@payments_cli.command("mop-up")
def mop_up_command() -> None:
    """Ask the gateway about open payments, apply their true state, expire old ones."""
    from portal.payments.service import mop_up

    click.echo(json.dumps(mop_up()))


@payments_cli.command("cron")
def cron_command() -> None:
    """Run RQ's cron scheduler: the mop-up every PAYMENT_MOPUP_MINUTES (needs REDIS_URL).
    ``make run-worker`` starts it beside the worker; several at once only duplicate a
    job that is safe to run twice."""
    from rq.cron import CronScheduler

    from portal.jobs import QUEUE_DEFAULT, execute, get_queue

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: run `flask payments mop-up` from cron instead")
    queue = get_queue(app, QUEUE_DEFAULT)
    scheduler = CronScheduler(connection=queue.connection)
    scheduler.register(
        execute,
        queue.name,
        args=("payments.mop_up",),
        interval=60 * int(app.config["PAYMENT_MOPUP_MINUTES"]),
        name="payments.mop_up",
    )
    scheduler.start()
