"""Readiness: the database answers and is at the migration head; Redis answers if used."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import text

from portal.extensions import db

log = logging.getLogger(__name__)


def migration_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", current_app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(cfg).get_current_head()


def readiness() -> dict:
    """A report of each dependency: ``{"status": "ok"|"fail", "checks": {...}}``.

    Failures are described by a short token, never by the exception text (which can
    carry connection strings).
    """
    checks: dict[str, str] = {}
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        head = migration_head()
        checks["database"] = "ok" if current == head else "not at migration head"
    except Exception:  # noqa: BLE001
        log.warning("readiness: database check failed", exc_info=True)
        checks["database"] = "unreachable"
    finally:
        db.session.rollback()
    if current_app.config.get("REDIS_URL"):
        try:
            current_app.extensions["redis"].ping()
            checks["redis"] = "ok"
        except Exception:  # noqa: BLE001
            log.warning("readiness: redis check failed", exc_info=True)
            checks["redis"] = "unreachable"
    status = "ok" if all(v == "ok" for v in checks.values()) else "fail"
    return {"status": status, "checks": checks}
