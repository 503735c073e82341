"""Searching the audit log (reads only)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from portal.audit.models import AuditEntry, AuditEntryDict
from portal.extensions import db
from portal.workdays import VN_TZ

PAGE_SIZE = 50


def search(
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    page: int = 1,
) -> tuple[list[AuditEntryDict], bool]:
    """Entries newest first matching every given filter; and whether there is a next page."""
    query = sa.select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor_label.ilike(f"%{_escape(actor)}%", escape="\\"))
    if action:
        query = query.where(AuditEntry.action.like(f"{_escape(action)}%", escape="\\"))
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if day_from:
        query = query.where(AuditEntry.occurred_at >= datetime.combine(day_from, time(0), tzinfo=VN_TZ))
    if day_to:
        end = datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=VN_TZ)
        query = query.where(AuditEntry.occurred_at < end)
    page = max(1, min(page, 10_000))
    rows = db.session.scalars(
        query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return [r.serialize() for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def for_target(target_type: str, target_id: str) -> list[AuditEntryDict]:
    rows = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.occurred_at, AuditEntry.id)
    ).all()
    return [r.serialize() for r in rows]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")[:100]
