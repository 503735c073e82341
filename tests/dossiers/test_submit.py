"""Filing: the whole form and the required documents are checked; one code, one dossier."""

import re
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.accounts.models import User
from portal.dossiers import service
from portal.dossiers.models import Delivery, Dossier, DossierCounter, DossierEvent
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from tests.dossiers.support import (
    FORM,
    freeze,
    language,
    make_draft,
    make_service,
    make_user,
    pdf_bytes,
    reload,
    required_key,
    upload,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


BAD_FORM = {
    **FORM,
    "applicant_birth_date": "17/05/1990",
    "applicant_phone": "12345",
    "applicant_address": {"province": "01", "commune": "Phường Ba Đình", "street": "   "},
    "request_details": "",
    "copies_requested": 50,
}


EXPECTED_EN = {
    "applicant_birth_date": "Date of birth: enter a date as YYYY-MM-DD.",
    "applicant_phone": "Phone number: the format is not valid.",
    "applicant_address/street": "Address: House number, street, village: this information is required.",
    "request_details": "What you are asking for: this information is required.",
    "copies_requested": "Copies of the result: must be at most 20.",
}


def expected_vi() -> dict:
    """The same errors with the Vietnamese field titles, worded by the Vietnamese catalog."""
    return {
        "applicant_birth_date": _("%(field)s: enter a date as YYYY-MM-DD.", field="Ngày sinh"),
        "applicant_phone": _("%(field)s: the format is not valid.", field="Số điện thoại"),
        "applicant_address/street": _(
            "%(field)s: this information is required.", field="Địa chỉ: Số nhà, đường, thôn"
        ),
        "request_details": _("%(field)s: this information is required.", field="Nội dung đề nghị"),
        "copies_requested": _(
            "%(field)s: must be at most %(num)s.", field="Số bản kết quả đề nghị cấp", num="20"
        ),
    }


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_invalid_answers_are_reported_by_field_in_the_citizens_language_and_nothing_is_written(
    app, upload_dir, lang
):
    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id, form=BAD_FORM)
    before = reload(draft_id)
    snapshot = (dict(before.form_data), before.updated_at, before.state)
    with language(app, lang):
        with pytest.raises(ValidationFailed) as error:
            service.submit(user, draft_id)
        expected = EXPECTED_EN if lang == "en" else expected_vi()
    details = {d["field"]: d["message"] for d in error.value.details}
    assert all(d["error"] == "ValidationError" for d in error.value.details)
    assert {field: details.get(field) for field in expected} == expected
    if lang == "vi":
        assert not set(details.values()) & set(EXPECTED_EN.values())
        assert details["request_details"].startswith("Nội dung đề nghị: ")
    assert f"documents/{required_key(keys)}" in details
    assert "applicant_name" not in details
    after = reload(draft_id)
    assert (after.form_data, after.updated_at, after.state) == snapshot
    assert after.code is None and after.status is None
    assert count(DossierCounter) == count(DossierEvent) == count(Delivery) == 0


def test_the_document_error_names_the_document_in_either_language(app):
    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id)
    for lang in ("en", "vi"):
        with language(app, lang):
            with pytest.raises(ValidationFailed) as error:
                service.submit(user, draft_id)
            (detail,) = error.value.details
            expected = _(
                "%(document)s: attach this document.",
                document="Tờ khai đề nghị cấp bản sao trích lục hộ tịch",
            )
        assert detail["field"] == f"documents/{required_key(keys)}"
        assert detail["message"] == expected
        assert (expected.endswith("attach this document.")) == (lang == "en")


def test_a_valid_draft_is_filed_with_a_code_a_due_date_an_event_and_a_delivery(app, jobs, monkeypatch):
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))  # a Monday
    user = make_user()
    service_id, keys = make_service(processing_days=5)
    draft_id = make_draft(
        user,
        service_id,
        files={required_key(keys): pdf_bytes()},
        form={**FORM, "applicant_phone": "+84912345678", "request_details": "  Cấp bản sao.  "},
    )
    result = service.submit(user, draft_id)
    assert result["code"] == "000.00.00.G15-250303-0001"
    assert result["due_at"] == "2025-03-10T17:00:00+07:00"
    dossier = reload(draft_id)
    assert (dossier.state, dossier.status, dossier.channel) == ("filed", 1, 2)
    assert dossier.processing_days == 5
    assert dossier.due_at == dossier.original_due_at
    assert (
        dossier.applicant_name,
        dossier.applicant_id_number,
        dossier.applicant_phone,
        dossier.applicant_email,
    ) == ("Trần Thị Bình", "038190000001", "0912345678", "binh@example.vn")
    assert dossier.form_data["request_details"] == "Cấp bản sao."
    (event,) = db.session.scalars(sa.select(DossierEvent)).all()
    assert (event.status, event.source, event.result) == (1, "portal", "applied")
    (delivery,) = db.session.scalars(sa.select(Delivery)).all()
    assert delivery.dossier_id == draft_id and delivery.agency_code == "000.00.00.G15"
    assert delivery.state == "pending" and re.fullmatch(r"[0-9a-f-]{36}", delivery.id)


