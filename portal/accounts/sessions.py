"""Signed-in sessions: server-side session data plus a revocable record per browser.

The cookie carries only the server-side session id (Flask-Session: Redis in production,
files under the embedded default). Signing in replaces that id (no fixation) and stores a
random token whose SHA-256 is a ``UserSession`` row; every request checks the row, so a
revoked session (sign-out, password change, "sign out everywhere") is dead everywhere at
once, and a copied cookie replayed after sign-out gets nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, request, session
from flask_login import login_user, logout_user

from portal.accounts.models import User, UserSession
from portal.db import utcnow
from portal.extensions import db, login_manager

SESSION_TOKEN_KEY = "_ut"
TOUCH_EVERY = timedelta(minutes=5)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _regenerate_server_session() -> None:
    """Drop the session data and give the browser a new session id (no fixation).

    Flask-Session's own ``regenerate`` skips empty sessions, so the old id could live on;
    here the stored data is deleted and a new id is minted whatever the session held.
    """
    interface = current_app.session_interface
    old_sid = getattr(session, "sid", None)
    if old_sid and hasattr(interface, "_delete_session"):
        interface._delete_session(interface._get_store_id(old_sid))
    session.clear()
    if hasattr(interface, "_generate_sid"):
        session.sid = interface._generate_sid(interface.sid_length)
    session.modified = True


def start_session(user: User, method: str) -> UserSession:
    """Sign ``user`` in on this browser. Part of the caller's transaction (no commit)."""
    _regenerate_server_session()
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    record = UserSession(
        user_id=user.id,
        token_hash=token_hash(raw),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"]),
        ip_address=(request.remote_addr or "")[:64],
        user_agent=(request.user_agent.string or "")[:300],
        method=method,
    )
    db.session.add(record)
    session[SESSION_TOKEN_KEY] = raw
    session.permanent = True
    login_user(user)
    return record


def current_session_record() -> UserSession | None:
    raw = session.get(SESSION_TOKEN_KEY)
    if not raw:
        return None
    return db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == token_hash(raw)))


def end_session() -> None:
    """Sign this browser out: revoke its record and drop the server-side session data."""
    record = current_session_record()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    logout_user()
    _regenerate_server_session()


def revoke_sessions(user_id: int, *, keep: UserSession | None = None) -> int:
    """Revoke every live session of the user except ``keep``; returns how many."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount or 0


def live_sessions(user_id: int) -> list[UserSession]:
    now = utcnow()
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns: they are UTC.

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_user_from_session(user_id: str) -> User | None:
    """Flask-Login's user loader: the user only while this browser's session record lives."""
    record = current_session_record()
    now = utcnow()
    if (
        record is None
        or str(record.user_id) != str(user_id)
        or record.revoked_at is not None
        or _aware(record.expires_at) <= now
    ):
        return None
    user = db.session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    if now - _aware(record.last_seen_at) > TOUCH_EVERY:
        # A small write of its own: the request may be a read that never commits.
        db.session.execute(sa.update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now))
        db.session.commit()
    return user


def init_sessions(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side record does this job
    login_manager.login_view = "accounts.sign_in"
    login_manager.user_loader(load_user_from_session)
