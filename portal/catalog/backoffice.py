"""The back office's catalog imports: the past runs, and starting an import of the bundled
catalog (run by a job, never inside the request). Administrators only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import gettext as _

from portal.audit.service import record
from portal.db import transactional
from portal.dossiers.statuses import vn_iso
from portal.errors import NotFound
from portal.extensions import db
from portal.staff.roles import require
from services_catalog.models import CatalogImport

PAGE_SIZE = 30


def _summary(run: CatalogImport) -> dict:
    return {
        **run.serialize(),
        "started_at": vn_iso(run.started_at),
        "finished_at": vn_iso(run.finished_at),
        "rejected_count": len(run.rejected or []),
        "warning_count": len(run.warnings or []),
    }


def list_imports(staff, page: int = 1) -> tuple[list[dict], bool]:
    """Past import runs, newest first, one page; and whether there is a next page.

    :raises Forbidden: not an administrator.
    """
    require(staff, "catalog.imports")
    page = max(1, min(page, 10_000))
    rows = db.session.scalars(
        sa.select(CatalogImport)
        .order_by(CatalogImport.started_at.desc(), CatalogImport.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return [_summary(r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def import_run(staff, import_id: int) -> dict:
    """One run with its rejected records and warnings.

    :raises Forbidden: not an administrator. :raises NotFound: no such run.
    """
    require(staff, "catalog.imports")
    run = db.session.get(CatalogImport, import_id)
    if run is None:
        raise NotFound(_("This import does not exist."))
    return _summary(run)


@transactional
def start_bundled_import(staff) -> None:
    """Queue an import of the bundled catalog (518 procedures, agencies, provinces); the
    job records its run when it ends.

    :raises Forbidden: not an administrator.
    """
    require(staff, "catalog.imports")
    from portal.jobs import enqueue

    enqueue("catalog.import_bundled", staff.email)
    record(
        staff,
        "catalog.import_started",
        None,
        {"source": "bundled"},
        request if has_request_context() else None,
    )
