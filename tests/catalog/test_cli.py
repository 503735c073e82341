"""``flask catalog ...`` as an operator runs it, through Flask's CLI runner."""

from __future__ import annotations

import json

import sqlalchemy as sa

from portal.extensions import db
from services_catalog.generate import AGENCIES_FILE, PROVINCES_FILE
from services_catalog.models import CatalogImport, OnlineService, Procedure
from tests.factories import import_procedures, procedure_record, write_export


def flask(app, *args: str):
    result = app.test_cli_runner().invoke(args=["catalog", *args])
    db.session.expire_all()
    return result


def active_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Procedure.code).where(Procedure.active.is_(True))))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_prints_the_counts_and_lists_rejected_records_and_warnings(app, tmp_path):
    export = write_export(
        tmp_path / "procedures.json",
        [
            procedure_record(code="1.000001", name="Thủ tục đăng ký khai sinh", levels=(3,)),
            procedure_record(code="1.000002", name=None),
            procedure_record(code="1.000003", name="Thủ tục của tòa án", levels=(0, 1, 3), publisher=None),
            "not a record",
        ],
    )

    result = flask(
        app, "import", str(export), "--agencies", str(AGENCIES_FILE), "--provinces", str(PROVINCES_FILE)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "created 2, updated 0, unchanged 0, retired 0, rejected 2, warnings 1; "
        "agencies 46, provinces 34, online services "
    )
    assert "rejected 1.000002: TENTTHC (the procedure name) is missing" in result.stderr
    assert "rejected (no code): the record is not a JSON object but text" in result.stderr
    assert "warning 1.000003: MACOQUANCONGBO is missing" in result.stderr
    assert active_codes() == {"1.000001", "1.000003"}
    assert db.session.scalar(sa.select(CatalogImport.rejected)) == [
        {"code": "1.000002", "reason": "TENTTHC (the procedure name) is missing"},
        {"code": None, "reason": "the record is not a JSON object but text"},
    ]


def test_import_of_a_malformed_file_exits_non_zero_saying_nothing_was_imported(app, tmp_path):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục đã có"))
    broken = tmp_path / "procedures.json"
    broken.write_text('[{"MATTHC": "1.000002", "TENTTHC": "Thủ tục mới"}', encoding="utf-8")

    result = flask(app, "import", str(broken))

    assert result.exit_code == 1
    assert "truncated" in result.stderr
    assert "Nothing was imported." in result.stderr
    assert "Traceback" not in result.output
    assert active_codes() == {"1.000001"}
    assert count(CatalogImport) == 1


def test_import_of_a_missing_file_exits_non_zero_saying_nothing_was_imported(app, tmp_path):
    result = flask(app, "import", str(tmp_path / "nowhere.json"))

    assert result.exit_code == 1
    assert "cannot read" in result.stderr and "Nothing was imported." in result.stderr


def test_import_retires_what_the_file_lacks_unless_partial(app, tmp_path):
    both = write_export(
        tmp_path / "both.json",
        [procedure_record(code="1.000001", name="Một"), procedure_record(code="1.000002", name="Hai")],
    )
    one = write_export(tmp_path / "one.json", [procedure_record(code="1.000001", name="Một")])
    assert flask(app, "import", str(both)).exit_code == 0

    partial = flask(app, "import", str(one), "--partial")

    assert partial.exit_code == 0
    assert "retired 0" in partial.stdout
    assert active_codes() == {"1.000001", "1.000002"}

    full = flask(app, "import", str(one))

    assert "retired 1" in full.stdout
    assert active_codes() == {"1.000001"}
    assert count(Procedure) == 2


def test_generate_adds_50_synthetic_procedures(app):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục thật"))

    result = flask(app, "generate", "--procedures", "50")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created 50, updated 0, unchanged 0, retired 0, rejected 0")
    codes = active_codes()
    assert len(codes) == 51 and "1.000001" in codes, "generating retires nothing"
    assert {c for c in codes if c.startswith("9.")} == {f"9.{n:06d}" for n in range(50)}
    assert count(OnlineService) > 0

    again = flask(app, "generate", "--procedures", "50")

    assert again.stdout.startswith("created 0, updated 0, unchanged 50")


def test_generate_with_output_writes_an_export_and_imports_nothing(app, tmp_path):
    target = tmp_path / "synthetic.json"

    result = flask(app, "generate", "--procedures", "5", "--seed", "7", "--output", str(target))

    assert result.exit_code == 0, result.output
    records = json.loads(target.read_text(encoding="utf-8"))
    assert [r["MATTHC"] for r in records] == [f"9.{n:06d}" for n in range(5)]
    assert count(Procedure) == 0


def test_import_bundled_imports_the_518_real_procedures(app):
    result = flask(app, "import-bundled")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created 518, updated 0, unchanged 0, retired 0, rejected 0")
    assert count(Procedure) == 518
