"""Dossiers (hồ sơ): drafts, filed dossiers, their status history, files and ratings.

A dossier is filed on the portal (channel 2, by a citizen) or reported by a partner after
it was filed at a counter (channel 1) or by post (3). Its current status is the national
code 1-10 of its newest applied event (contract/provincial-sync.md).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db

# National status codes.
SUBMITTED, ACCEPTED, REFUSED, PROCESSING, SUPPLEMENT, PAYMENT, WITHDRAWN, STOPPED, READY, DELIVERED = range(
    1, 11
)
FINAL_STATUSES = frozenset({REFUSED, WITHDRAWN, DELIVERED})
PAUSED_STATUSES = frozenset({SUPPLEMENT, PAYMENT, STOPPED})
CHANNELS = {1: "counter", 2: "online", 3: "post"}


class Dossier(db.Model):
    """A dossier. Drafts have ``state == "draft"``, no code and no status yet."""

    __tablename__ = "dossiers"
    __table_args__ = (
        sa.Index("ix_dossiers_user_state", "user_id", "state", "updated_at"),
        sa.Index("ix_dossiers_applicant_id_number", "applicant_id_number"),
        sa.CheckConstraint("state IN ('draft', 'filed')", name="state_known"),
        sa.CheckConstraint("status IS NULL OR (status BETWEEN 1 AND 10)", name="status_national"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    state: Mapped[str] = mapped_column(sa.String(8), default="draft")
    status: Mapped[int | None] = mapped_column(sa.SmallInteger, index=True)
    channel: Mapped[int] = mapped_column(sa.SmallInteger, default=2)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    online_service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("online_services.id"))
    procedure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("procedures.id"), index=True)
    procedure_code: Mapped[str] = mapped_column(sa.String(64))
    # The agency at filing time: kept even after a reorganisation closes its code.
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    agency_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    summary: Mapped[str | None] = mapped_column(sa.String(500))
    form_data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    applicant_name: Mapped[str | None] = mapped_column(sa.String(100))
    applicant_id_number: Mapped[str | None] = mapped_column(sa.String(20))
    applicant_phone: Mapped[str | None] = mapped_column(sa.String(16))
    applicant_email: Mapped[str | None] = mapped_column(sa.String(254))
    received_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The first due date, kept when a supplement request pauses the clock and sets a new one.
    original_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    processing_days: Mapped[int | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_event_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Filing order of dossiers filed on the portal, handed out in commit order (partner
    # sync's pull feed pages by it; the id is given when the draft starts, not when filed).
    filed_seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    events: Mapped[list[DossierEvent]] = relationship(
        back_populates="dossier",
        order_by="DossierEvent.occurred_at, DossierEvent.id",
        cascade="all, delete-orphan",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="dossier", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    pauses: Mapped[list[DossierPause]] = relationship(
        back_populates="dossier", order_by="DossierPause.started_at", cascade="all, delete-orphan"
    )


class DossierEvent(db.Model):
    """One status event in a dossier's history, including stale ones (never deleted).

    ``source`` says who sent it (``portal``, ``citizen``, ``partner:<code>``);
    ``external_id`` is the sender's event id, unique per source, so a repeat is detected.
    """

    __tablename__ = "dossier_events"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="source_external_id"),
        sa.Index("ix_dossier_events_dossier_occurred", "dossier_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"))
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(48))
    external_id: Mapped[str | None] = mapped_column(sa.String(128))
    result: Mapped[str] = mapped_column(sa.String(8), default="applied")  # applied | stale
    note: Mapped[str | None] = mapped_column(sa.Text)
    handler_name: Mapped[str | None] = mapped_column(sa.String(200))
    handler_unit: Mapped[str | None] = mapped_column(sa.String(300))
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # When the applicant was told of this event: the notice job claims the event by setting
    # it, so a job run twice (a retry, a second worker) sends one e-mail.
    notified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    dossier: Mapped[Dossier] = relationship(back_populates="events")


class DossierPause(db.Model):
    """A period the clock stood still (supplement requested, payment due, processing stopped)."""

    __tablename__ = "dossier_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    dossier: Mapped[Dossier] = relationship(back_populates="pauses")


class Attachment(db.Model):
    """A file of a dossier, stored under a random name outside the web root."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    document_key: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16), default="initial")  # initial | supplement
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="attachments")


class DossierCounter(db.Model):
    """The last sequence number minted per agency per day, for codes AGENCY-YYMMDD-NNNN."""

    __tablename__ = "dossier_counters"

    agency_code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class Rating(db.Model):
    """The citizen's satisfaction with a finished dossier: one per dossier."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), unique=True)
    value: Mapped[str] = mapped_column(sa.String(20))  # very_satisfied | satisfied | not_satisfied
    comment: Mapped[str | None] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Delivery(db.Model):
    """The outbox: a dossier to deliver to the responsible partner, written in the same
    transaction as the dossier and sent by a job (partner sync). ``id`` is the
    ``X-Portal-Delivery`` value, the same on every try."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    agency_code: Mapped[str] = mapped_column(sa.String(32))
    # pending | sending (claimed by a worker until locked_until) | delivered | failed
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The lease of the worker sending it: past it, another worker may take the row over.
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Retries stop (state failed) after this; None: created_at + SYNC_RETRY_FOR_HOURS.
    give_up_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The partner it was sent to, and its last answer's HTTP status.
    partner_code: Mapped[str | None] = mapped_column(sa.String(32))
    last_status: Mapped[int | None] = mapped_column(sa.SmallInteger)
