"""Reads of payments, scoped to the citizen who may see the dossier. Never commit."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import User
from portal.dossiers.models import Dossier
from portal.dossiers.queries import as_id, owner_clause
from portal.dossiers.statuses import aware
from portal.extensions import db
from portal.payments import fees
from portal.payments.models import OPEN_STATES, PAID_STATES, Payment, Receipt
from portal.workdays import VN_TZ


def find_owned_payment(user: User, unsafe_id, *, refresh: bool = False) -> Payment | None:
    """A payment of a dossier this citizen may see; someone else's is None, like none."""
    payment_id = as_id(unsafe_id)
    if payment_id is None:
        return None
    query = (
        sa.select(Payment)
        .join(Dossier, Payment.dossier_id == Dossier.id)
        .where(Payment.id == payment_id, owner_clause(user))
    )
    return db.session.scalar(query.execution_options(populate_existing=refresh))


def find_receipt_for_viewer(viewer, unsafe_id) -> Receipt | None:
    """A receipt of a dossier ``viewer`` may see. Staff access comes with the back office
    (scoped to the officer's agencies, as portal.dossiers.queries.viewer_clause)."""
    receipt_id = as_id(unsafe_id)
    if receipt_id is None:
        return None
    return db.session.scalar(
        sa.select(Receipt)
        .join(Dossier, Receipt.dossier_id == Dossier.id)
        .where(Receipt.id == receipt_id, owner_clause(viewer))
    )


def receipt_of(payment_id: int) -> Receipt | None:
    return db.session.scalar(sa.select(Receipt).where(Receipt.payment_id == payment_id))


def open_payment(dossier_id: int) -> Payment | None:
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.dossier_id == dossier_id, Payment.state.in_(OPEN_STATES))
        .order_by(Payment.id.desc())
        .limit(1)
    )


def _vn(value) -> str | None:
    value = aware(value)
    return value.astimezone(VN_TZ).isoformat() if value else None


def serialize_payment(payment: Payment, *, with_secret: bool = False) -> dict:
    receipt = receipt_of(payment.id) if payment.state in PAID_STATES else None
    data = {
        "id": payment.id,
        "dossier_id": payment.dossier_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "state": payment.state,
        "amount_refunded": payment.amount_refunded,
        "failure_message": payment.failure_message,
        "created_at": _vn(payment.created_at),
        "succeeded_at": _vn(payment.succeeded_at),
        "receipt": None,
    }
    if receipt is not None:
        from portal.payments.receipts import serialize

        data["receipt"] = serialize(receipt)
    if with_secret and payment.state in OPEN_STATES:
        data["client_secret"] = payment.client_secret
    return data


def dossier_payments(dossier_id: int) -> dict:
    """What the dossier page shows: fee lines, totals, owed, and every payment (newest first)."""
    lines = [
        {"kind": line.kind, "description": line.description, "amount": line.amount, "source": line.source}
        for line in fees.fee_lines(dossier_id)
    ]
    payments = [
        serialize_payment(p)
        for p in db.session.scalars(
            sa.select(Payment).where(Payment.dossier_id == dossier_id).order_by(Payment.id.desc())
        )
    ]
    return {
        "lines": lines,
        **fees.amounts(dossier_id),
        "payments": payments,
        # Filed for a service paid online whose fees could not be charged at filing (see
        # fees.online_fees): the agency will ask for the amount with status 6.
        "to_come": not lines and not payments and _pays_online(dossier_id),
    }


def _pays_online(dossier_id: int) -> bool:
    from portal.dossiers.models import Dossier
    from services_catalog.models import OnlineService

    return bool(
        db.session.scalar(
            sa.select(OnlineService.pays_online)
            .join(Dossier, Dossier.online_service_id == OnlineService.id)
            .where(Dossier.id == dossier_id)
        )
    )
