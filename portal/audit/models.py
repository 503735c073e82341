"""Audit entries: one row per staff action or security event, never changed afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import utcnow
from portal.extensions import db


class AuditEntryDict(TypedDict):
    id: int
    occurred_at: str
    actor_kind: str
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str | None
    target_id: str | None
    changes: dict
    ip_address: str | None
    user_agent: str | None
    request_id: str | None


class AuditEntry(db.Model):
    """``actor_kind`` is staff | citizen | system | anonymous; ``actor_label`` keeps the
    e-mail or name as it was, so the entry still reads right after the account changes."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.Index("ix_audit_entries_target", "target_type", "target_id"),
        sa.Index("ix_audit_entries_actor", "actor_kind", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(sa.String(16))
    actor_id: Mapped[int | None] = mapped_column()
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))

    def serialize(self) -> AuditEntryDict:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "actor_kind": self.actor_kind,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "changes": self.changes or {},
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
        }


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit entry through the ORM."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, _context, _instances):  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit entries are never changed or deleted")
