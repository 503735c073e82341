"""Reads for the back office's own pages (never commit)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.staff.models import StaffUser
from portal.staff.roles import require


def staff_list(actor) -> list[dict]:
    """:raises Forbidden: not an administrator."""
    require(actor, "staff.manage")
    rows = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.full_name, StaffUser.id)).all()
    return [dict(s.serialize(), agencies=[a.key for a in s.agencies]) for s in rows]


def staff_member(actor, staff_id: int) -> dict:
    require(actor, "staff.manage")
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        from portal.errors import NotFound

        raise NotFound("no such staff account")
    return dict(staff.serialize(), agencies=[a.key for a in staff.agencies])


def assignable_staff() -> list[dict]:
    """Active staff who work tickets, for the assign menu."""
    rows = db.session.scalars(
        sa.select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.full_name)
    ).all()
    return [{"id": s.id, "full_name": s.full_name, "role": s.role} for s in rows]
