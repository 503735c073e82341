"""Refunds, full or partial: never more than what was paid and not yet given back.

The portal enforces the limit itself (some gateways, localstripe among them, do not):
the amount is reserved by a ``pending`` refund row written under the payment's lock
before the gateway is asked, so two refunds at once cannot both pass the check. Refunds
made at the gateway are learnt from its events (:func:`apply_gateway_refunds`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import gettext as _

from portal.audit.service import record
from portal.db import transactional, utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.payments.gateway import GatewayError, GatewayRefund, get_gateway
from portal.payments.models import PAID_STATES, PARTIALLY_REFUNDED, REFUNDED, SUCCEEDED, Payment, Refund
from portal.payments.service import lock_payment

log = logging.getLogger(__name__)

MAX_REASON = 1000


def refundable(payment: Payment) -> int:
    """What may still be refunded: paid, minus refunds done or under way."""
    reserved = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.state.in_(("pending", "succeeded"))
        )
    )
    return max(0, payment.amount - int(reserved or 0))


def _settle_state(payment: Payment) -> None:
    """amount_refunded and the state from the succeeded refunds."""
    done = int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment.id, Refund.state == "succeeded"
            )
        )
        or 0
    )
    if done > payment.amount:
        payment.flagged = f"gateway refunded {done}, more than the {payment.amount} paid"[:300]
        done = payment.amount
    payment.amount_refunded = done
    if payment.state in PAID_STATES:
        payment.state = REFUNDED if done >= payment.amount else (PARTIALLY_REFUNDED if done else SUCCEEDED)


@transactional
def _reserve(
    payment_id: int, amount: int, actor: str, reason: str, expected_left: int | None = None, staff=None
) -> int:
    payment = lock_payment(payment_id)
    if payment is None:
        raise NotFound(_("This payment does not exist."))
    if payment.state not in (SUCCEEDED, PARTIALLY_REFUNDED):
        raise Conflict(_("Only a paid payment can be refunded."), token="NotRefundable")
    left = refundable(payment)
    if expected_left is not None and expected_left != left:
        # Checked under the payment's lock: a form sent twice (or by two people) that saw
        # the same amount left refunds once; the second finds the amount changed.
        raise Conflict(
            _(
                "This payment changed since the page was opened (a refund was made meanwhile). "
                "Nothing was refunded now: check the payment and try again."
            ),
            token="RefundStale",
        )
    if amount > left:
        raise Conflict(
            _(
                "At most %(amount)s đồng can still be refunded on this payment.",
                amount=f"{left:,}".replace(",", "."),
            ),
            token="RefundTooLarge",
        )
    refund = Refund(
        payment_id=payment.id,
        amount=amount,
        state="pending",
        source="portal",
        actor=actor,
        reason=reason,
        created_at=utcnow(),
    )
    db.session.add(refund)
    db.session.flush()
    # Written with the refund, in its transaction: an audited refund is a refund that exists.
    record(
        staff or actor,
        "payment.refund",
        payment,
        {"refund_id": refund.id, "amount": amount, "refundable_before": left, "reason": reason},
        request if has_request_context() else None,
    )
    return refund.id


@transactional
def _finish(refund_id: int, result: GatewayRefund | None, error: str | None) -> dict:
    refund = db.session.get(Refund, refund_id)
    payment = lock_payment(refund.payment_id)
    db.session.refresh(refund)
    if refund.state == "pending":
        if result is None:
            refund.state, refund.error = "failed", (error or "")[:300]
        else:
            # A callback may already have recorded it under the gateway's id.
            if result.state != "failed":
                refund.gateway_ref = result.ref
            refund.state = (
                "succeeded"
                if result.state == "succeeded"
                else ("failed" if result.state == "failed" else "pending")
            )
        refund.finished_at = utcnow() if refund.state != "pending" else None
    _settle_state(payment)
    return serialize(refund)


def refund_payment(
    payment_id: int,
    amount,
    *,
    actor: str,
    reason: str,
    expected_refundable: int | None = None,
    staff=None,
) -> dict:
    """Refund ``amount`` đồng of a paid payment, recording who and why. Returns the refund
    (``serialize``); its ``state`` is ``succeeded``, ``pending`` (the gateway will say) or
    ``failed`` (the gateway refused: nothing was given back, the amount is free again).

    :raises ValidationFailed: not a whole positive amount; no actor or reason.
    :raises NotFound: no such payment.
    :raises Conflict: ``NotRefundable`` (not paid), ``RefundTooLarge`` (more than what is
        left to refund), ``RefundStale`` (``expected_refundable`` given and no longer what
        is left: the back office's form was sent twice, or after another refund).

    ``staff``: the staff member refunding from the back office, recorded as the audit
    entry's actor (``actor`` is the name kept on the refund itself).
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed(
            _("The amount must be a whole positive number of đồng."), token="InvalidAmount"
        )
    actor = (actor or "").strip()[:200]
    reason = (reason or "").strip()
    if not actor or not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise ValidationFailed(
            _("Say who refunds and why (at most 1000 characters)."), token="ValidationError"
        )
    refund_id = _reserve(payment_id, amount, actor, reason, expected_refundable, staff)
    payment = db.session.get(Payment, payment_id)
    try:
        result = get_gateway(payment.gateway).refund(
            payment.gateway_ref,
            amount=amount,
            metadata={"refund_id": refund_id, "payment_id": payment_id},
            idempotency_key=f"refund-{refund_id}",
        )
    except GatewayError as exc:
        return _finish(refund_id, None, exc.message)
    return _finish(refund_id, result, None)


def apply_gateway_refunds(payment_id: int, refunds) -> str:
    """Reflect refunds the gateway reports (part of the caller's transaction): a refund we
    asked for is matched by its id in the metadata, one made at the gateway is recorded
    with ``actor`` "gateway". Returns ``applied`` or ``ignored`` (nothing new)."""
    payment = lock_payment(payment_id)
    changed = False
    for item in refunds:
        if not item.ref or item.amount <= 0:
            continue
        refund = db.session.scalar(sa.select(Refund).where(Refund.gateway_ref == item.ref))
        ours = str(item.metadata.get("refund_id") or "")
        if refund is None and ours.isdigit():
            refund = db.session.scalar(
                sa.select(Refund).where(Refund.id == int(ours), Refund.payment_id == payment.id)
            )
        state = item.state
        if refund is None:
            refund = Refund(
                payment_id=payment.id,
                amount=item.amount,
                state=state,
                source="gateway",
                actor="gateway",
                reason="Hoàn tiền thực hiện tại cổng thanh toán",
                gateway_ref=item.ref,
                created_at=utcnow(),
                finished_at=utcnow() if state != "pending" else None,
            )
            db.session.add(refund)
            changed = True
        elif refund.state == "pending" and state != "pending":
            refund.state, refund.gateway_ref, refund.finished_at = state, item.ref, utcnow()
            changed = True
    if not changed:
        return "ignored"
    db.session.flush()
    _settle_state(payment)
    return "applied"


def serialize(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "state": refund.state,
        "source": refund.source,
        "actor": refund.actor,
        "reason": refund.reason,
        "gateway_ref": refund.gateway_ref,
        "error": refund.error,
    }
