"""Fee payments: what a dossier owes, payments at the gateway, their events, receipts,
refunds and reconciliation runs.

Money is an integer number of đồng everywhere (VND has no minor unit): ``BigInteger``
columns, never floats.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import db

# Payment states. They only move forward (see portal.payments.states).
CREATED = "created"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
EXPIRED = "expired"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"
STATES = (CREATED, PROCESSING, SUCCEEDED, FAILED, CANCELLED, EXPIRED, PARTIALLY_REFUNDED, REFUNDED)
OPEN_STATES = frozenset({CREATED, PROCESSING})
PAID_STATES = frozenset({SUCCEEDED, PARTIALLY_REFUNDED, REFUNDED})

FEE_KINDS = ("phi", "le_phi", "unspecified")


class FeeLine(db.Model):
    """One fee a dossier owes: frozen from the catalog when it is filed (``catalog``), or
    asked for by the partner with status 6 (``partner``). Later catalog changes never
    change what a filed dossier owes."""

    __tablename__ = "fee_lines"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.UniqueConstraint("source", "external_id", name="fee_lines_source_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # phi | le_phi | unspecified
    description: Mapped[str] = mapped_column(sa.String(500))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="VND")
    source: Mapped[str] = mapped_column(sa.String(48), default="catalog")
    # The partner's event id for a partner's request, so a repeat adds nothing.
    external_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Payment(db.Model):
    """One attempt to pay what a dossier owes, mirrored from one gateway object (a Stripe
    PaymentIntent). ``amount`` is what the portal asked for; the gateway must confirm
    exactly that amount and currency before the payment counts."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.UniqueConstraint("gateway", "gateway_ref", name="payments_gateway_ref"),
        sa.Index("ix_payments_state_created", "state", "created_at"),
        sa.Index("ix_payments_succeeded_at", "succeeded_at"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name="refunds_within_amount"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="VND")
    state: Mapped[str] = mapped_column(sa.String(20), default=CREATED)
    gateway: Mapped[str] = mapped_column(sa.String(16), default="stripe")
    gateway_ref: Mapped[str | None] = mapped_column(sa.String(128))
    # What the browser needs to finish the payment with the gateway's script.
    client_secret: Mapped[str | None] = mapped_column(sa.String(255))
    amount_refunded: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(sa.String(64))
    failure_message: Mapped[str | None] = mapped_column(sa.String(300))
    # Set when the gateway reported something the portal will not apply (another amount
    # or currency): staff look at it; the payment's state is left as it was.
    flagged: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # When the success's effects (receipt, dossier history, delivery, e-mail) were applied:
    # claimed by the effects job, so they happen once; the mop-up finds any left undone.
    effects_done_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PaymentEvent(db.Model):
    """A callback from a gateway, stored under its unique id before anything is applied:
    a repeat finds it and changes nothing. ``result`` says what it did."""

    __tablename__ = "payment_events"
    __table_args__ = (sa.UniqueConstraint("source", "external_id", name="payment_events_source_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    type: Mapped[str] = mapped_column(sa.String(64))
    payment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("payments.id", ondelete="SET NULL"), index=True
    )
    # applied | ignored (stale or out of order) | mismatch (flagged) | unknown (no payment)
    result: Mapped[str] = mapped_column(sa.String(12), default="ignored")
    occurred_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ReceiptCounter(db.Model):
    """The last receipt number of a series. Taken under a row lock inside the transaction
    that issues the receipt, so numbers have no gap and no duplicate."""

    __tablename__ = "receipt_counters"

    series: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Receipt(db.Model):
    """An electronic receipt (biên lai điện tử) of one payment, frozen when issued: what it
    says never changes, and the PDF is drawn from these columns."""

    __tablename__ = "receipts"
    __table_args__ = (sa.UniqueConstraint("series", "number", name="receipts_series_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id", ondelete="CASCADE"), unique=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(sa.String(32))
    series: Mapped[str] = mapped_column(sa.String(32))
    number: Mapped[int] = mapped_column(sa.BigInteger)
    payer_name: Mapped[str] = mapped_column(sa.String(200))
    dossier_code: Mapped[str] = mapped_column(sa.String(64))
    agency_code: Mapped[str] = mapped_column(sa.String(32))
    agency_name: Mapped[str] = mapped_column(sa.String(500))
    procedure_name: Mapped[str] = mapped_column(sa.Text)
    # [{"kind", "description", "amount"}]
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    total: Mapped[int] = mapped_column(sa.BigInteger)
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Claimed by the e-mail job, so a job run twice sends one e-mail.
    emailed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Refund(db.Model):
    """Money given back on a payment. ``pending`` reserves the amount while the gateway is
    asked; ``failed`` releases it. ``actor`` and ``reason`` say who and why (``gateway``
    for refunds made at the gateway and learnt from its events)."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.UniqueConstraint("gateway_ref", name="refunds_gateway_ref"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending | succeeded | failed
    source: Mapped[str] = mapped_column(sa.String(12), default="portal")  # portal | gateway
    actor: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    gateway_ref: Mapped[str | None] = mapped_column(sa.String(128))
    error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class ReconciliationRun(db.Model):
    """One comparison of a day's gateway charges with the portal's payments."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, index=True)
    gateway: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    gateway_count: Mapped[int] = mapped_column(default=0)
    gateway_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    portal_count: Mapped[int] = mapped_column(default=0)
    portal_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    mismatch_count: Mapped[int] = mapped_column(default=0)
    totals_path: Mapped[str | None] = mapped_column(sa.String(500))


class ReconciliationMismatch(db.Model):
    """One difference found by a run, for staff: ``missing_here`` (a charge the portal has
    not counted as paid), ``missing_there`` (a paid payment with no charge that day) or
    ``amount_differs``."""

    __tablename__ = "reconciliation_mismatches"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id", ondelete="SET NULL"))
    gateway_ref: Mapped[str | None] = mapped_column(sa.String(128))
    charge_ref: Mapped[str | None] = mapped_column(sa.String(128))
    gateway_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    portal_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str | None] = mapped_column(sa.String(300))
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
