"""Reads for the account pages. Nothing here commits."""

from __future__ import annotations

from portal.accounts import sessions
from portal.accounts.models import User


def account_overview(user: User) -> dict:
    current = sessions.current_session_record()
    return {
        "user": user.serialize(),
        "sessions": [
            {**s.serialize(), "current": current is not None and s.id == current.id}
            for s in sessions.live_sessions(user.id)
        ],
    }
