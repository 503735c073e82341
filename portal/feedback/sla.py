"""Due dates of tickets: a configurable number of working days per category, on the same
Vietnamese working-day calendar as dossiers (portal.workdays).

The clock stands still while a ticket waits for the citizen, as a dossier's does while a
supplement is requested: entering "waiting" opens a pause (``ticket_sla_pauses``), leaving
it by any road (the citizen writes, staff reopen, answer or close it, a merge) ends the pause
and moves ``due_at`` by the working days it took: those in (first day, last day], Vietnam
time, so a wait within one day costs nothing and one from Friday to Monday costs one. The
first due date stays in ``original_due_at``. Every status change of a received ticket goes
through :func:`move_to`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from portal.workdays import END_OF_DAY, VN_TZ, WorkCalendar

DEFAULT_DAYS = 10
WAITING = "waiting"


def sla_days() -> dict[str, int]:
    """FEEDBACK_SLA_WORKING_DAYS as ``{category: days}`` ("dossier:5,conduct:10,...").

    :raises ValueError: a malformed entry (the configuration is wrong).
    """
    result = {}
    for part in (current_app.config.get("FEEDBACK_SLA_WORKING_DAYS") or "").split(","):
        if not part.strip():
            continue
        category, _, days = part.partition(":")
        result[category.strip()] = int(days)
    return result


def _calendar() -> WorkCalendar:
    return WorkCalendar.from_config(current_app.config)


def _aware(value: datetime | None) -> datetime | None:
    """A database time as aware UTC (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def due_at(category: str, received_at: datetime) -> datetime:
    days = sla_days().get(category, DEFAULT_DAYS)
    return _calendar().due_at(received_at, days)


def paused_working_days(started_at: datetime, ended_at: datetime) -> int:
    """Working days a wait took from the clock: those in (start day, end day], Vietnam time."""
    start = _aware(started_at).astimezone(VN_TZ).date()
    end = _aware(ended_at).astimezone(VN_TZ).date()
    return _calendar().working_days_between(start, end) if end > start else 0


def extend_due(due: datetime, working_days: int) -> datetime:
    """``due`` moved on by ``working_days`` working days, at the end of that working day."""
    due = _aware(due)
    if working_days <= 0:
        return due
    day = _calendar().add_working_days(due.astimezone(VN_TZ).date(), working_days)
    return datetime.combine(day, END_OF_DAY, tzinfo=VN_TZ).astimezone(UTC)


def open_pause(ticket):
    """The ticket's wait that has not ended, if any."""
    from portal.extensions import db
    from portal.feedback.models import TicketSlaPause

    return db.session.scalar(
        sa.select(TicketSlaPause)
        .where(TicketSlaPause.ticket_id == ticket.id, TicketSlaPause.ended_at.is_(None))
        .order_by(TicketSlaPause.id.desc())
    )


def move_to(ticket, status: str, now: datetime) -> None:
    """Set a received ticket's status, pausing or resuming its SLA clock.

    Entering "waiting" opens a pause; leaving it ends the pause and moves ``due_at`` by the
    working days waited. Part of the caller's transaction (no commit).
    """
    from portal.extensions import db
    from portal.feedback.models import TicketSlaPause

    before, ticket.status = ticket.status, status
    if status == WAITING and before != WAITING:
        if open_pause(ticket) is None:
            db.session.add(TicketSlaPause(ticket_id=ticket.id, started_at=now))
    elif before == WAITING and status != WAITING:
        pause = open_pause(ticket)
        if pause is None:
            return
        pause.ended_at = now
        pause.working_days = paused_working_days(pause.started_at, now)
        if ticket.due_at is not None:
            if ticket.original_due_at is None:
                ticket.original_due_at = ticket.due_at
            ticket.due_at = extend_due(ticket.due_at, pause.working_days)


def is_overdue(status: str, due: datetime | None, now: datetime) -> bool:
    """Unanswered past the due date. A ticket waiting for the citizen is not the desk's delay
    (its clock is paused: the due date moves when the wait ends)."""
    if due is None or status not in ("new", "open"):
        return False
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    return due < now
