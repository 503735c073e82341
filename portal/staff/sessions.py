"""Staff sessions, on the citizens' server-side session machinery with their own marker.

The cookie carries only the server-side session id (portal.accounts.sessions); the session
holds a random token under ``_st`` (citizens use ``_ut``), whose SHA-256 is a
``StaffSession`` row. Signing in as either kind replaces the session id and clears the
session, so one browser is never both at once, and neither marker grants the other access.
Staff sessions end after STAFF_SESSION_LIFETIME_MINUTES, or STAFF_SESSION_IDLE_MINUTES
without a request, whichever comes first.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request, session

from portal.accounts.sessions import _aware, _regenerate_server_session, token_hash
from portal.db import utcnow
from portal.extensions import db
from portal.staff.models import StaffSession, StaffUser

STAFF_TOKEN_KEY = "_st"
PENDING_KEY = "_st_pending"
PENDING_TTL_SECONDS = 300
TOUCH_EVERY = timedelta(minutes=1)


def begin_pending(staff: StaffUser) -> None:
    """The password was right: remember who is halfway signed in, for five minutes."""
    _regenerate_server_session()
    session[PENDING_KEY] = {"id": staff.id, "at": int(time.time())}


def pending_staff() -> StaffUser | None:
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or time.time() - int(data.get("at", 0)) > PENDING_TTL_SECONDS:
        return None
    staff = db.session.get(StaffUser, int(data.get("id", 0)))
    return staff if staff is not None and staff.is_active else None


def start_session(staff: StaffUser) -> StaffSession:
    """Sign ``staff`` in on this browser. Part of the caller's transaction (no commit)."""
    _regenerate_server_session()
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    record = StaffSession(
        staff_id=staff.id,
        token_hash=token_hash(raw),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(minutes=current_app.config["STAFF_SESSION_LIFETIME_MINUTES"]),
        ip_address=(request.remote_addr or "")[:64],
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(record)
    session[STAFF_TOKEN_KEY] = raw
    session.permanent = True
    staff.last_sign_in_at = now
    return record


def current_record() -> StaffSession | None:
    raw = session.get(STAFF_TOKEN_KEY)
    if not raw or not isinstance(raw, str):
        return None
    return db.session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == token_hash(raw)))


def load_staff() -> StaffUser | None:
    """The signed-in staff member of this request, or None. Cached on ``g``."""
    if "staff" in g:
        return g.staff
    g.staff = None
    record = current_record()
    now = utcnow()
    if record is None or record.revoked_at is not None or _aware(record.expires_at) <= now:
        return None
    idle = timedelta(minutes=current_app.config["STAFF_SESSION_IDLE_MINUTES"])
    if now - _aware(record.last_seen_at) > idle:
        return None
    staff = db.session.get(StaffUser, record.staff_id)
    if staff is None or not staff.is_active or staff.totp_confirmed_at is None:
        return None
    if now - _aware(record.last_seen_at) > TOUCH_EVERY:
        db.session.execute(
            sa.update(StaffSession).where(StaffSession.id == record.id).values(last_seen_at=now)
        )
        db.session.commit()
    g.staff = staff
    return staff


def end_session() -> None:
    record = current_record()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    g.staff = None
    _regenerate_server_session()


def revoke_all(staff_id: int, *, keep: StaffSession | None = None) -> int:
    """End every open session of ``staff_id`` but ``keep`` (this browser's, when given).
    Part of the caller's transaction. Returns how many were ended."""
    query = sa.update(StaffSession).where(
        StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(StaffSession.id != keep.id)
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount or 0
