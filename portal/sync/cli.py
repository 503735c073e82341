"""``flask partners``, ``flask deliveries`` and ``flask sync``: the operators' tools."""

from __future__ import annotations

import json
import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.errors import PortalError

partners_cli = AppGroup("partners", help="Partner one-stop systems and their signing secrets.")
deliveries_cli = AppGroup("deliveries", help="Dossiers delivered to partners (the outbox).")
sync_cli = AppGroup("sync", help="Partner sync tools.")


def _fail(exc: PortalError) -> click.ClickException:
    return click.ClickException(exc.message)


def _show_secret(code: str, secret: str) -> None:
    click.echo(f"Signing secret of {code} (shown once; store it now):")
    click.echo(secret)


@partners_cli.command("create")
@click.argument("code")
@click.option("--url", "base_url", help="Base URL of its API: deliveries go to <url>/dossiers.")
@click.option("--name", help="The partner's name.")
def create(code: str, base_url: str | None, name: str | None) -> None:
    """Create partner CODE (its agency code) with a new signing secret."""
    from portal.sync import partners

    try:
        secret = partners.create_partner(code, base_url=base_url, name=name)
    except PortalError as exc:
        raise _fail(exc) from None
    _show_secret(code, secret)


@partners_cli.command("rotate")
@click.argument("code")
def rotate(code: str) -> None:
    """Add a new secret; the old one stays valid until revoked (revoke --secret ID)."""
    from portal.sync import partners

    try:
        secret = partners.rotate_secret(code)
    except PortalError as exc:
        raise _fail(exc) from None
    _show_secret(code, secret)


@partners_cli.command("revoke")
@click.argument("code")
@click.option("--secret", "secret_id", type=int, help="Revoke only this secret (see list); else the partner.")
def revoke(code: str, secret_id: int | None) -> None:
    """Revoke one secret, or turn the whole partner off. Effective on the next request."""
    from portal.sync import partners

    try:
        partners.revoke(code, secret_id=secret_id)
    except PortalError as exc:
        raise _fail(exc) from None
    click.echo(f"revoked secret {secret_id} of {code}" if secret_id else f"partner {code} is off")


@partners_cli.command("update")
@click.argument("code")
@click.option("--url", "base_url", help="New base URL ('' for none: the partner reads the pull feed).")
@click.option("--enable", is_flag=True, help="Turn a revoked partner back on.")
def update(code: str, base_url: str | None, enable: bool) -> None:
    """Change a partner's base URL, or turn it back on."""
    from portal.sync import partners

    try:
        partners.set_partner(code, base_url=base_url, active=True if enable else None)
    except PortalError as exc:
        raise _fail(exc) from None
    click.echo(f"partner {code} updated")


@partners_cli.command("reencrypt")
def reencrypt() -> None:
    """Encrypt every stored secret under the current SECRET_KEY (after a rotation), so the
    old key can be dropped from SECRET_KEY_FALLBACKS."""
    from portal.sync import partners

    outcome = partners.reencrypt_secrets()
    click.echo(f"re-encrypted {outcome.reencrypted} secrets under the current SECRET_KEY")
    if not outcome.unreadable:
        return
    click.echo(f"{len(outcome.unreadable)} secrets could not be read with any key:")
    for code, secret_id, revoked in outcome.unreadable:
        advice = f": revoke it (revoke {code} --secret {secret_id}), then rotate {code} for a new one"
        click.echo(f"  {code} secret {secret_id}" + (" (revoked)" if revoked else advice))


