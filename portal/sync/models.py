"""Partners (ministry and provincial one-stop systems) and their signing secrets.

A partner is an agency code with a jurisdiction (its agency and everything below it in the
agency tree), one or two active signing secrets, an outbound base URL and an on/off state
(contract/provincial-sync.md). Secrets sign in both directions, so the portal must be able
to compute HMACs with them: they are kept encrypted (Fernet, a key derived from SECRET_KEY),
never in clear and never in logs. They stay readable across a change of SECRET_KEY while the
old key is in SECRET_KEY_FALLBACKS, and ``flask partners reencrypt`` moves them to the new one
(portal/sync/signing.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db

MAX_ACTIVE_SECRETS = 2


class PartnerDict(TypedDict):
    code: str
    name: str | None
    base_url: str | None
    active: bool
    secrets: list[dict]
    created_at: str


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(300))
    # Deliveries go to POST <base_url>/dossiers; a partner without one reads the pull feed.
    base_url: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    secrets: Mapped[list[PartnerSecret]] = relationship(
        back_populates="partner", order_by="PartnerSecret.id", cascade="all, delete-orphan"
    )

    @property
    def source(self) -> str:
        """How this partner's events are marked in a dossier's history."""
        return f"partner:{self.code}"

    def active_secrets(self) -> list[PartnerSecret]:
        return [s for s in self.secrets if s.revoked_at is None]

    def serialize(self) -> PartnerDict:
        return {
            "code": self.code,
            "name": self.name,
            "base_url": self.base_url,
            "active": self.active,
            "secrets": [s.serialize() for s in self.secrets],
            "created_at": self.created_at.isoformat(),
        }


class PartnerSecret(db.Model):
    """One signing secret of a partner, encrypted. Revoked secrets are kept for the record."""

    __tablename__ = "partner_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    partner: Mapped[Partner] = relationship(back_populates="secrets")

    def serialize(self) -> dict:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


class Sequence(db.Model):
    """Named counters whose values are handed out in commit order.

    Taking a value locks the row until the transaction ends, so a value is never committed
    after a larger one: a reader paging by it (the pull feed) never skips a row.
    """

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
