"""Staff identities: their own accounts, agency scopes and sign-in sessions.

Separate from citizens' ``users`` on purpose: a citizen account never becomes staff, and a
staff session is a different record under a different session key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db

staff_agencies = sa.Table(
    "staff_agencies",
    db.metadata,
    sa.Column("staff_id", sa.ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True),
)


class StaffDict(TypedDict):
    id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    two_factor_enrolled: bool
    agency_ids: list[int]
    created_at: str


class StaffUser(db.Model):
    """A support agent, supervisor, agency officer or administrator.

    ``totp_secret`` is created with the account; ``totp_confirmed_at`` is set when the
    person proves they hold it. ``totp_last_step`` is the last accepted 30-second step, so
    a code is accepted once only.
    """

    __tablename__ = "staff_users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'agency_officer', 'admin')", name="role_known"),
    )
    audit_kind = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    totp_secret: Mapped[str] = mapped_column(sa.String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set when an administrator issues a temporary password: the back office opens only the
    # password page until the owner chooses their own.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    agencies = relationship("Agency", secondary=staff_agencies, order_by="Agency.name")

    def serialize(self) -> StaffDict:
        return {
            "id": self.id,
            "email": self.email,
            "full_name": self.full_name,
            "role": self.role,
            "is_active": self.is_active,
            "two_factor_enrolled": self.totp_confirmed_at is not None,
            "agency_ids": [a.id for a in self.agencies],
            "created_at": self.created_at.isoformat(),
        }


class StaffSession(db.Model):
    """One signed-in staff browser: the cookie's session holds a random token, this row its
    SHA-256. Shorter-lived than citizens' sessions and ended by inactivity too."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
