"""Paying a dossier's fees: start, confirm, learn the truth from the gateway, apply it once.

Everything that changes a payment's state goes through :func:`apply_gateway_payment`, in
the caller's transaction and under the payment's row lock: the webhook, the return page,
expiry and the mop-up job all end there, so whichever comes first applies the change and
queues its effects, and the others find nothing left to do. The effects of a success
(receipt, dossier history, partner delivery, e-mail) are applied by the job
``payments.effects`` (:func:`apply_effects`), which claims them once; the mop-up re-runs
any whose job was lost. States only move forward:

    created → processing → succeeded | failed | cancelled | expired
    failed → succeeded | cancelled | expired   (an attempt failed; the intent is not over)
    succeeded → partially_refunded → refunded  (portal.payments.refunds)

Calls to the gateway are made outside any transaction (a slow gateway never holds a
lock); the transaction that follows re-reads under the lock.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.util import identity_key

from portal.accounts.models import User
from portal.db import Raw, transactional, utcnow
from portal.dossiers.statuses import aware
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.jobs import enqueue
from portal.payments import fees, queries
from portal.payments.gateway import GatewayEvent, GatewayPayment, get_gateway
from portal.payments.models import (
    CANCELLED,
    CREATED,
    EXPIRED,
    FAILED,
    OPEN_STATES,
    PAID_STATES,
    PROCESSING,
    SUCCEEDED,
    FeeLine,
    Payment,
)

log = logging.getLogger(__name__)

# Where each state may go. Refund states are moved by portal.payments.refunds.
FORWARD = {
    CREATED: {PROCESSING, FAILED, SUCCEEDED, CANCELLED, EXPIRED},
    PROCESSING: {FAILED, SUCCEEDED, CANCELLED, EXPIRED},
    # A declined attempt leaves the gateway's intent open (Stripe: requires_payment_method);
    # money can still arrive on it until it is cancelled.
    FAILED: {SUCCEEDED, CANCELLED, EXPIRED},
}
CLOSED = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
_PAYMENT_METHOD = re.compile(r"^(pm|card|src|tok)_[A-Za-z0-9_]{1,64}$")


def can_move(old: str, new: str) -> bool:
    return new in FORWARD.get(old, ())


def _not_found() -> NotFound:
    return NotFound(_("This payment does not exist or is not yours."))


def _insert_ignore(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def lock_payment(payment_id: int) -> Payment:
    """The payment, re-read under its row lock, held until the transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks: an UPDATE takes its write
    lock (other writers then wait for the busy timeout) before the row is read.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        _take_sqlite_lock(payment_id)
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# ------------------------------------------------------------------ applying the truth


def apply_gateway_payment(payment_id: int, snapshot: GatewayPayment, *, via: str) -> str:
    """Apply what the gateway says of a payment; part of the caller's transaction.

    Returns ``applied``, ``ignored`` (nothing new, or a step backwards: stale or out of
    order) or ``mismatch`` (the gateway reports success for another amount or currency, or
    for a payment already closed here: recorded in ``flagged`` for staff, never applied).

    It runs for every callback, so it reads and writes the payment row with a few plain
    statements (:class:`portal.db.Raw`), never loading it as an object.
    """
    new = snapshot.state
    if new == CREATED:
        return "ignored"
    # States only move forward: what cannot apply to the state read now cannot apply to any
    # later one, so most repeats and late events are answered without taking the lock.
    found = _STATE.first({"id": payment_id})
    current = found[0] if found else None
    if current is None or new == current:
        return "ignored"
    if not can_move(current, new) and not (new == SUCCEEDED and current in (CANCELLED, EXPIRED)):
        return "ignored"
    locked = _lock_row(payment_id)
    if locked is None:
        return "ignored"
    state, gateway_ref, amount, currency = locked
    if (gateway_ref and snapshot.ref != gateway_ref) or new == state:
        return "ignored"
    if new == SUCCEEDED:
        flagged = None
        if snapshot.amount != amount or snapshot.currency != currency:
            flagged = (
                f"gateway reported success for {snapshot.amount} {snapshot.currency}, "
                f"expected {amount} {currency}"
            )[:300]
            log.warning("payment amount mismatch", extra={"payment_id": payment_id, "via": via})
        elif state in (CANCELLED, EXPIRED):
            flagged = f"gateway reported success after the payment was {state} here"
            log.warning("payment succeeded after closing", extra={"payment_id": payment_id, "via": via})
        if flagged:
            _update_payment(payment_id, flagged=flagged)
            return "mismatch"
    if not can_move(state, new):
        return "ignored"
    now = utcnow()
    changes: dict = {"state": new}
    if new == FAILED:
        changes["failure_code"] = (snapshot.failure_code or "")[:64] or None
        changes["failure_message"] = snapshot.failure_message
    if new in CLOSED:
        changes["closed_at"] = now
    if new == SUCCEEDED:
        changes["succeeded_at"] = now
        enqueue("payments.effects", payment_id)
    _update_payment(payment_id, **changes)
    log.info("payment state applied", extra={"payment_id": payment_id, "state": new, "via": via})
    return "applied"


