"""Daily reconciliation: the gateway's charges of a day against the portal's payments.

A day is a Vietnamese calendar day (00:00-24:00 in Asia/Ho_Chi_Minh). Each difference is
recorded for staff: ``missing_here`` (money taken that the portal has not counted as paid,
e.g. a payment whose callback never arrived), ``missing_there`` (counted as paid here,
with no charge at the gateway that day) and ``amount_differs``. A CSV of the day's totals
per agency is written beside the instance (RECONCILIATION_DIR).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal.db import transactional, utcnow
from portal.dossiers.models import Dossier
from portal.extensions import db
from portal.payments.gateway import get_gateway
from portal.payments.models import PAID_STATES, Payment, ReconciliationMismatch, ReconciliationRun
from portal.workdays import VN_TZ


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=VN_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)


def reconcile(day: date, *, gateway_name: str | None = None) -> dict:
    """Compare ``day`` and record the run, its mismatches and the totals CSV.

    Returns {"run_id", "gateway_count", "gateway_total", "portal_count", "portal_total",
    "mismatches": [{"kind", "payment_id", "gateway_ref", ...}], "totals_path"}.

    :raises GatewayError: the gateway's listing could not be read (nothing is recorded).
    """
    gateway = get_gateway(gateway_name)
    start, end = day_bounds(day)
    charges = [c for c in gateway.list_charges(int(start.timestamp()), int(end.timestamp())) if c.paid]
    return _record(day, gateway.name, charges, start, end)


@transactional
def _record(day: date, gateway: str, charges, start: datetime, end: datetime) -> dict:
    by_ref: dict[str, list] = {}
    for charge in charges:
        by_ref.setdefault(charge.payment_ref or charge.ref, []).append(charge)
    known = (
        {
            p.gateway_ref: p
            for p in db.session.scalars(
                sa.select(Payment).where(Payment.gateway == gateway, Payment.gateway_ref.in_(list(by_ref)))
            )
        }
        if by_ref
        else {}
    )
    of_day = list(
        db.session.scalars(
            sa.select(Payment).where(
                Payment.gateway == gateway,
                Payment.state.in_(PAID_STATES),
                Payment.succeeded_at >= start,
                Payment.succeeded_at < end,
            )
        )
    )
    mismatches: list[dict] = []
    for ref, items in by_ref.items():
        taken = sum(c.amount for c in items)
        payment = known.get(ref)
        if payment is None or payment.state not in PAID_STATES:
            mismatches.append(
                {
                    "kind": "missing_here",
                    "payment_id": payment.id if payment else None,
                    "gateway_ref": ref,
                    "charge_ref": items[0].ref,
                    "gateway_amount": taken,
                    "portal_amount": payment.amount if payment else None,
                    "note": f"portal state: {payment.state}" if payment else "no payment in the portal",
                }
            )
        elif taken != payment.amount or any(c.currency != payment.currency for c in items):
            mismatches.append(
                {
                    "kind": "amount_differs",
                    "payment_id": payment.id,
                    "gateway_ref": ref,
                    "charge_ref": items[0].ref,
                    "gateway_amount": taken,
                    "portal_amount": payment.amount,
                    "note": None,
                }
            )
    for payment in of_day:
        if payment.gateway_ref not in by_ref:
            mismatches.append(
                {
                    "kind": "missing_there",
                    "payment_id": payment.id,
                    "gateway_ref": payment.gateway_ref,
                    "charge_ref": None,
                    "gateway_amount": None,
                    "portal_amount": payment.amount,
                    "note": "no charge at the gateway on this day",
                }
            )
    run = ReconciliationRun(
        day=day,
        gateway=gateway,
        started_at=utcnow(),
        gateway_count=len(by_ref),
        gateway_total=sum(c.amount for c in charges),
        portal_count=len(of_day),
        portal_total=sum(p.amount for p in of_day),
        mismatch_count=len(mismatches),
    )
    db.session.add(run)
    db.session.flush()
    db.session.add_all(ReconciliationMismatch(run_id=run.id, **m) for m in mismatches)
    run.totals_path = str(_write_totals(day, run.id, of_day))
    return {
        "run_id": run.id,
        "gateway_count": run.gateway_count,
        "gateway_total": run.gateway_total,
        "portal_count": run.portal_count,
        "portal_total": run.portal_total,
        "mismatches": mismatches,
        "totals_path": run.totals_path,
    }


def _write_totals(day: date, run_id: int, payments: list[Payment]) -> Path:
    """``<RECONCILIATION_DIR>/<day>-run<id>.csv``: per agency, payments, amount paid and
    amount refunded so far, in đồng."""
    agencies = (
        dict(
            db.session.execute(
                sa.select(Dossier.id, Dossier.agency_code).where(
                    Dossier.id.in_([p.dossier_id for p in payments])
                )
            ).all()
        )
        if payments
        else {}
    )
    totals: dict[str, list[int]] = {}
    for payment in payments:
        row = totals.setdefault(agencies.get(payment.dossier_id, ""), [0, 0, 0])
        row[0] += 1
        row[1] += payment.amount
        row[2] += payment.amount_refunded
    folder = Path(current_app.config["RECONCILIATION_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day.isoformat()}-run{run_id}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "agency_code", "payments", "amount_vnd", "refunded_vnd"])
        for agency in sorted(totals):
            count, amount, refunded = totals[agency]
            writer.writerow([day.isoformat(), agency, count, amount, refunded])
    return path
