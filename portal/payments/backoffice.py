"""The back office's payment operations: find payments, read one, refund, reconcile.

Every function checks the staff member's permission first (portal.staff.roles); reads of
payments are scoped to the officer's agencies (portal.staff.scope): another agency's
payment is "not found". Refunds go through :func:`portal.payments.refunds.refund_payment`,
the same code as ``flask payments refund``, so its exactly-once rules hold; the form also
sends the amount that was left when it was shown, so a form sent twice refunds once.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import gettext as _

from portal.audit.service import record
from portal.db import transactional
from portal.dossiers.models import Dossier
from portal.dossiers.statuses import vn_iso
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.payments import fees, queries
from portal.payments.models import (
    PARTIALLY_REFUNDED,
    SUCCEEDED,
    Payment,
    PaymentEvent,
    Receipt,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
)
from portal.payments.refunds import refund_payment, refundable
from portal.payments.refunds import serialize as serialize_refund
from portal.staff.roles import can, require
from portal.staff.scope import scoped
from portal.workdays import VN_TZ

PAGE_SIZE = 50
MAX_RECONCILE_DAYS = 31


def _req():
    return request if has_request_context() else None


def _scoped_payments(staff):
    query = sa.select(Payment, Dossier.code, Dossier.agency_code).join(
        Dossier, Dossier.id == Payment.dossier_id
    )
    return scoped(query, Dossier.agency_id, staff)


def _summary(payment: Payment, dossier_code: str, agency_code: str) -> dict:
    return {
        "id": payment.id,
        "dossier_id": payment.dossier_id,
        "dossier_code": dossier_code,
        "agency_code": agency_code,
        "amount": payment.amount,
        "amount_refunded": payment.amount_refunded,
        "currency": payment.currency,
        "state": payment.state,
        "gateway": payment.gateway,
        "gateway_ref": payment.gateway_ref,
        "flagged": payment.flagged,
        "failure_message": payment.failure_message,
        "created_at": vn_iso(payment.created_at),
        "succeeded_at": vn_iso(payment.succeeded_at),
    }


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ)


def search_payments(
    staff,
    *,
    dossier_code: str | None = None,
    payment_id: int | None = None,
    gateway_ref: str | None = None,
    state: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    page: int = 1,
) -> tuple[list[dict], bool]:
    """Payments in the staff member's scope matching every given filter, newest first;
    and whether there is a next page. Days are Vietnamese calendar days of creation.

    :raises Forbidden: no permission to see payments.
    """
    require(staff, "payments.view")
    query = _scoped_payments(staff)
    if dossier_code:
        query = query.where(Dossier.code == dossier_code.strip())
    if payment_id is not None:
        query = query.where(Payment.id == payment_id)
    if gateway_ref:
        query = query.where(Payment.gateway_ref == gateway_ref.strip())
    if state:
        query = query.where(Payment.state == state)
    if day_from:
        query = query.where(Payment.created_at >= _day_start(day_from))
    if day_to:
        query = query.where(Payment.created_at < _day_start(day_to + timedelta(days=1)))
    page = max(1, min(page, 10_000))
    rows = db.session.execute(
        query.order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return [_summary(*row) for row in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def _find(staff, payment_id: int) -> tuple[Payment, str, str]:
    found = db.session.execute(_scoped_payments(staff).where(Payment.id == payment_id)).first()
    if found is None:
        raise NotFound(_("This payment does not exist."))
    return found[0], found[1], found[2]


def payment_detail(staff, payment_id: int) -> dict:
    """One payment in the staff member's scope: its dossier's fee lines, the gateway's
    events, the receipt, refunds, and what can still be refunded.

    :raises Forbidden: no permission. :raises NotFound: unknown, or another agency's.
    """
    require(staff, "payments.view")
    payment, code, agency = _find(staff, payment_id)
    events = db.session.scalars(
        sa.select(PaymentEvent).where(PaymentEvent.payment_id == payment.id).order_by(PaymentEvent.id)
    ).all()
    refunds = db.session.scalars(
        sa.select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)
    ).all()
    receipt = queries.receipt_of(payment.id)
    paid = payment.state in (SUCCEEDED, PARTIALLY_REFUNDED)
    from portal.payments.receipts import serialize as serialize_receipt

    return {
        **_summary(payment, code, agency),
        "fee_lines": [
            {"kind": line.kind, "description": line.description, "amount": line.amount, "source": line.source}
            for line in fees.fee_lines(payment.dossier_id)
        ],
        "amounts": fees.amounts(payment.dossier_id),
        "events": [
            {
                "type": e.type,
                "result": e.result,
                "source": e.source,
                "external_id": e.external_id,
                "occurred_at": vn_iso(e.occurred_at),
                "received_at": vn_iso(e.received_at),
            }
            for e in events
        ],
        "refunds": [dict(serialize_refund(r), created_at=vn_iso(r.created_at)) for r in refunds],
        "receipt": serialize_receipt(receipt) if receipt else None,
        "refundable": refundable(payment) if paid else 0,
        "can_refund": paid and can(staff, "payments.refund"),
    }


def receipt_for_staff(staff, payment_id: int) -> Receipt:
    """The receipt of a payment in the staff member's scope.

    :raises Forbidden, NotFound: no permission; unknown or another agency's; no receipt.
    """
    require(staff, "payments.view")
    _find(staff, payment_id)
    receipt = queries.receipt_of(payment_id)
    if receipt is None:
        raise NotFound(_("This payment has no receipt."))
    return receipt


def refund(
    staff, payment_id: int, *, full: bool, amount: int | None, reason: str, expected_refundable: int
) -> dict:
    """Refund all that is left (``full``) or ``amount`` đồng of a payment, saying why.
    Returns the refund (its ``state``: succeeded, pending or failed at the gateway).

    :raises Forbidden: not a supervisor or administrator.
    :raises NotFound: unknown payment, or another agency's.
    :raises ValidationFailed: no reason, or no whole positive amount (``field`` says which).
    :raises Conflict: not paid, more than what is left, or the form is stale or replayed.
    """
    require(staff, "payments.refund")
    _find(staff, payment_id)
    reason = (reason or "").strip()
    problems = []
    if not reason:
        problems.append(
            {"error": "ValidationError", "field": "reason", "message": _("Say why the money is given back.")}
        )
    if full:
        amount = expected_refundable
    elif amount is None or isinstance(amount, bool) or amount <= 0:
        problems.append(
            {
                "error": "ValidationError",
                "field": "amount",
                "message": _("Enter the amount to refund, a whole positive number of đồng."),
            }
        )
    if problems:
        raise ValidationFailed(problems[0]["message"], details=problems)
    return refund_payment(
        payment_id,
        amount,
        actor=staff.email,
        reason=reason,
        expected_refundable=expected_refundable,
        staff=staff,
    )


# ------------------------------------------------------------------------ reconciliation


def _check_range(day_from: date, day_to: date) -> None:
    if day_to < day_from:
        raise ValidationFailed(
            _("The last day comes before the first."),
            details=[
                {
                    "error": "ValidationError",
                    "field": "day_to",
                    "message": _("The last day comes before the first."),
                }
            ],
        )
    if (day_to - day_from).days >= MAX_RECONCILE_DAYS:
        message = _("Choose at most %(count)s days.", count=MAX_RECONCILE_DAYS)
        raise ValidationFailed(
            message, details=[{"error": "ValidationError", "field": "day_to", "message": message}]
        )


def _latest_runs(day_from: date, day_to: date) -> list[ReconciliationRun]:
    runs = db.session.scalars(
        sa.select(ReconciliationRun)
        .where(ReconciliationRun.day >= day_from, ReconciliationRun.day <= day_to)
        .order_by(ReconciliationRun.day.desc(), ReconciliationRun.id.desc())
    ).all()
    latest: dict[date, ReconciliationRun] = {}
    for run in runs:
        latest.setdefault(run.day, run)
    return list(latest.values())


def reconciliation(staff, day_from: date, day_to: date) -> dict:
    """The latest run of each day in the range and its mismatches.

    :raises Forbidden: no permission. :raises ValidationFailed: a range backwards or too long.
    """
    require(staff, "reconciliation.view")
    _check_range(day_from, day_to)
    runs = _latest_runs(day_from, day_to)
    mismatches = (
        db.session.scalars(
            sa.select(ReconciliationMismatch)
            .where(ReconciliationMismatch.run_id.in_([r.id for r in runs]))
            .order_by(ReconciliationMismatch.run_id, ReconciliationMismatch.id)
        ).all()
        if runs
        else []
    )
    day_of = {r.id: r.day for r in runs}
    return {
        "runs": [
            {
                "id": r.id,
                "day": r.day.isoformat(),
                "gateway": r.gateway,
                "started_at": vn_iso(r.started_at),
                "gateway_count": r.gateway_count,
                "gateway_total": r.gateway_total,
                "portal_count": r.portal_count,
                "portal_total": r.portal_total,
                "mismatch_count": r.mismatch_count,
            }
            for r in runs
        ],
        "mismatches": [
            {
                "day": day_of[m.run_id].isoformat(),
                "run_id": m.run_id,
                "kind": m.kind,
                "payment_id": m.payment_id,
                "gateway_ref": m.gateway_ref,
                "charge_ref": m.charge_ref,
                "gateway_amount": m.gateway_amount,
                "portal_amount": m.portal_amount,
                "note": m.note,
            }
            for m in mismatches
        ],
    }


@transactional
def start_reconciliation(staff, day_from: date, day_to: date) -> int:
    """Queue the reconciliation of each day of the range (the gateway is asked by the job,
    not in the request); returns how many days.

    :raises Forbidden: no permission.
    :raises ValidationFailed: a range backwards, too long, or reaching past today.
    """
    require(staff, "reconciliation.view")
    _check_range(day_from, day_to)
    today = datetime.now(VN_TZ).date()
    if day_to > today:
        message = _("A day that has not ended yet cannot be reconciled; choose today at the latest.")
        raise ValidationFailed(
            message, details=[{"error": "ValidationError", "field": "day_to", "message": message}]
        )
    from portal.jobs import enqueue

    days = [day_from + timedelta(days=n) for n in range((day_to - day_from).days + 1)]
    for day in days:
        enqueue("payments.reconcile_day", day.isoformat())
    record(
        staff,
        "reconciliation.start",
        None,
        {"from": day_from.isoformat(), "to": day_to.isoformat(), "days": len(days)},
        _req(),
    )
    return len(days)
