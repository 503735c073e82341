"""Background jobs of the catalog. They take plain values and are safe to run twice."""

from __future__ import annotations

from portal.jobs import QUEUE_DEFAULT, job


@job("catalog.import_bundled", queue=QUEUE_DEFAULT, retries=0)
def import_bundled(started_by: str) -> None:
    """Import the bundled reference data (as ``flask catalog import-bundled``), started from
    the back office. A second run changes nothing and records a run of its own."""
    from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE
    from services_catalog.importer import import_catalog

    import_catalog(
        PROCEDURES_FILE,
        agencies_path=AGENCIES_FILE,
        provinces_path=PROVINCES_FILE,
        full=False,
        started_by=started_by,
    )
