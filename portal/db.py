"""Transaction helpers shared by every domain's service functions."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

import sqlalchemy as sa

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


_NAMED_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class Raw:
    """A hand-written statement of a hot path, in the session's transaction.

    On PostgreSQL it goes straight to psycopg on the session's connection (psycopg prepares
    it after a few runs); SQLAlchemy's per-statement machinery cost more than the round
    trip. Elsewhere (SQLite) it runs through SQLAlchemy with the bind types given, so values
    are stored as the ORM stores them. Parameters are ``:name``; ``types`` names the
    parameters that need a type (aware datetimes, JSON). Rows come back as tuples.
    """

    def __init__(self, sql: str, **types: sa.types.TypeEngine) -> None:
        self.statement = sa.text(sql).bindparams(*(sa.bindparam(name, type_=t) for name, t in types.items()))
        self.psycopg = _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
        self.json = tuple(name for name, t in types.items() if isinstance(t, sa.JSON))

    def rows(self, params: dict) -> list[tuple]:
        connection = db.session.connection()
        if connection.dialect.driver == "psycopg":
            cursor = connection.connection.driver_connection.execute(self.psycopg, self._for_psycopg(params))
            return cursor.fetchall() if cursor.description else []
        result = connection.execute(self.statement, params)
        return [tuple(row) for row in result] if result.returns_rows else []

    def many(self, rows: list[dict]) -> None:
        """Run the statement once per parameter set (psycopg pipelines them: one round trip)."""
        if not rows:
            return
        if len(rows) == 1:
            self.rows(rows[0])  # a pipeline costs more than it saves for one
            return
        connection = db.session.connection()
        if connection.dialect.driver == "psycopg":
            with connection.connection.driver_connection.cursor() as cursor:
                cursor.executemany(self.psycopg, [self._for_psycopg(row) for row in rows])
            return
        connection.execute(self.statement, rows)

    def _for_psycopg(self, params: dict) -> dict:
        """JSON parameters wrapped for psycopg (SQLAlchemy's JSON type does it elsewhere)."""
        if not self.json:
            return params
        from psycopg.types.json import Json

        return {**params, **{name: Json(params[name]) for name in self.json}}

    def first(self, params: dict) -> tuple | None:
        found = self.rows(params)
        return found[0] if found else None
