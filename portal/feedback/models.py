"""Feedback tickets (phản ánh, kiến nghị), their public messages, internal notes, history,
phone calls, canned responses and published questions and answers.

Internal notes live in a table of their own (``ticket_notes``) that no citizen-facing
query reads: what a citizen sees is built from ``ticket_messages`` only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import db

CATEGORIES = ("dossier", "conduct", "regulation", "portal")
# unconfirmed: a guest has not confirmed the e-mail yet; invisible to the desk.
STATUSES = ("unconfirmed", "new", "open", "waiting", "answered", "closed")
OPEN_STATUSES = ("new", "open", "waiting")


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        sa.CheckConstraint(
            "category IN ('dossier', 'conduct', 'regulation', 'portal')", name="category_known"
        ),
        sa.CheckConstraint(
            "status IN ('unconfirmed', 'new', 'open', 'waiting', 'answered', 'closed')", name="status_known"
        ),
        sa.Index("ix_tickets_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(8), default="web")  # web | phone
    category: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)
    search_norm: Mapped[str] = mapped_column(sa.Text, default="")
    dossier_code: Mapped[str | None] = mapped_column(sa.String(64))
    procedure_code: Mapped[str | None] = mapped_column(sa.String(64))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(16))
    locale: Mapped[str] = mapped_column(sa.String(5), default="vi")
    status: Mapped[str] = mapped_column(sa.String(12), default="new")
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    # Guests open their ticket with a secret link; only the SHA-256 is kept.
    access_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    confirm_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    attachment_name: Mapped[str | None] = mapped_column(sa.String(255))
    attachment_stored: Mapped[str | None] = mapped_column(sa.String(64))
    attachment_type: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The SLA clock stands still while the ticket waits for the citizen: ``due_at`` moves by
    # the working days of each wait (ticket_sla_pauses); the first due date is kept here.
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    original_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class TicketMessage(db.Model):
    """What the citizen and staff said in public: the citizen's additions and staff replies."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(8))  # citizen | staff
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class TicketNote(db.Model):
    """An internal note: staff only, never shown, sent or served to the citizen."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class TicketEvent(db.Model):
    """The ticket's full history (staff-facing): every change of status, assignee, agency…"""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class TicketSlaPause(db.Model):
    """A period the ticket waited for the citizen; the SLA clock stood still.

    Open while ``ended_at`` is None (at most one per ticket). ``working_days`` is what the
    wait took from the clock, set when it ends, and what ``Ticket.due_at`` moved by.
    """

    __tablename__ = "ticket_sla_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    working_days: Mapped[int | None] = mapped_column()


class TicketLink(db.Model):
    """Two tickets about the same thing (linked duplicates); stored once, lower id first."""

    __tablename__ = "ticket_links"

    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)


class CannedResponse(db.Model):
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class PhoneCall(db.Model):
    """A call to the support line, logged by an agent; may become or join a ticket."""

    __tablename__ = "phone_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    caller_name: Mapped[str] = mapped_column(sa.String(100))
    caller_phone: Mapped[str | None] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(16))
    summary: Mapped[str] = mapped_column(sa.Text)
    duration_minutes: Mapped[int] = mapped_column(default=0)
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)


class PublishedAnswer(db.Model):
    """A ticket's question and answer, edited and stripped of personal data, for the public
    Q&A page once a supervisor approves it (``state``: pending | published | rejected)."""

    __tablename__ = "published_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    category: Mapped[str] = mapped_column(sa.String(16))
    question_title: Mapped[str] = mapped_column(sa.String(200))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    search_norm: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(12), default="pending", index=True)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    proposed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(sa.String(500))
