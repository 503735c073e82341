"""What a dossier owes: fee lines frozen at submission, or asked for by the partner.

:func:`freeze_fee_lines` runs inside the dossier's submission (portal.dossiers.service);
:func:`record_amount_due` inside partner sync when a status 6 event carries an amount.
Both are part of the caller's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.payments.models import FEE_KINDS, PAID_STATES, FeeLine, Payment

# Beyond this an amount is a typo (the catalog caps fees at the same figure).
MAX_AMOUNT = 10**13


def online_fees(procedure) -> list[dict]:
    """The online channel's fees of a procedure in đồng: [{"kind", "description", "amount"}].

    Fees with no amount in đồng (set by a council, a foreign currency) cannot be paid
    online and are left out; such services are level 3 and are paid at the counter.
    """
    fees = []
    for channel in procedure.channels or []:
        if channel.get("channel") != 2:
            continue
        for timing in channel.get("timings") or []:
            for fee in timing.get("fees") or []:
                amount = fee.get("amount")
                if fee.get("currency") != "VND" or not isinstance(amount, int) or amount <= 0:
                    continue
                fees.append(
                    {
                        "kind": fee.get("kind") if fee.get("kind") in FEE_KINDS else "unspecified",
                        "description": (fee.get("description") or "Lệ phí")[:500],
                        "amount": amount,
                    }
                )
        # One online channel's timings: the first with fees is the one filed online.
        if fees:
            break
    return fees


def freeze_fee_lines(dossier, procedure, online_service) -> list[FeeLine]:
    """Copy what the dossier owes from the catalog onto the dossier, for services paid
    online (``pays_online``). Later catalog changes do not change it."""
    if online_service is None or not online_service.pays_online:
        return []
    lines = [
        FeeLine(
            dossier_id=dossier.id,
            kind=fee["kind"],
            description=fee["description"],
            amount=fee["amount"],
            currency="VND",
            source="catalog",
            created_at=utcnow(),
        )
        for fee in online_fees(procedure)
    ]
    db.session.add_all(lines)
    return lines


def record_amount_due(
    dossier_id: int,
    amount,
    *,
    source: str,
    external_id: str | None = None,
    description: str = "Nghĩa vụ tài chính theo yêu cầu của cơ quan giải quyết",
    kind: str = "unspecified",
) -> FeeLine | None:
    """Add what a partner asks for with status 6 (an optional integer ``amount`` in đồng)
    to what the dossier owes. A repeat of the same (source, external_id) adds nothing.

    :raises ValidationFailed: the amount is not a whole positive number of đồng.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ValidationFailed("amount must be a whole positive number of đồng", token="ValidationError")
    if external_id is not None:
        known = db.session.scalar(
            sa.select(FeeLine.id).where(FeeLine.source == source[:48], FeeLine.external_id == external_id)
        )
        if known is not None:
            return None
    line = FeeLine(
        dossier_id=dossier_id,
        kind=kind if kind in FEE_KINDS else "unspecified",
        description=description[:500],
        amount=amount,
        currency="VND",
        source=source[:48],
        external_id=external_id,
        created_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    return line


def fee_lines(dossier_id: int) -> list[FeeLine]:
    return list(
        db.session.scalars(sa.select(FeeLine).where(FeeLine.dossier_id == dossier_id).order_by(FeeLine.id))
    )


def amounts(dossier_id: int) -> dict:
    """{"total": fees, "paid": what payments brought in, "owed": what is left}, in đồng.

    Refunds do not make a dossier owe again: money given back was not due.
    """
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(FeeLine.amount), 0)).where(FeeLine.dossier_id == dossier_id)
    )
    paid = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
            Payment.dossier_id == dossier_id, Payment.state.in_(PAID_STATES)
        )
    )
    total, paid = int(total or 0), int(paid or 0)
    return {"total": total, "paid": paid, "owed": max(0, total - paid)}