_STATE = Raw("SELECT state FROM payments WHERE id = :id")
_LOCKED = Raw("SELECT state, gateway_ref, amount, currency FROM payments WHERE id = :id FOR UPDATE")
_READ = Raw("SELECT state, gateway_ref, amount, currency FROM payments WHERE id = :id")


def _lock_row(payment_id: int) -> tuple | None:
    """(state, gateway_ref, amount, currency) of the payment, under its row lock (see
    :func:`lock_payment` for SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _LOCKED.first({"id": payment_id})
    _take_sqlite_lock(payment_id)
    return _READ.first({"id": payment_id})


def _take_sqlite_lock(payment_id: int) -> None:
    db.session.execute(
        sa.update(Payment)
        .where(Payment.id == payment_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _update_payment(payment_id: int, **changes) -> None:
    """Write ``changes`` to the payment row; a copy of it loaded in this session is expired,
    so that nothing reads (or flushes) the old values afterwards."""
    changes["updated_at"] = utcnow()
    names = tuple(sorted(changes))
    statement = _UPDATES.get(names)
    if statement is None:
        statement = _UPDATES[names] = Raw(
            f"UPDATE payments SET {', '.join(f'{n} = :{n}' for n in names)} WHERE id = :id",
            **{n: sa.DateTime(timezone=True) for n in names if n.endswith("_at")},
        )
    statement.rows({**changes, "id": payment_id})
    loaded = db.session.identity_map.get(identity_key(Payment, payment_id))
    if loaded is not None:
        db.session.expire(loaded)


# One statement per set of columns written (a handful: succeeded, failed, flagged, ...).
_UPDATES: dict[tuple[str, ...], Raw] = {}


def receipt_lines(payment: Payment) -> list[dict]:
    """The fee lines this payment covers: earlier payments cover the first lines first."""
    earlier = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
            Payment.dossier_id == payment.dossier_id,
            Payment.id != payment.id,
            Payment.state.in_(PAID_STATES),
        )
    )
    earlier, left, lines = int(earlier or 0), payment.amount, []
    for line in db.session.scalars(
        sa.select(FeeLine).where(FeeLine.dossier_id == payment.dossier_id).order_by(FeeLine.id)
    ):
        covered = min(line.amount, earlier)
        earlier -= covered
        take = min(line.amount - covered, left)
        if take > 0:
            lines.append({"kind": line.kind, "description": line.description, "amount": take})
            left -= take
    if left > 0:
        lines.append({"kind": "unspecified", "description": "Khoản thu khác", "amount": left})
    return lines


@transactional
def apply_effects(payment_id: int) -> bool:
    """Apply a succeeded payment's effects once: the receipt (numbered), an event in the
    dossier's history, an outbox delivery so the partner is told, and the e-mail job. The
    claim (``effects_done_at``) commits with them, so a job run twice, or by two workers,
    applies them once. Returns whether this run applied them."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Payment)
        .where(Payment.id == payment_id, Payment.effects_done_at.is_(None), Payment.state.in_(PAID_STATES))
        .values(effects_done_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    _succeeded_effects(db.session.get(Payment, payment_id), now)
    return True


def _succeeded_effects(payment: Payment, now) -> None:
    from portal.dossiers import service as dossiers
    from portal.payments import receipts

    dossier_info = dossiers.record_payment(
        payment.dossier_id, payment_id=payment.id, amount=payment.amount, at=now
    )
    payer = dossier_info["applicant_name"]
    if not payer and payment.user_id:
        user = db.session.get(User, payment.user_id)
        payer = user.full_name if user else None

    receipt = receipts.issue(
        payment=payment, dossier=dossier_info, lines=receipt_lines(payment), payer_name=payer or "", now=now
    )
    enqueue("payments.email_receipt", receipt.id)


# ---------------------------------------------------------------------- citizen's side


def _payment_ref_for(user: User, payment_id) -> Payment:
    payment = queries.find_owned_payment(user, payment_id)
    if payment is None:
        raise _not_found()
    return payment


@transactional
def _reserve(user: User, dossier_id) -> tuple[int, bool]:
    from portal.dossiers import queries as dossier_queries
    from portal.dossiers import service as dossiers

    dossier = dossier_queries.find_owned(user, dossier_id)
    if dossier is None:
        raise dossier_queries.not_found()
    dossiers.lock_dossier(dossier.id)
    owed = fees.amounts(dossier.id)["owed"]
    existing = queries.open_payment(dossier.id)
    if existing is not None and existing.amount == owed and not _is_expired(existing, utcnow()):
        return existing.id, existing.gateway_ref is None
    if owed <= 0:
        raise Conflict(_("Nothing is owed on this dossier."), token="NothingOwed")
    payment = Payment(
        dossier_id=dossier.id,
        user_id=user.id,
        amount=owed,
        currency="VND",
        state=CREATED,
        gateway=current_app.config.get("PAYMENT_GATEWAY", "stripe"),
        created_at=utcnow(),
    )
    db.session.add(payment)
    db.session.flush()
    return payment.id, True


@transactional
def _attach(payment_id: int, snapshot: GatewayPayment) -> bool:
    """Record the gateway's id of a new payment; False when another request did first."""
    return (
        db.session.execute(
            sa.update(Payment)
            .where(Payment.id == payment_id, Payment.gateway_ref.is_(None))
            .values(gateway_ref=snapshot.ref, client_secret=snapshot.client_secret, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def start_payment(user: User, dossier_id) -> dict:
    """Open (or reuse) the payment of what the dossier owes and create it at the gateway.
    Returns the payment as ``serialize_payment`` with its ``client_secret``.

    :raises NotFound: no such dossier of this citizen.
    :raises Conflict: ``NothingOwed``.
    :raises GatewayError: the gateway could not be reached (the payment stays ``created``
        and expires; trying again reuses it).
    """
    payment_id, needs_gateway = _reserve(user, dossier_id)
    if needs_gateway:
        payment = db.session.get(Payment, payment_id)
        dossier_code = _dossier_code(payment.dossier_id)
        snapshot = get_gateway(payment.gateway).create(
            amount=payment.amount,
            currency=payment.currency,
            metadata={"payment_id": payment.id, "dossier_code": dossier_code},
            idempotency_key=f"payment-{payment.id}-create",
        )
        if not _attach(payment_id, snapshot):
            # Another request created it first: ours is never shown to anyone; cancel it.
            try:
                get_gateway(payment.gateway).cancel(snapshot.ref, idempotency_key=f"payment-{payment.id}-dup")
            except Exception:  # noqa: BLE001 - the orphan expires at the gateway anyway
                log.warning("could not cancel a duplicate gateway payment", extra={"payment_id": payment_id})
    db.session.expire_all()
    payment = queries.find_owned_payment(user, payment_id)
    return queries.serialize_payment(payment, with_secret=True)


def _dossier_code(dossier_id: int) -> str:
    from portal.dossiers.models import Dossier

    return db.session.scalar(sa.select(Dossier.code).where(Dossier.id == dossier_id)) or ""


@transactional
def _apply(payment_id: int, snapshot: GatewayPayment, via: str) -> str:
    return apply_gateway_payment(payment_id, snapshot, via=via)


def confirm_payment(user: User, payment_id, unsafe_payment_method) -> dict:
    """Confirm an open payment with the card the browser tokenised at the gateway.
    Returns the payment (``serialize_payment``) and ``requires_action`` (3-D Secure to
    finish in the browser).

    :raises NotFound: no such payment of this citizen.
    :raises ValidationFailed: not a payment method id.
    :raises Conflict: ``PaymentClosed``: the payment is no longer open.
    """
    payment = _payment_ref_for(user, payment_id)
    method = unsafe_payment_method if isinstance(unsafe_payment_method, str) else ""
    if not _PAYMENT_METHOD.match(method):
        raise ValidationFailed(
            _("The card could not be read. Please try again."), token="InvalidPaymentMethod"
        )
    if payment.state not in OPEN_STATES or not payment.gateway_ref:
        raise Conflict(_("This payment is no longer open."), token="PaymentClosed")
    snapshot = get_gateway(payment.gateway).confirm(
        payment.gateway_ref, payment_method=method, idempotency_key=f"payment-{payment.id}-{method}"
    )
    _apply(payment.id, snapshot, "confirm")
    db.session.expire_all()
    payment = queries.find_owned_payment(user, payment.id)
    data = queries.serialize_payment(payment, with_secret=True)
    data["requires_action"] = snapshot.state == PROCESSING and payment.state in OPEN_STATES
    return data


def refresh_payment(user: User, payment_id) -> dict:
    """The payment's real state: the gateway is asked about an open one, and what it says
    is applied like a callback. What the return URL claims is never read.

    :raises NotFound: no such payment of this citizen.
    """
    payment = _payment_ref_for(user, payment_id)
    if payment.state in OPEN_STATES | {FAILED} and payment.gateway_ref:
        try:
            snapshot = get_gateway(payment.gateway).retrieve(payment.gateway_ref)
        except Exception:  # noqa: BLE001 - show what the portal knows; the mop-up retries
            log.warning("could not ask the gateway", extra={"payment_id": payment.id})
        else:
            _apply(payment.id, snapshot, "return")
    db.session.expire_all()
    payment = queries.find_owned_payment(user, payment.id)
    return queries.serialize_payment(payment, with_secret=True)


def payment_page(user: User, payment_id) -> dict:
    """The payment as the pay page shows it (with its client secret while open).

    :raises NotFound: no such payment of this citizen.
    """
    return queries.serialize_payment(_payment_ref_for(user, payment_id), with_secret=True)


# ----------------------------------------------------------------------------- callbacks


def _find_for_event(gateway: str, event: GatewayEvent) -> Payment | None:
    # A callback may outrun the commit that records the gateway's id: the metadata names us.
    unsafe_id = (event.payment.metadata if event.payment else {}).get("payment_id")
    if unsafe_id and str(unsafe_id).isdigit():
        payment = db.session.get(Payment, int(unsafe_id))
        if payment is not None and payment.gateway == gateway and payment.gateway_ref is None:
            _attach_in_transaction(payment.id, event.payment)
            return payment
    return None


def _attach_in_transaction(payment_id: int, snapshot: GatewayPayment) -> None:
    db.session.execute(
        sa.update(Payment)
        .where(Payment.id == payment_id, Payment.gateway_ref.is_(None))
        .values(gateway_ref=snapshot.ref, client_secret=snapshot.client_secret)
        .execution_options(synchronize_session=False)
    )


_RECORD_EVENT = Raw(
    "INSERT INTO payment_events (source, external_id, type, result, payment_id, occurred_at, received_at, payload) "
    "VALUES (:source, :external_id, :type, 'ignored', "
    "(SELECT id FROM payments WHERE gateway = :gateway AND gateway_ref = :payment_ref), "
    ":occurred_at, :received_at, :payload) "
    "ON CONFLICT (source, external_id) DO NOTHING RETURNING id, payment_id",
    occurred_at=sa.DateTime(timezone=True),
    received_at=sa.DateTime(timezone=True),
    payload=sa.JSON(),
)
_EVENT_RESULT = Raw("UPDATE payment_events SET result = :result, payment_id = :payment_id WHERE id = :id")


@transactional
def handle_callback(gateway: str, event: GatewayEvent) -> str:
    """Record a verified callback and apply it, in one transaction.

    Returns ``duplicate`` (this event id was seen: nothing changes), ``unknown`` (about no
    payment of ours), or what applying it did (``applied``, ``ignored``, ``mismatch``).
    """
    from datetime import UTC, datetime

    occurred = datetime.fromtimestamp(event.created, UTC) if event.created else None
    # One statement, written out: it runs for every callback.
    row = _RECORD_EVENT.first(
        {
            "source": gateway,
            "gateway": gateway,
            "external_id": event.id,
            "type": event.type,
            "payment_ref": event.payment_ref,
            "occurred_at": occurred,
            "received_at": utcnow(),
            "payload": event.payload,
        }
    )
    if row is None:
        return "duplicate"
    inserted, payment_id = row
    if payment_id is None:
        payment = _find_for_event(gateway, event)
        payment_id = payment.id if payment else None
    if payment_id is None:
        result = "unknown"
    elif event.payment is not None:
        result = apply_gateway_payment(payment_id, event.payment, via=f"callback:{event.type}")
    elif event.refunds:
        from portal.payments.refunds import apply_gateway_refunds

        result = apply_gateway_refunds(payment_id, event.refunds)
    else:
        result = "ignored"
    if result != "ignored" or row[1] != payment_id:
        _EVENT_RESULT.rows({"result": result, "payment_id": payment_id, "id": inserted})
    return result


# ------------------------------------------------------------------- expiry and mop-up


def _is_expired(payment: Payment, now) -> bool:
    minutes = int(current_app.config.get("PAYMENT_EXPIRY_MINUTES", 90))
    return aware(payment.created_at) <= now - timedelta(minutes=minutes)


def _open_payments(before) -> list[tuple[int, str, str | None]]:
    rows = db.session.execute(
        sa.select(Payment.id, Payment.gateway, Payment.gateway_ref)
        .where(Payment.state.in_(OPEN_STATES | {FAILED}), Payment.created_at <= before)
        .order_by(Payment.id)
    ).all()
    db.session.rollback()  # end the read: gateway calls follow, with no transaction open
    return [tuple(row) for row in rows]


@transactional
def _expire(payment_id: int, snapshot: GatewayPayment | None) -> str:
    """Mark an open payment expired, unless the gateway says it succeeded meanwhile."""
    if snapshot is not None and snapshot.state == SUCCEEDED:
        return apply_gateway_payment(payment_id, snapshot, via="expiry")
    payment = lock_payment(payment_id)
    if payment is None or payment.state not in OPEN_STATES | {FAILED}:
        return "ignored"
    payment.state = EXPIRED
    payment.closed_at = utcnow()
    return "applied"


def expire_payments(now=None) -> int:
    """Cancel at the gateway, and mark expired, every payment still open (or failed and
    never paid) PAYMENT_EXPIRY_MINUTES after it was started. Safe to run twice.
    Returns how many were marked expired."""
    now = now or utcnow()
    minutes = int(current_app.config.get("PAYMENT_EXPIRY_MINUTES", 90))
    expired = 0
    for payment_id, gateway, ref in _open_payments(now - timedelta(minutes=minutes)):
        snapshot = None
        if ref:
            try:
                snapshot = get_gateway(gateway).cancel(ref, idempotency_key=f"payment-{payment_id}-expire")
            except Exception:  # noqa: BLE001 - unreachable gateway: try again next run
                log.warning("could not cancel an expired payment", extra={"payment_id": payment_id})
                continue
            if snapshot.state not in (CANCELLED, SUCCEEDED):
                continue
        if _expire(payment_id, snapshot) == "applied" and (snapshot is None or snapshot.state != SUCCEEDED):
            expired += 1
    return expired


def mop_up(now=None) -> dict:
    """Ask the gateway about every payment still open (or failed) and apply its true state,
    so a lost callback never leaves a paid dossier unpaid; apply the effects of successes
    whose job was lost; then expire what is too old.
    Returns {"checked", "applied", "redone", "expired"}."""
    now = now or utcnow()
    grace = int(current_app.config.get("PAYMENT_MOPUP_GRACE_MINUTES", 5))
    checked = applied = 0
    for payment_id, gateway, ref in _open_payments(now - timedelta(minutes=grace)):
        if not ref:
            continue
        try:
            snapshot = get_gateway(gateway).retrieve(ref)
        except Exception:  # noqa: BLE001 - try again next run
            log.warning("could not ask the gateway", extra={"payment_id": payment_id})
            continue
        checked += 1
        if _apply(payment_id, snapshot, "mop-up") == "applied":
            applied += 1
    redone = 0
    for (payment_id,) in db.session.execute(
        sa.select(Payment.id).where(
            Payment.state.in_(PAID_STATES),
            Payment.effects_done_at.is_(None),
            Payment.succeeded_at <= now - timedelta(minutes=grace),
        )
    ).all():
        redone += bool(apply_effects(payment_id))
    return {"checked": checked, "applied": applied, "redone": redone, "expired": expire_payments(now)}
