"""Transaction helpers shared by every domain's service functions."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from portal.extensions import db


def utcnow() -> datetime:
    """Timezone-aware now in UTC; pass the callable as a column default, never its value."""
    return datetime.now(UTC)


def transactional(func):
    """Run a service function as one transaction.

    Commit when it returns, roll back and re-raise when it raises; jobs it queued with
    enqueue() are handed over only after the commit succeeded.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from portal.jobs import dispatch_pending

        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        dispatch_pending()
        return result

    return wrapper
