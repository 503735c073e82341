"""``flask catalog ...``: import the national export, generate a synthetic catalog."""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup

catalog_cli = AppGroup("catalog", help="Import and inspect the catalog of procedures.")


@contextmanager
def _progress(total: int):
    # A bar on a terminal; nothing on a pipe or in CI, where it would only be noise.
    if sys.stderr.isatty():
        with click.progressbar(length=total, label="Importing procedures", file=sys.stderr) as bar:
            yield bar
    else:

        class Silent:
            def update(self, n: int) -> None:
                pass

        yield Silent()


def _print_report(report) -> None:
    """The counts on stdout; each rejected record and each warning on stderr, by code."""
    click.echo(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"retired {report.retired}, rejected {len(report.rejected)}, warnings {len(report.warnings)}; "
        f"agencies {report.agencies}, provinces {report.provinces}, "
        f"online services {report.online_services}"
    )
    for item in report.rejected:
        click.echo(f"rejected {item['code'] or '(no code)'}: {item['reason']}", err=True)
    for item in report.warnings:
        click.echo(f"warning {item['code'] or '(file)'}: {item['message']}", err=True)


def _run_import(procedures, **options):
    """import_catalog, turning a file it cannot read into a one-line error (exit code 1).

    A database error still raises: it is not the file's fault, and the traceback helps.
    """
    from services_catalog.importer import ImportFileError, import_catalog

    try:
        report = import_catalog(procedures, progress_factory=_progress, started_by="flask catalog", **options)
    except ImportFileError as exc:
        raise click.ClickException(f"{exc}. Nothing was imported.") from exc
    _print_report(report)


@catalog_cli.command("import")
@click.argument("procedures", type=click.Path(dir_okay=False))
@click.option("--agencies", type=click.Path(dir_okay=False), help="agencies.json (identity codes, tree).")
@click.option("--provinces", type=click.Path(dir_okay=False), help="provinces-2025.json.")
@click.option("--partial", is_flag=True, help="Do not retire procedures missing from the file.")
def import_command(procedures: str, agencies: str | None, provinces: str | None, partial: bool) -> None:
    """Import PROCEDURES, a JSON export in the national database's shape.

    One transaction: on any error nothing is changed. Rejected records are listed by code
    with their reason, and warnings about what imported records lost; the exit code is 0
    when the import completed, 1 when the file could not be read.
    """
    _run_import(procedures, agencies_path=agencies, provinces_path=provinces, full=not partial)


@catalog_cli.command("import-bundled")
def import_bundled_command() -> None:
    """Import the bundled reference data (518 real procedures, agencies, 34 provinces)."""
    from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE

    _run_import(PROCEDURES_FILE, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE, full=False)


@catalog_cli.command("generate")
@click.option("--procedures", "count", type=click.IntRange(1, 100_000), default=7000, show_default=True)
@click.option("--seed", type=int, default=20251101, show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write the export here instead of importing it."
)
def generate_command(count: int, seed: int, output: str | None) -> None:
    """Make a national-size synthetic catalog (codes 9.xxxxxx) and import it beside the real one."""
    from services_catalog.generate import AGENCIES_FILE, PROVINCES_FILE, synthetic_records

    records = synthetic_records(count, seed=seed)
    if output:
        Path(output).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        click.echo(f"wrote {count} records to {output}")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(records, handle, ensure_ascii=False)
    try:
        _run_import(handle.name, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE, full=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