@partners_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Partners, their state and their secrets (never the secrets themselves)."""
    from portal.sync import partners

    rows = partners.list_partners()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for p in rows:
        active = [s for s in p["secrets"] if not s["revoked_at"]]
        click.echo(
            f"{p['code']:<20} {'on ' if p['active'] else 'off'} {p['base_url'] or '(pull feed)':<40} "
            f"secrets: {', '.join(str(s['id']) + ' since ' + s['created_at'][:10] for s in active) or 'none'}"
        )


@deliveries_cli.command("list")
@click.option("--state", type=click.Choice(["pending", "sending", "delivered", "failed", "feed"]))
@click.option("--limit", type=int, default=100)
@click.option("--json", "as_json", is_flag=True)
def list_deliveries(state: str | None, limit: int, as_json: bool) -> None:
    """Deliveries, newest first (failed ones with --state failed)."""
    from portal.sync import deliveries

    rows = deliveries.list_deliveries(state, limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for d in rows:
        click.echo(
            f"{d['id']} {d['state']:<9} {d['dossier_code']:<32} to {d['partner_code'] or '-':<14} "
            f"tries {d['attempts']:<3} {d['last_error'] or ''}"
        )


@deliveries_cli.command("retry")
@click.argument("delivery_id", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every failed delivery.")
def retry(delivery_id: str | None, all_failed: bool) -> None:
    """Send a failed delivery again now (with a fresh 24-hour retry window)."""
    from portal.dossiers.models import Delivery
    from portal.extensions import db
    from portal.sync import deliveries

    if bool(delivery_id) == all_failed:
        raise click.UsageError("give a delivery id or --all-failed")
    ids = (
        [delivery_id]
        if delivery_id
        else list(db.session.scalars(sa.select(Delivery.id).where(Delivery.state == "failed")))
    )
    for one in ids:
        try:
            deliveries.retry(one)
        except PortalError as exc:
            raise _fail(exc) from None
        click.echo(f"retrying {one}")


@deliveries_cli.command("sweep")
def sweep() -> None:
    """Send every due delivery once (retries, and any a dead worker left), then stop."""
    from portal.sync import deliveries

    click.echo(json.dumps(deliveries.sweep()))


@deliveries_cli.command("work")
@click.option("--interval", type=float, default=5.0, help="Seconds between sweeps.")
def work(interval: float) -> None:
    """Sweep due deliveries forever: run one or more beside the RQ workers."""
    from portal.sync import deliveries

    while True:
        outcomes = deliveries.sweep()
        if outcomes:
            click.echo(json.dumps(outcomes))
        time.sleep(interval)


@sync_cli.command("simulate")
@click.option("--partner", "partner_code", required=True, help="The partner to send as.")
@click.option("--dossiers", type=int, default=100, show_default=True)
@click.option("--events", type=int, default=500, show_default=True)
@click.option("--url", default=None, help="The running portal (default PUBLIC_URL).")
@click.option("--agency", help="Agency of the dossiers (default: the partner's own).")
@click.option("--procedure", help="Procedure code (default: one from the catalog, else 1.001193).")
@click.option("--batch", type=click.IntRange(1, 500), default=500, show_default=True)
@click.option("--duplicates", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option("--ordered", is_flag=True, help="Send in the order things happened, without duplicates.")
@click.option("--seed", type=int)
@click.option("--secret", envvar="SYNC_SIMULATE_SECRET", help="Signing secret (default: read the partner's).")
def simulate(
    partner_code, dossiers, events, url, agency, procedure, batch, duplicates, ordered, seed, secret
):
    """Sign and send a realistic stream of events to a running portal."""
    from flask import current_app

    from portal.extensions import db
    from portal.sync import partners
    from portal.sync import simulate as sim
    from services_catalog.models import Procedure

    if secret is None:
        partner = partners.find_active(partner_code)
        found = partners.readable_secrets(partner) if partner else []
        if not found:
            raise click.ClickException(
                f"no active partner {partner_code} with a readable secret here; pass --secret"
            )
        secret = found[0]
    if agency is None:
        agency = partner_code if "." in partner_code else f"000.00.00.{partner_code}"
    if procedure is None:
        procedure = db.session.scalar(
            sa.select(Procedure.code).where(Procedure.active).order_by(Procedure.code).limit(1)
        )
        procedure = procedure or "1.001193"
    db.session.rollback()
    stream = sim.generate(
        partner_code,
        dossiers=dossiers,
        events=events,
        agency_code=agency,
        procedure_code=procedure,
        seed=seed,
    )
    if not ordered:
        stream = sim.disorder(stream, duplicates=duplicates, seed=seed)
    started = time.perf_counter()
    counts = sim.send(url or current_app.config["PUBLIC_URL"], partner_code, secret, stream, batch=batch)
    elapsed = time.perf_counter() - started
    click.echo(json.dumps({"sent": len(stream), "seconds": round(elapsed, 2), "results": dict(counts)}))
