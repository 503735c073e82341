"""Import the national database's export into the catalog.

The export is real and imperfect: the importer takes records as they are, reports each one
it cannot use by code with its reason, warns about what it had to leave out of the ones it
keeps, and never crashes on them. The whole import is one transaction: a failure (a
malformed file, a database error) leaves the catalog as it was.

Running an import twice changes nothing; a changed record updates its procedure; in a full
import, procedures missing from the file are retired (``active = False``), never deleted.

The work is split by stage: :mod:`~services_catalog.reading` reads files and values,
:mod:`~services_catalog.parsing` turns a record into the catalog's shape,
:mod:`~services_catalog.agency_import` brings in agencies and provinces and
:mod:`~services_catalog.writer` stores procedures; this module runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from portal.db import utcnow
from portal.extensions import db
from services_catalog.agency_import import (
    MINISTRY_MERGER,
    PROVINCE_MERGER,
    import_agencies,
    import_provinces,
)
from services_catalog.models import CatalogImport
from services_catalog.parsing import IMPORTER_VERSION, ParsedProcedure, parse_procedure
from services_catalog.reading import procedure_records, read_json_file
from services_catalog.report import ImportFileError, ImportReport, RecordRejected
from services_catalog.writer import ProcedureWriter

__all__ = [
    "IMPORTER_VERSION",
    "MINISTRY_MERGER",
    "PROVINCE_MERGER",
    "ImportFileError",
    "ImportReport",
    "ParsedProcedure",
    "ProcedureWriter",
    "RecordRejected",
    "import_agencies",
    "import_catalog",
    "import_provinces",
    "import_records",
    "parse_procedure",
    "procedure_records",
    "read_json_file",
]


def import_records(
    records: Iterable[Any],
    *,
    full: bool = True,
    source: str = "records",
    agencies: Any = None,
    provinces: Any = None,
    progress: Callable[[int], None] | None = None,
    started_by: str | None = None,
) -> ImportReport:
    """Import parsed JSON (procedure records, optional agencies and provinces documents).

    Does not commit: :func:`import_catalog` and the CLI own the transaction; on an
    exception the caller rolls back. A record that is rejected but carries a code keeps its
    procedure from being retired: it still exists at the source.

    :raises ImportFileError: agencies or provinces without their list; a full import in
        which no record could be used, which would retire the whole catalog.
    """
    report = ImportReport()
    if agencies is not None:
        import_agencies(agencies, report, source)
    if provinces is not None:
        import_provinces(provinces, report, source)
    db.session.flush()
    writer = ProcedureWriter(report)
    seen: set[str] = set()
    usable = 0
    for record in records:
        code = record.get("MATTHC") if isinstance(record, dict) else None
        try:
            parsed = parse_procedure(record)
            if parsed.code in seen:
                raise RecordRejected("the same MATTHC appears earlier in the file")
            seen.add(parsed.code)
            writer.write(parsed)
            usable += 1
        except RecordRejected as exc:
            report.reject(code, str(exc))
            if isinstance(code, (str, int)) and not isinstance(code, bool) and str(code).strip():
                seen.add(str(code).strip())
        if progress:
            progress(1)
    if usable and not writer.agencies_known:
        report.warn(
            None,
            "no agencies are known (import them with --agencies): procedures are linked to "
            "no agency and get no online service",
        )
    if full and not usable and any(k.active for k in writer.known.values()):
        raise ImportFileError(
            f"{source}: no usable procedure record ({len(report.rejected)} rejected); a full import "
            "would retire the whole catalog"
        )
    writer.finish(seen if full else None)
    log_entry = CatalogImport(
        source=source[:500],
        full=full,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        retired=report.retired,
        rejected=report.rejected,
        warnings=report.warnings,
        started_by=(started_by or None) and started_by[:254],
        finished_at=utcnow(),
    )
    db.session.add(log_entry)
    db.session.flush()
    report.import_id = log_entry.id
    return report


def import_catalog(
    procedures_path: str | Path,
    *,
    agencies_path: str | Path | None = None,
    provinces_path: str | Path | None = None,
    full: bool = True,
    progress_factory: Callable[[int], Any] | None = None,
    started_by: str | None = None,
) -> ImportReport:
    """Import the files in one transaction and invalidate cached catalog reads.

    ``started_by`` is recorded with the run (who started it).

    Every file is read and parsed before the database is touched.

    :raises ImportFileError: a file cannot be read; nothing was changed.
    """
    from portal.cache import invalidate

    data = read_json_file(procedures_path)
    records = procedure_records(data, str(procedures_path))
    agencies = read_json_file(agencies_path) if agencies_path else None
    provinces = read_json_file(provinces_path) if provinces_path else None
    try:
        if progress_factory:
            with progress_factory(len(records)) as bar:
                report = import_records(
                    records,
                    full=full,
                    source=str(procedures_path),
                    agencies=agencies,
                    provinces=provinces,
                    progress=bar.update,
                    started_by=started_by,
                )
        else:
            report = import_records(
                records,
                full=full,
                source=str(procedures_path),
                agencies=agencies,
                provinces=provinces,
                started_by=started_by,
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    invalidate("catalog")
    return report
