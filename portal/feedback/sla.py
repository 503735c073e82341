"""Due dates of tickets: a configurable number of working days per category, on the same
Vietnamese working-day calendar as dossiers (portal.workdays)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from portal.workdays import WorkCalendar

DEFAULT_DAYS = 10


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


def due_at(category: str, received_at: datetime) -> datetime:
    days = sla_days().get(category, DEFAULT_DAYS)
    return WorkCalendar.from_config(current_app.config).due_at(received_at, days)


def is_overdue(status: str, due: datetime | None, now: datetime) -> bool:
    """Unanswered past the due date. A ticket waiting for the citizen is not the desk's delay."""
    if due is None or status not in ("new", "open"):
        return False
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    return due < now