def test_submitting_twice_files_one_dossier_with_one_code(app, jobs):
    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    first = service.submit(user, draft_id)
    with pytest.raises(Conflict) as error:
        service.submit(user, draft_id)
    assert error.value.token == "AlreadySubmitted"
    assert reload(draft_id).code == first["code"]
    assert db.session.scalar(sa.select(DossierCounter.last_value)) == 1
    assert count(Dossier) == count(Delivery) == count(DossierEvent) == 1


def test_a_draft_received_before_tet_is_due_on_the_first_working_day_after_it(app, jobs, monkeypatch):
    freeze(monkeypatch, datetime(2025, 1, 24, 10, 0, tzinfo=VN))
    user = make_user()
    service_id, keys = make_service(processing_days=1)
    draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    result = service.submit(user, draft_id)
    assert result["due_at"] == "2025-02-03T17:00:00+07:00"
    assert result["code"].endswith("-250124-0001")


def test_the_code_takes_the_vietnamese_day_and_counts_per_agency_and_day(app, jobs, monkeypatch):
    user = make_user()
    service_id, keys = make_service()
    codes = []
    for when in (
        datetime(2025, 3, 3, 23, 30, tzinfo=UTC),  # already 4 March in Vietnam
        datetime(2025, 3, 4, 8, 0, tzinfo=VN),
        datetime(2025, 3, 5, 8, 0, tzinfo=VN),
    ):
        freeze(monkeypatch, when)
        draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
        codes.append(service.submit(user, draft_id)["code"])
    assert codes == ["000.00.00.G15-250304-0001", "000.00.00.G15-250304-0002", "000.00.00.G15-250305-0001"]


def test_past_9999_the_sequence_takes_five_digits(app, jobs, monkeypatch):
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    db.session.add(
        DossierCounter(agency_code="000.00.00.G15", day=datetime(2025, 3, 3).date(), last_value=9999)
    )
    db.session.commit()
    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    assert service.submit(user, draft_id)["code"] == "000.00.00.G15-250303-10000"


def test_fifty_simultaneous_submissions_get_fifty_distinct_consecutive_codes(app, jobs, monkeypatch):
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    service_id, _ = make_service(documents=[("Văn bản ủy quyền (nếu có)", 0, 1)])
    work = []
    for n in range(5):
        user = make_user(email=f"u{n}@example.vn", phone=f"091234567{n}")
        work += [(user.id, make_draft(user, service_id)) for _ in range(10)]
    barrier = threading.Barrier(len(work))
    codes, failures = [], []

    def file(user_id, draft_id):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                user = db.session.get(User, user_id)
                codes.append(service.submit(user, draft_id)["code"])
            except Exception as exc:  # collected and shown below
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=file, args=item) for item in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(set(codes)) == 50
    assert sorted(int(code.rsplit("-", 1)[1]) for code in codes) == list(range(1, 51))
    assert {code.rsplit("-", 1)[0] for code in codes} == {"000.00.00.G15-250303"}
    assert db.session.scalar(sa.select(DossierCounter.last_value)) == 50


def test_the_receipt_email_gives_the_code_procedure_agency_and_due_date_in_vietnam_time(
    app, jobs, smtp, monkeypatch
):
    freeze(monkeypatch, datetime(2025, 1, 24, 10, 0, tzinfo=VN))
    user = make_user()
    service_id, keys = make_service(processing_days=1)
    draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    code = service.submit(user, draft_id)["code"]
    jobs()
    (message,) = smtp.to("binh@example.vn")
    assert message["Subject"] == f"Đã tiếp nhận hồ sơ {code}"
    body = smtp.body(message)
    assert f"Mã hồ sơ: {code}" in body
    assert "Cấp bản sao trích lục hộ tịch" in body
    assert "Bộ Tư pháp" in body
    assert "17:00 03/02/2025" in body


def test_a_service_withdrawn_after_the_draft_was_made_cannot_be_filed(app):
    from services_catalog.models import OnlineService

    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id)
    service.add_attachment(user, draft_id, required_key(keys), upload(pdf_bytes()))
    db.session.get(OnlineService, service_id).active = False
    db.session.commit()
    with pytest.raises(Conflict) as error:
        service.submit(user, draft_id)
    assert error.value.token == "ServiceUnavailable"
    assert reload(draft_id).state == "draft"


def test_submitting_an_unknown_dossier_is_not_found(app):
    with pytest.raises(NotFound):
        service.submit(make_user(), 12345)
