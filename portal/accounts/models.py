"""Citizen accounts, their sign-in sessions, linked national identities and one-time tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db


class UserDict(TypedDict):
    id: int
    full_name: str
    email: str | None
    phone: str | None
    id_number: str | None
    email_verified: bool
    has_password: bool
    identities: list[dict]
    created_at: str


class User(db.Model):
    """A citizen or business account.

    ``email`` is stored lower-cased; ``phone`` in national form (0xxxxxxxxx); ``id_number``
    is the 12-digit personal identification number (CCCD). An account made by the national
    identity provider may have no password, and no contact but its identity link.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(100))
    id_number: Mapped[str | None] = mapped_column(sa.String(12), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    locale: Mapped[str] = mapped_column(sa.String(5), default="vi")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    identities: Mapped[list[IdentityLink]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login's protocol; the session id, not the user id, is what the cookie carries.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def serialize(self) -> UserDict:
        return {
            "id": self.id,
            "full_name": self.full_name,
            "email": self.email,
            "phone": self.phone,
            "id_number": self.id_number,
            "email_verified": self.email_verified_at is not None,
            "has_password": self.password_hash is not None,
            "identities": [i.serialize() for i in self.identities],
            "created_at": self.created_at.isoformat(),
        }


class IdentityLink(db.Model):
    """An account's link to a subject at an OpenID Connect provider (the national ID)."""

    __tablename__ = "identity_links"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(sa.String(300))
    subject: Mapped[str] = mapped_column(sa.String(255))
    linked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="identities")

    def serialize(self) -> dict:
        return {"issuer": self.issuer, "linked_at": self.linked_at.isoformat()}


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random id; only its SHA-256 is stored.

    Signing out, changing the password or "sign out everywhere" sets ``revoked_at``; a
    request bearing a revoked (or unknown) session is treated as signed out, so a copied
    cookie replayed later gets nothing.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    method: Mapped[str] = mapped_column(sa.String(16), default="password")  # password | oidc

    def serialize(self) -> dict:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "method": self.method,
        }


class AccountToken(db.Model):
    """A single-use, expiring token sent by e-mail (verify the address, reset the password).

    Only the SHA-256 of the token is stored; using it sets ``used_at``.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(32))  # verify_email | reset_password
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
