"""The importer against the real export and against the ways an export goes wrong.

Every record goes through the real importer (tests/factories.py builds them in the national
database's uppercase shape); nothing is inserted by hand.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from portal.extensions import db
from services_catalog import writer
from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE
from services_catalog.importer import (
    MINISTRY_MERGER,
    PROVINCE_MERGER,
    ImportFileError,
    ProcedureWriter,
    import_catalog,
)
from services_catalog.models import (
    Agency,
    CatalogImport,
    Field,
    OnlineService,
    Procedure,
    ProcedureLevel,
    Province,
    procedure_fields,
)
from tests.factories import (
    COUNCIL_FEE,
    import_procedures,
    procedure_record,
    write_export,
)

# The people's committees of the 2025 provinces whose identity codes the bundled agencies
# know and that are still open (H30 Hậu Giang and H54 Thái Bình closed with the merger).
OPEN_PROVINCIAL_COMMITTEES = 10


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def catalog_counts() -> dict:
    """Rows per catalog table, and how many procedures and services are active."""
    tables = {
        name: count(model)
        for name, model in (
            ("agencies", Agency),
            ("provinces", Province),
            ("fields", Field),
            ("procedures", Procedure),
            ("levels", ProcedureLevel),
            ("procedure_fields", procedure_fields),
            ("online_services", OnlineService),
            ("imports", CatalogImport),
        )
    }
    tables["active_procedures"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(Procedure).where(Procedure.active.is_(True))
    )
    tables["active_services"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(OnlineService).where(OnlineService.active.is_(True))
    )
    return tables


def procedure(code: str) -> Procedure:
    db.session.expire_all()
    return db.session.scalar(sa.select(Procedure).where(Procedure.code == code))


def services_of(code: str) -> list[OnlineService]:
    return list(procedure(code).online_services)


def import_bundled(**options):
    return import_catalog(
        PROCEDURES_FILE, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE, **options
    )


# -------------------------------------------------------------------------- the real export


def test_importing_the_bundled_data_creates_518_procedures_with_none_rejected(app):
    report = import_bundled()

    assert (report.created, report.updated, report.unchanged, report.retired) == (518, 0, 0, 0)
    assert report.rejected == []
    assert count(Procedure) == 518
    assert count(Province) == 34
    logged = db.session.get(CatalogImport, report.import_id)
    assert (logged.created, logged.rejected, logged.full) == (518, [], True)


def test_the_bundled_data_is_imported_with_warnings_for_what_it_lacks(app):
    report = import_bundled()

    warned = {(w["code"], w["message"].split(":")[0]) for w in report.warnings}
    # Two court procedures name no publishing agency; three list no channel at all.
    assert ("3.000163", "MACOQUANCONGBO is missing") in warned
    assert ("3.000165", "MACOQUANCONGBO is missing") in warned
    assert {code for code, message in warned if message.startswith("no usable CACHTHUCTHUCHIEN")} == {
        "1.007689",
        "1.007690",
        "1.008312",
    }
    assert procedure("3.000163").publisher is None
    assert procedure("3.000163").active


def test_importing_the_same_file_twice_changes_nothing(app):
    import_bundled()
    before = catalog_counts()
    stamps = dict(db.session.execute(sa.select(Procedure.code, Procedure.updated_at)).all())
    service_stamps = dict(db.session.execute(sa.select(OnlineService.id, OnlineService.updated_at)).all())
    agency_stamps = dict(db.session.execute(sa.select(Agency.id, Agency.updated_at)).all())

    report = import_bundled()

    assert (report.created, report.updated, report.unchanged, report.retired) == (0, 0, 518, 0)
    after = catalog_counts()
    assert after == {**before, "imports": before["imports"] + 1}
    assert dict(db.session.execute(sa.select(Procedure.code, Procedure.updated_at)).all()) == stamps
    assert (
        dict(db.session.execute(sa.select(OnlineService.id, OnlineService.updated_at)).all())
        == service_stamps
    )
    assert dict(db.session.execute(sa.select(Agency.id, Agency.updated_at)).all()) == agency_stamps


# ------------------------------------------------------------------------ changes, retiring


def test_a_changed_record_updates_its_procedure_and_its_online_services(app):
    original = procedure_record(
        code="1.000001",
        name="Thủ tục đăng ký khai sinh",
        levels=(0,),
        fee=COUNCIL_FEE,
        documents=("Tờ khai đăng ký khai sinh",),
    )
    import_procedures(original)
    first = procedure("1.000001")
    created_at, first_updated = first.created_at, first.updated_at
    kept_key = first.documents[0]["key"]
    assert [(s.level, s.full_online) for s in first.online_services] == [(3, False)]

    changed = procedure_record(
        code="1.000001",
        name="Thủ tục đăng ký khai sinh (sửa đổi)",
        levels=(0,),
        fee=8000,
        documents=("Tờ khai đăng ký khai sinh", "Giấy chứng sinh"),
    )
    report = import_procedures(changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    updated = procedure("1.000001")
    assert updated.name == "Thủ tục đăng ký khai sinh (sửa đổi)"
    assert updated.name_norm == "thu tuc dang ky khai sinh sua doi"
    assert [f["amount"] for c in updated.channels for t in c["timings"] for f in t["fees"]] == [8000, 8000]
    assert [d["name"] for d in updated.documents] == ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
    assert updated.documents[0]["key"] == kept_key
    assert updated.created_at == created_at and updated.updated_at > first_updated
    assert [(s.level, s.full_online, s.pays_online, s.active) for s in updated.online_services] == [
        (4, True, True, True)
    ]
    assert updated.online_services[0].form_schema["title"] == "Thủ tục đăng ký khai sinh (sửa đổi)"
    assert count(Procedure) == 1


def test_a_changed_coordinating_agency_updates_the_procedure_and_what_search_finds(app, client):
    def record(coordinating: str) -> dict:
        return procedure_record(
            code="1.000001",
            name="Thủ tục mở sân bay chuyên dùng",
            COQUANCOTHAMQUYEN=[{"TENDONVI": "Bộ Tổng Tham mưu"}],
            COQUANPHOIHOP=[{"TENDONVI": coordinating}],
        )

    import_procedures(record("Bộ Xây dựng"))
    first_updated = procedure("1.000001").updated_at

    report = import_procedures(record("Ủy ban nhân dân cấp tỉnh"))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    updated = procedure("1.000001")
    assert updated.coordinating_bodies == ["Ủy ban nhân dân cấp tỉnh"]
    assert updated.competent_bodies == ["Bộ Tổng Tham mưu"]
    assert updated.updated_at > first_updated
    found = client.get("/api/v1/procedures", query_string={"q": "uy ban nhan dan cap tinh"}).get_json()
    assert [p["code"] for p in found["items"]] == ["1.000001"]
    gone = client.get("/api/v1/procedures", query_string={"q": "bo xay dung"}).get_json()
    assert gone["items"] == []
    assert import_procedures(record("Ủy ban nhân dân cấp tỉnh")).unchanged == 1


def test_procedures_imported_before_the_two_lists_were_kept_get_them_on_the_next_import(app, monkeypatch):
    """A catalog imported by the previous importer (its rows given [] by migration 0004):
    the bumped importer version makes the same records rewrite their procedures."""
    from services_catalog import parsing

    record = procedure_record(
        code="1.000001",
        name="Thủ tục biên phòng điện tử",
        COQUANCOTHAMQUYEN=[{"TENDONVI": "Biên phòng cửa khẩu cảng"}],
        COQUANPHOIHOP=[{"TENDONVI": "Cảng vụ hàng hải"}],
    )
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "IMPORTER_VERSION", "2")
        import_procedures(record)
    db.session.execute(sa.update(Procedure).values(competent_bodies=[], coordinating_bodies=[]))
    db.session.commit()

    report = import_procedures(record)

    assert (report.updated, report.unchanged) == (1, 0)
    assert procedure("1.000001").competent_bodies == ["Biên phòng cửa khẩu cảng"]
    assert procedure("1.000001").coordinating_bodies == ["Cảng vụ hàng hải"]


def test_a_record_that_loses_its_online_channel_deactivates_its_online_services(app):
    import_procedures(procedure_record(code="1.000001", name="Cấp bản sao trích lục", levels=(1,)))
    assert len([s for s in services_of("1.000001") if s.active]) == OPEN_PROVINCIAL_COMMITTEES

    import_procedures(
        procedure_record(code="1.000001", name="Cấp bản sao trích lục", levels=(1,), online=False)
    )

    services = services_of("1.000001")
    assert len(services) == OPEN_PROVINCIAL_COMMITTEES, "services are kept, not deleted"
    assert not any(s.active for s in services)


def test_a_full_import_retires_missing_procedures_and_a_later_import_reactivates_them(app):
    records = [procedure_record(code=f"1.00000{n}", name=f"Thủ tục thử {n}", levels=(0,)) for n in (1, 2, 3)]
    import_procedures(*records, full=True)

    report = import_procedures(*records[:2], full=True)

    assert report.retired == 1
    retired = procedure("1.000003")
    assert retired is not None, "retired procedures are never deleted"
    assert retired.active is False and retired.retired_at is not None
    assert retired.online_services and not any(s.active for s in retired.online_services)
    assert procedure("1.000001").active and procedure("1.000001").retired_at is None

    report = import_procedures(*records, full=True)

    assert (report.created, report.updated, report.unchanged, report.retired) == (0, 1, 2, 0)
    back = procedure("1.000003")
    assert back.active is True and back.retired_at is None
    assert all(s.active for s in back.online_services)


def test_a_partial_import_retires_nothing(app):
    records = [procedure_record(code=f"1.00000{n}", name=f"Thủ tục thử {n}") for n in (1, 2)]
    import_procedures(*records, full=True)

    report = import_procedures(records[0], full=False)

    assert report.retired == 0
    assert procedure("1.000002").active


def test_a_rejected_record_keeps_its_procedure_from_being_retired(app):
    import_procedures(
        procedure_record(code="1.000001", name="Thủ tục thử"),
        procedure_record(code="1.000002", name="Thủ tục khác"),
        full=True,
    )

    report = import_procedures(
        procedure_record(code="1.000001", name="Thủ tục thử"),
        procedure_record(code="1.000002", name="Thủ tục khác", TENTTHC=None),
        full=True,
    )

    assert [r["code"] for r in report.rejected] == ["1.000002"]
    assert report.retired == 0
    assert procedure("1.000002").active, "the record still exists at the source; only we could not read it"


def test_agencies_imported_after_the_procedures_give_them_their_publisher_and_online_services(app):
    record = procedure_record(code="1.000001", name="Thủ tục thử", levels=(0, 1))
    report = import_procedures(record, agencies=False)
    assert any("no agencies are known" in w["message"] for w in report.warnings)
    assert services_of("1.000001") == []

    report = import_procedures(record, agencies=True)

    assert report.updated == 1
    assert procedure("1.000001").publisher.code == "000.00.00.G15"
    assert len(services_of("1.000001")) == 1 + OPEN_PROVINCIAL_COMMITTEES


# ----------------------------------------------------------------------- rejected records


def test_rejected_records_are_reported_by_code_with_a_reason_and_the_others_are_imported(app):
    long_code = "1." + "9" * 70
    records = [
        procedure_record(code="1.000001", name="Thủ tục tốt thứ nhất"),
        {"TENTTHC": "Thủ tục không có mã"},
        procedure_record(code="1.000002", name="   "),
        "a line of text, not a record",
        42,
        procedure_record(code="1.000003", name="Cấp thực hiện là chữ", CAPTHUCHIEN="Cấp Tỉnh"),
        procedure_record(code="1.000004", name=["tên", "là", "danh sách"]),
        procedure_record(
            code="1.000005", name="Thời gian là một số", CACHTHUCTHUCHIEN=[{"KENH": "1", "THOIGIAN": 5}]
        ),
        procedure_record(code="1.000006", name="Cấp thực hiện không có", CAPTHUCHIEN=[{"CAPTHUCHIEN": "9"}]),
        procedure_record(code="1.000001", name="Thủ tục tốt thứ nhất, lặp lại"),
        procedure_record(code=long_code, name="Mã quá dài"),
        procedure_record(code="1.000007", name="Thủ tục tốt thứ hai"),
    ]

    report = import_procedures(*records)

    reasons = [(r["code"], r["reason"]) for r in report.rejected]
    assert reasons == [
        (None, "MATTHC (the procedure code) is missing"),
        ("1.000002", "TENTTHC (the procedure name) is missing"),
        (None, "the record is not a JSON object but text"),
        (None, "the record is not a JSON object but a number"),
        ("1.000003", "CAPTHUCHIEN must be a list, found text"),
        ("1.000004", "TENTTHC must be text, found a list"),
        ("1.000005", "THOIGIAN must be a list, found a number"),
        ("1.000006", "CAPTHUCHIEN: unknown level of government '9'"),
        ("1.000001", "the same MATTHC appears earlier in the file"),
        (long_code[:64] + "…", "MATTHC is longer than 64 characters"),
    ]
    assert report.created == 2
    assert procedure("1.000001").name == "Thủ tục tốt thứ nhất"
    assert procedure("1.000007") is not None
    assert db.session.get(CatalogImport, report.import_id).rejected == report.rejected


def test_hostile_values_in_records_are_rejected_or_cleaned_and_never_crash_the_import(app):
    records = [
        procedure_record(code="1.000001", name="Tên có \x00 ký tự NUL và \ud800 nửa cặp"),
        procedure_record(code="1.000002", name="Thời hạn khổng lồ", days=10**30),
        procedure_record(code="1.000003", name="Lệ phí khổng lồ", fee=10**40),
        procedure_record(code="1.000004", name="Không phải số", days="năm ngày", fee="miễn"),
        procedure_record(code="1.000005", name="Số NaN", days=float("nan"), fee=float("inf")),
        procedure_record(code="1.000006", name="Lồng nhau", THANHPHANHOSO=[{"GIAYTO": [[[[{"x": 1}]]]]}]),
        procedure_record(code="1.000007", name="Giấy tờ là chữ", THANHPHANHOSO=[{"GIAYTO": "tờ khai"}]),
        procedure_record(code="1.000008", name="Mã cơ quan lạ", MACOQUANCONGBO={"code": "G15"}),
        procedure_record(code="1.000009", name="URL quá dài", URL="https://example.org/" + "x" * 600),
        procedure_record(code=1000010, name="Mã là một số"),
        procedure_record(code="1.00\x0000\ud80011", name=None),
    ]

    report = import_procedures(*records)

    assert {r["code"] for r in report.rejected} == {"1.000007", "1.000008", "1.0000?11"}
    assert report.created == 8
    assert "\x00" not in procedure("1.000001").name
    assert procedure("1.000002").processing_days is None
    assert procedure("1.000005").processing_days is None
    assert procedure("1.000009").source_url is None
    assert procedure("1000010") is not None
    fee = procedure("1.000003").channels[0]["timings"][0]["fees"][0]
    assert fee["amount"] is None
    warned = {w["code"] for w in report.warnings}
    assert {"1.000001", "1.000002", "1.000003", "1.000004", "1.000005", "1.000006", "1.000009"} <= warned


def test_records_with_gaps_are_imported_with_warnings_not_rejected(app):
    record = procedure_record(
        code="1.000001",
        name="Thủ tục thiếu thông tin",
        levels=(0,),
        publisher=None,
        CACHTHUCTHUCHIEN=[
            {"KENH": "7", "TENKENH": "Kênh lạ", "THOIGIAN": []},
            {
                "KENH": "1",
                "TENKENH": "Trực tiếp",
                "THOIGIAN": [
                    {
                        "THOIGIANGIAIQUYET": -3,
                        "DONVITINH": "Ngày",
                        "PHILEPHI": [{"SOTIEN": 5, "DONVI": "%", "MOTA": "Lệ phí"}],
                    },
                    {"THOIGIANGIAIQUYET": 2, "DONVITINH": "Tháng", "PHILEPHI": []},
                ],
            },
            {"KENH": "2", "TENKENH": "Trực tuyến", "THOIGIAN": []},
        ],
    )
    other = procedure_record(code="1.000002", name="Cơ quan công bố lạ", levels=(0,), publisher="G98")

    report = import_procedures(record, other)

    assert report.rejected == []
    assert report.created == 2
    messages = {w["message"] for w in report.warnings if w["code"] == "1.000001"}
    assert {
        "MACOQUANCONGBO is missing: the procedure is linked to no publishing agency",
        "CACHTHUCTHUCHIEN: unknown channel KENH='7'; left out",
        "THOIGIAN.THOIGIANGIAIQUYET -3 is negative; left out",
        "PHILEPHI.DONVI '%' is not a currency; the amount 5 was left out",
        "THOIGIAN.DONVITINH 'Tháng' is not a known unit; not used for due dates",
        "has an online channel but no known agency offers it: no online service",
    } <= messages
    assert {w["message"] for w in report.warnings if w["code"] == "1.000002"} >= {
        "publishing agency G98 is not among the known agencies"
    }
    imported = procedure("1.000001")
    assert [c["channel"] for c in imported.channels] == [1, 2]
    assert imported.processing_days is None, "neither a negative time nor months make a due date"


# ------------------------------------------------------------------ files that cannot be read


def _truncated_bundled_file(path):
    text = PROCEDURES_FILE.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


BROKEN_FILES = {
    "malformed JSON": (
        lambda p: p.write_text('[{"MATTHC": "1.000001", "TENTTHC": }]', encoding="utf-8"),
        r"not valid JSON at line 1, column 36",
    ),
    "truncated bundled file": (_truncated_bundled_file, r"ends early .*truncated"),
    "empty file": (lambda p: p.write_bytes(b""), r"the file is empty"),
    "white space only": (lambda p: p.write_text(" \n\t\n", encoding="utf-8"), r"the file is empty"),
    # "Đăng ký" as Windows-1258 writes it, as files saved by old office software are.
    "not UTF-8": (lambda p: p.write_bytes(b'[{"TENTTHC": "\xd0\xe3ng k\xfd"}]'), r"not UTF-8"),
    "object without a list": (
        lambda p: p.write_text('{"MATTHC": "1.000001"}', encoding="utf-8"),
        r"a JSON object without a list of procedure records",
    ),
    "a bare string": (
        lambda p: p.write_text('"procedures"', encoding="utf-8"),
        r"expected a list of procedure records, found text",
    ),
    "broken JSON Lines": (
        lambda p: p.write_text('{"MATTHC": "1"}\n{"MATTHC": \n', encoding="utf-8"),
        r"line 2 is not valid JSON",
    ),
    "nested too deeply": (
        lambda p: p.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8"),
        r"nested too deeply",
    ),
    "a directory": (lambda p: p.mkdir(), r"cannot read"),
    "an empty list in a full import": (
        lambda p: p.write_text("[]", encoding="utf-8"),
        r"no usable procedure record .* would retire the whole catalog",
    ),
}


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_a_file_that_cannot_be_read_raises_a_clear_error_and_changes_nothing(app, tmp_path, name):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục đã có", levels=(0, 1)), provinces=True)
    before = catalog_counts()
    make, message = BROKEN_FILES[name]
    path = tmp_path / "procedures.json"
    make(path)

    with pytest.raises(ImportFileError, match=message) as raised:
        import_catalog(path, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE)

    assert str(path) in str(raised.value)
    db.session.expire_all()
    assert catalog_counts() == before
    assert procedure("1.000001").active


def test_a_broken_agencies_file_fails_the_whole_import_and_changes_nothing(app, tmp_path):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục đã có"))
    before = catalog_counts()
    procedures = write_export(tmp_path / "procedures.json", [procedure_record(code="1.000002", name="Mới")])
    agencies = tmp_path / "agencies.json"
    agencies.write_text('{"agencies": "none here"}', encoding="utf-8")

    with pytest.raises(ImportFileError, match="expected an object with a list 'agencies'"):
        import_catalog(procedures, agencies_path=agencies)

    assert catalog_counts() == before


def test_a_database_failure_mid_import_leaves_the_catalog_as_it_was(app, monkeypatch):
    """Fault injection: with batches of 100, the writer raises a database error at the 300th
    record, after three batches of new procedures were written in the transaction. Nothing
    may remain of them, and what the catalog held stays as it was."""
    import_procedures(
        procedure_record(code="8.000001", name="Thủ tục sẽ bị thu hồi nếu nhập xong"), full=True
    )
    before = catalog_counts()
    written: list[str] = []
    rows_when_failing: list[int] = []
    real_write = ProcedureWriter.write

    def failing_write(self, parsed):
        if len(written) == 300:
            rows_when_failing.append(count(Procedure))
            raise sa.exc.OperationalError("INSERT INTO procedures ...", {}, Exception("disk I/O error"))
        written.append(parsed.code)
        real_write(self, parsed)

    monkeypatch.setattr(writer, "BATCH_SIZE", 100)
    monkeypatch.setattr(ProcedureWriter, "write", failing_write)

    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        import_bundled()

    assert rows_when_failing == [before["procedures"] + 300], "the failure came after rows were written"
    db.session.expire_all()
    assert catalog_counts() == before
    assert procedure("8.000001").active
    assert procedure(written[0]) is None


# ------------------------------------------------------------------------ what is imported


def test_fees_become_whole_dong_with_their_kind_and_usd_fees_keep_their_foreign_amount(app):
    fees = [
        {"SOTIEN": 50000, "DONVI": "Đồng", "MOTA": "Lệ phí cấp giấy chứng nhận"},
        {"SOTIEN": "100.000", "DONVI": "đồng", "MOTA": "Phí thẩm định hồ sơ"},
        {"SOTIEN": 25000.0, "DONVI": None, "MOTA": "Phí: 25.000 đồng/bản"},
        {"SOTIEN": 0, "DONVI": "Đồng", "MOTA": "Miễn lệ phí"},
        {"SOTIEN": 1.5, "DONVI": "USD", "MOTA": "Lệ phí"},
        {"SOTIEN": None, "DONVI": None, "MOTA": "Mức thu do Hội đồng nhân dân tỉnh quyết định"},
    ]
    record = procedure_record(
        code="1.000001",
        name="Thủ tục có lệ phí",
        CACHTHUCTHUCHIEN=[
            {
                "KENH": "1",
                "TENKENH": "Trực tiếp",
                "THOIGIAN": [{"THOIGIANGIAIQUYET": 5, "DONVITINH": "Ngày làm việc", "PHILEPHI": fees}],
            }
        ],
    )

    import_procedures(record)

    stored = procedure("1.000001").channels[0]["timings"][0]["fees"]
    assert [(f["kind"], f["amount"], f["currency"]) for f in stored] == [
        ("le_phi", 50000, "VND"),
        ("phi", 100000, "VND"),
        ("phi", 25000, "VND"),
        ("le_phi", 0, "VND"),
        ("le_phi", None, "USD"),
        ("unspecified", None, None),
    ]
    assert all(type(f["amount"]) is int for f in stored if f["amount"] is not None), "money is never a float"
    assert stored[4]["foreign_amount"] == "1.5"


def test_every_fee_of_the_real_catalog_is_whole_dong_or_a_stated_foreign_amount(catalog_client):
    fees = [
        f
        for p in db.session.scalars(sa.select(Procedure))
        for c in p.channels
        for t in c["timings"]
        for f in t["fees"]
    ]
    assert len(fees) > 1000
    for fee in fees:
        assert fee["kind"] in ("phi", "le_phi", "unspecified")
        if fee["currency"] == "VND":
            assert type(fee["amount"]) is int and fee["amount"] >= 0
        elif fee["currency"] == "USD":
            assert fee["amount"] is None and float(fee["foreign_amount"]) > 0
        else:
            assert fee["amount"] is None
    assert {f["kind"] for f in fees} >= {"phi", "le_phi"}


def test_processing_times_keep_their_units_and_the_online_channel_sets_the_working_days(app):
    def channel(kenh, *timings):
        return {
            "KENH": kenh,
            "TENKENH": "",
            "THOIGIAN": [
                {"THOIGIANGIAIQUYET": amount, "DONVITINH": unit, "PHILEPHI": []} for amount, unit in timings
            ],
        }

    import_procedures(
        procedure_record(
            code="1.000001",
            name="Thời gian theo giờ",
            CACHTHUCTHUCHIEN=[
                channel("1", (3, "Ngày làm việc"), (10, "Ngày")),
                channel("2", (12, "Giờ"), (0.5, "Giờ làm việc")),
            ],
        ),
        procedure_record(
            code="1.000002",
            name="Thời gian không đơn vị",
            CACHTHUCTHUCHIEN=[
                channel("1", (15, None), (0, "Ngày làm việc")),
                channel("3", (7.5, "Ngày làm việc kể từ ngày nhận")),
            ],
        ),
    )

    hours = procedure("1.000001")
    assert [(t["amount"], t["unit"]) for c in hours.channels for t in c["timings"]] == [
        (3, "working_day"),
        (10, "day"),
        (12, "hour"),
        (0.5, "hour"),
    ]
    assert hours.processing_days == 1, "the online channel first: half an hour is within a working day"
    plain = procedure("1.000002")
    assert [(t["amount"], t["unit"]) for c in plain.channels for t in c["timings"]] == [
        (15, None),
        (0, "working_day"),
        (7.5, "working_day"),
    ]
    assert plain.processing_days == 8


def test_the_competent_authority_and_coordinating_agencies_are_imported_as_lists_of_names(app):
    record = procedure_record(
        code="1.000001",
        name="Thủ tục mở sân bay chuyên dùng",
        bodies=("Cục Tác chiến",),
        COQUANCOTHAMQUYEN=[{"TENDONVI": "Bộ Tổng Tham mưu"}],
        COQUANPHOIHOP=[
            {"TENDONVI": "Bộ Xây dựng"},
            {"TENDONVI": " Ủy ban nhân dân cấp tỉnh "},
            {"TENDONVI": "Bộ Xây dựng"},
            {"TENDONVI": None},
            "Bộ Quốc phòng",
        ],
    )
    without = procedure_record(code="1.000002", name="Thủ tục không nêu cơ quan phối hợp")

    report = import_procedures(record, without)

    assert report.rejected == []
    imported = procedure("1.000001")
    assert imported.implementing_bodies == ["Cục Tác chiến"]
    assert imported.competent_bodies == ["Bộ Tổng Tham mưu"]
    assert imported.coordinating_bodies == ["Bộ Xây dựng", "Ủy ban nhân dân cấp tỉnh"]
    assert "bo tong tham muu" in imported.search_norm and "bo xay dung" in imported.search_norm
    assert {w["message"] for w in report.warnings if w["code"] == "1.000001"} >= {
        "COQUANPHOIHOP: 1 entries that are not objects were left out"
    }
    serialized = imported.serialize()
    assert serialized["competent_bodies"] == ["Bộ Tổng Tham mưu"]
    assert serialized["coordinating_bodies"] == ["Bộ Xây dựng", "Ủy ban nhân dân cấp tỉnh"]
    assert (procedure("1.000002").competent_bodies, procedure("1.000002").coordinating_bodies) == ([], [])


def test_the_bundled_records_keep_their_competent_authority_and_coordinating_agencies(app):
    import_bundled()

    with_competent = db.session.scalars(sa.select(Procedure.competent_bodies)).all()
    assert sum(1 for bodies in with_competent if bodies) == 287
    with_coordinating = db.session.scalars(sa.select(Procedure.coordinating_bodies)).all()
    assert sum(1 for bodies in with_coordinating if bodies) == 58
    airfield = procedure("1.013275")
    assert airfield.competent_bodies == ["Bộ Tổng Tham mưu"]
    assert airfield.coordinating_bodies == ["Bộ Xây dựng, Chủ tịch ủy ban nhân dân cấp tỉnh"]


def test_document_keys_are_stable_across_reimports(app):
    documents = (
        "Tờ khai",
        ("Giấy chứng sinh", 1, 0),
        ("Bản sao giấy tờ tùy thân (nếu có)", 0, 1),
        ("Ghi chú: không cần nộp bản chính", 0, 0),
    )
    import_procedures(procedure_record(code="1.000001", name="Đăng ký khai sinh", documents=documents))
    first = {d["name"]: d for d in procedure("1.000001").documents}

    import_procedures(
        procedure_record(
            code="1.000001", name="Đăng ký khai sinh (sửa đổi)", documents=("Giấy tờ mới",) + documents
        )
    )

    second = {d["name"]: d for d in procedure("1.000001").documents}
    assert {name: d["key"] for name, d in second.items() if name in first} == {
        name: d["key"] for name, d in first.items()
    }
    assert len({d["key"] for d in second.values()}) == len(second) == 5
    assert first["Tờ khai"]["required"] and first["Giấy chứng sinh"]["required"]
    assert not first["Bản sao giấy tờ tùy thân (nếu có)"]["required"]
    assert first["Ghi chú: không cần nộp bản chính"]["note"]


def test_the_same_document_in_two_cases_gets_two_keys(app):
    record = procedure_record(
        code="1.000001",
        name="Hai trường hợp",
        THANHPHANHOSO=[
            {
                "TRUONGHOP": "Trường hợp trong nước",
                "GIAYTO": [{"TENGIAYTO": "Tờ khai", "SOBANCHINH": 1, "SOBANSAO": 0}],
            },
            {
                "TRUONGHOP": "Trường hợp nước ngoài",
                "GIAYTO": [{"TENGIAYTO": "Tờ khai", "SOBANCHINH": 1, "SOBANSAO": 0}],
            },
        ],
    )

    import_procedures(record)

    assert len({d["key"] for d in procedure("1.000001").documents}) == 2


def test_agencies_form_a_tree_and_closed_codes_get_their_end_date(app):
    import_procedures(agencies=True, provinces=True)

    agencies = {a.key: a for a in db.session.scalars(sa.select(Agency))}
    assert len(agencies) == 46
    assert agencies["000.00.18.G12"].parent.code == "000.00.00.G12"
    assert agencies["H26.4"].parent.code == "000.00.00.H26"
    assert agencies["000.00.00.G01"].parent is None
    assert agencies["000.00.00.H30"].valid_to == PROVINCE_MERGER == date(2025, 7, 1)
    assert agencies["000.00.00.G04"].valid_to == MINISTRY_MERGER == date(2025, 3, 1)
    assert agencies["000.00.00.G01"].valid_to is None
    assert not agencies["000.00.00.H30"].is_active()
    assert agencies["000.00.00.H30"].is_active(on=date(2025, 6, 30))


def test_provinces_are_the_34_of_2025_linked_to_their_committee_where_known(app):
    import_procedures(agencies=True, provinces=True)

    provinces = {p.code: p for p in db.session.scalars(sa.select(Province))}
    assert len(provinces) == 34
    assert provinces["01"].agency.code == "000.00.00.H26"
    assert provinces["04"].agency is None
    assert sum(1 for p in provinces.values() if p.agency is not None) == 10
    assert all(p.valid_from == PROVINCE_MERGER for p in provinces.values())


def test_an_agency_tree_with_a_cycle_is_imported_without_the_cycle(app):
    document = {
        "agencies": [
            {
                "code": "000.00.00.G91",
                "name": "Cơ quan A",
                "level": "central",
                "parent_code": "000.00.01.G91",
            },
            {
                "code": "000.00.01.G91",
                "name": "Cơ quan B",
                "level": "central",
                "parent_code": "000.00.00.G91",
            },
            {
                "code": "000.00.02.G91",
                "name": "Cơ quan C",
                "level": "central",
                "parent_code": "000.00.02.G91",
            },
            {"code": None, "name": "Không có mã"},
        ]
    }

    report = import_procedures(agencies=document)

    from portal.catalog.queries import agency_subtree_ids

    assert len(agency_subtree_ids("000.00.01.G91")) == 2, "B and A below it; A's link back was dropped"
    assert len(agency_subtree_ids("000.00.02.G91")) == 1
    assert sum("would make a cycle" in w["message"] for w in report.warnings) == 2
    assert report.rejected == [{"code": None, "reason": "agency: an agency needs a code and a name"}]


@pytest.mark.parametrize(
    ("levels", "fee", "expected"),
    [
        ((0,), 8000, {"000.00.00.G15": (4, True, True)}),
        ((0,), 0, {"000.00.00.G15": (4, True, False)}),
        ((0,), None, {"000.00.00.G15": (4, True, False)}),
        ((0,), COUNCIL_FEE, {"000.00.00.G15": (3, False, False)}),
        ((None,), 8000, {"000.00.00.G15": (4, True, True)}),
    ],
    ids=["payable fee", "free", "no fee row", "fee set by a council", "another agency"],
)
def test_a_central_procedure_with_an_online_channel_is_offered_at_its_ministry(app, levels, fee, expected):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục trực tuyến", levels=levels, fee=fee))

    assert {
        s.agency.code: (s.level, s.full_online, s.pays_online) for s in services_of("1.000001")
    } == expected


def test_a_usd_fee_makes_the_service_partly_online(app):
    import_procedures(
        procedure_record(code="1.000001", name="Cấp thị thực", levels=(0,), fee=10, fee_unit="USD")
    )

    assert [(s.level, s.full_online) for s in services_of("1.000001")] == [(3, False)]


def test_a_provincial_procedure_is_offered_at_every_open_provincial_committee(app):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục cấp xã", levels=(3,), fee=COUNCIL_FEE))

    services = services_of("1.000001")
    codes = {s.agency.code for s in services}
    assert len(codes) == OPEN_PROVINCIAL_COMMITTEES
    assert "000.00.00.H26" in codes and "000.00.00.H30" not in codes, "Hậu Giang's code closed in 2025"
    assert {(s.level, s.full_online) for s in services} == {(3, False)}


def test_a_procedure_without_an_online_channel_has_no_online_service(app):
    import_procedures(
        procedure_record(code="1.000001", name="Thủ tục trực tiếp", levels=(0, 1), online=False)
    )

    assert services_of("1.000001") == []


def test_a_publisher_given_as_a_whole_identity_code_is_found(app):
    import_procedures(procedure_record(code="1.000001", name="Thủ tục thử", publisher="000.00.00.G15"))

    assert procedure("1.000001").publisher.code == "000.00.00.G15"


SAMPLE_FILINGS = {
    "birth": {
        "child_name": "Nguyễn Văn An",
        "child_birth_date": "2025-10-01",
        "child_gender": "nam",
        "child_birth_place": "Bệnh viện Phụ sản Hà Nội",
        "mother_name": "Trần Thị Bình",
    },
    "general": {},
}


@pytest.mark.parametrize(
    "name,kind", [("Thủ tục đăng ký khai sinh", "birth"), ("Cấp phiếu lý lịch", "general")]
)
@pytest.mark.parametrize("fee", [8000, COUNCIL_FEE], ids=["level 4", "level 3"])
def test_the_form_schema_is_valid_json_schema_and_accepts_a_sample_filing(app, name, kind, fee):
    import_procedures(procedure_record(code="1.000001", name=name, levels=(0,), fee=fee))
    schema = services_of("1.000001")[0].form_schema

    Draft202012Validator.check_schema(schema)
    assert schema["x-form-kind"] == kind
    assert schema["x-order"] == list(schema["properties"])
    filing = {
        "applicant_name": "Nguyễn Văn Bố",
        "applicant_birth_date": "1990-01-31",
        "applicant_id_number": "001090000001",
        "applicant_phone": "0912345678",
        "applicant_address": {"province": "01", "commune": "Phường Ba Đình", "street": "1 Hoàng Diệu"},
        "request_details": "Đề nghị cấp theo quy định.",
        **SAMPLE_FILINGS[kind],
    }
    validator = Draft202012Validator(schema)
    assert list(validator.iter_errors(filing)) == []
    assert not validator.is_valid({**filing, "applicant_id_number": "12345"})
    assert not validator.is_valid({**filing, "unexpected": "field"})
    assert not validator.is_valid({k: v for k, v in filing.items() if k != "applicant_name"})


def test_every_form_schema_of_the_real_catalog_is_valid_json_schema(catalog_client):
    schemas = {
        json.dumps(s, sort_keys=True) for s in db.session.scalars(sa.select(OnlineService.form_schema))
    }
    assert len(schemas) > 100
    for text in schemas:
        Draft202012Validator.check_schema(json.loads(text))


def test_fields_are_shared_between_procedures_and_keep_their_national_code(app):
    import_procedures(
        procedure_record(code="1.000001", name="Một", fields=("Hộ tịch",)),
        procedure_record(code="1.000002", name="Hai", fields=("Hộ tịch", ("G02-DL01", "Điện"))),
    )

    assert sorted(f.code for f in db.session.scalars(sa.select(Field))) == ["G02-DL01", "ho-tich"]
    assert [f.name for f in procedure("1.000002").fields] == ["Hộ tịch", "Điện"]
