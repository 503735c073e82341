"""Filing a dossier through its pages: start, the draft form, files, submit, the receipt."""

from __future__ import annotations

import html
import io
import json
import os
import re

import pytest
import sqlalchemy as sa
from flask_babel import gettext as _
from PIL import Image

from portal.accounts.passwords import hash_password
from portal.cache import invalidate
from portal.db import utcnow
from portal.dossiers.models import Attachment, Dossier
from portal.extensions import db
from services_catalog.generate import AGENCIES_FILE, PROVINCES_FILE
from services_catalog.importer import import_records
from services_catalog.models import OnlineService, Procedure
from tests.dossiers.support import (
    DEFAULT_DOCUMENTS,
    FORM,
    exe_bytes,
    language,
    make_user,
    pdf_bytes,
    png_bytes,
    procedure_record,
)
from tests.web import csrf_token, submit_form

PASSWORD = "bánh mì pate trứng ốp la"
CODE_PATTERN = r"000\.00\.00\.G15-\d{6}-0001"
REQUIRED_DOC, OPTIONAL_DOC, NOTE_DOC = (name for name, _originals, _copies in DEFAULT_DOCUMENTS)


# ------------------------------------------------------------------------------ helpers


def make_filing_service(*, code: str = "9.000001", fee: int | None = 50_000) -> tuple[int, dict[str, str]]:
    """A level-4 service of the Ministry of Justice, with the 34 provinces for the address
    picker: (online service id, {document name: key})."""
    record = procedure_record(
        code=code, name="Cấp bản sao trích lục hộ tịch", processing_days=5, documents=DEFAULT_DOCUMENTS
    )
    if fee is not None:
        record["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["PHILEPHI"] = [
            {"SOTIEN": fee, "DONVI": "Đồng", "MOTA": "Lệ phí cấp bản sao"}
        ]
    import_records(
        [record],
        full=False,
        agencies=json.loads(AGENCIES_FILE.read_text(encoding="utf-8")),
        provinces=json.loads(PROVINCES_FILE.read_text(encoding="utf-8")),
    )
    db.session.commit()
    invalidate("catalog")
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    online = db.session.scalar(sa.select(OnlineService).where(OnlineService.procedure_id == procedure.id))
    return online.id, {d["name"]: d["key"] for d in procedure.documents}


def make_citizen(email: str = "binh@example.vn", phone: str = "0912345678", full_name: str = "Trần Thị Bình"):
    user = make_user(full_name=full_name, email=email, phone=phone)
    user.password_hash = hash_password(PASSWORD)
    user.email_verified_at = utcnow()
    db.session.commit()
    return user


def sign_in(client, email: str = "binh@example.vn") -> None:
    response = submit_form(client, "/tai-khoan/dang-nhap", {"identifier": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def posted(answers: dict, prefix: str = "") -> dict:
    """Answers as the draft page's form posts them: paths joined by "/", ticked boxes only."""
    form = {}
    for name, value in answers.items():
        if isinstance(value, dict):
            form.update(posted(value, f"{prefix}{name}/"))
        elif value is True:
            form[f"{prefix}{name}"] = "true"
        elif value is not False:
            form[f"{prefix}{name}"] = str(value)
    return form


def start_draft(client, service_id: int) -> int:
    response = submit_form(client, f"/dich-vu/{service_id}/nop-ho-so", {})
    assert response.status_code == 302
    return int(re.fullmatch(r"/ho-so/nhap/(\d+)", response.headers["Location"]).group(1))


def attach(client, draft_id: int, key: str, data: bytes, name: str, *, token: str | None = None):
    token = token or csrf_token(client.get(f"/ho-so/nhap/{draft_id}").get_data(as_text=True))
    return client.post(
        f"/ho-so/nhap/{draft_id}/tep",
        content_type="multipart/form-data",
        data={"csrf_token": token, "document_key": key, "file": (io.BytesIO(data), name)},
    )


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def error_beside(page: str, element_id: str) -> str:
    """The error text shown for a field or a document slot (its ``<id>-error`` element)."""
    match = re.search(rf'id="{re.escape(element_id)}-error">(.*?)</p>', page, re.S)
    assert match, f"no error shown beside {element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def reload_draft(draft_id: int) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, draft_id)


def attachments() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def files_in(upload_dir) -> list[str]:
    return (
        [name for name in os.listdir(upload_dir) if not name.startswith(".")] if upload_dir.exists() else []
    )


# -------------------------------------------------------------------------------- pages


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for(client, app):
    service_id, _keys = make_filing_service()
    for path in (f"/dich-vu/{service_id}/nop-ho-so", "/ho-so/nhap/1", "/ho-so/1/bien-nhan"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/tai-khoan/dang-nhap?next={path}"


def test_the_start_page_shows_the_service_its_agency_level_fee_and_documents(client, app):
    service_id, _keys = make_filing_service()
    make_citizen()
    sign_in(client)
    response = client.get(f"/dich-vu/{service_id}/nop-ho-so?lang=en")
    assert response.status_code == 200
    page = text(response)
    assert "Cấp bản sao trích lục hộ tịch" in page and "Bộ Tư pháp" in page
    assert "Online level 4" in page and "50.000 đ" in page and "5 working days" in page
    assert REQUIRED_DOC in page and OPTIONAL_DOC in page and NOTE_DOC in page
    assert "Originals: 1" in page and "Required" in page and "Optional" in page
    assert (
        'name="csrf_token"' in page
        and '<button type="submit" class="button button--start">Start</button>' in page
    )


def test_a_service_that_does_not_exist_has_no_start_page(client, app):
    make_filing_service()
    make_citizen()
    sign_in(client)
    assert client.get("/dich-vu/999999/nop-ho-so").status_code == 404


def test_start_makes_a_draft_filled_with_what_the_account_knows(client, app):
    service_id, _keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    draft = reload_draft(draft_id)
    assert draft.state == "draft" and draft.form_data["applicant_name"] == "Trần Thị Bình"
    page = text(client.get(f"/ho-so/nhap/{draft_id}"))
    assert 'value="Trần Thị Bình"' in page and 'value="0912345678"' in page
    start_page = text(client.get(f"/dich-vu/{service_id}/nop-ho-so"))
    assert f'href="/ho-so/nhap/{draft_id}"' in start_page  # the unfinished draft is offered again


def test_the_draft_page_renders_the_form_in_the_page_language_with_hints_marks_and_document_slots(
    client, app
):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)

    vi = text(client.get(f"/ho-so/nhap/{draft_id}?lang=vi"))
    assert (
        '<label class="form-label" for="f-applicant_name">Họ và tên người nộp hồ sơ<span class="req" aria-hidden="true"> *</span></label>'
        in vi
    )
    assert '<legend class="field-group__legend">Địa chỉ<span class="req"' in vi
    assert re.search(
        r'<select class="form-input" id="f-applicant_address-province" name="applicant_address/province" required'
        r'[^>]*autocomplete="address-level1"',
        vi,
    )
    assert len(re.findall(r'<option value="\d{2}"', vi)) == 34  # the provinces of 2025
    assert '<input class="form-input form-input--date" type="date" id="f-applicant_birth_date"' in vi
    assert re.search(r'<textarea class="form-input" id="f-request_details" name="request_details"', vi)
    assert re.search(r'type="checkbox" id="f-receive_by_post" name="receive_by_post" value="true">', vi)
    assert re.search(r'type="checkbox" id="f-receive_online" name="receive_online" value="true" checked', vi)
    assert 'id="f-copies_requested" name="copies_requested" value="1"' in vi
    with language(app, "vi"):
        assert _("%(num)s digits.", num="12") in vi  # the ID number's pattern, in words
    assert f'id="doc-{keys[REQUIRED_DOC]}"' in vi and f'id="doc-{keys[OPTIONAL_DOC]}"' in vi
    assert f'id="doc-{keys[NOTE_DOC]}-file"' not in vi  # a note is shown, not uploaded to
    assert vi.count('enctype="multipart/form-data"') == 2
    assert f'formaction="/ho-so/nhap/{draft_id}/nop"' in vi
    provinces = re.findall(r'<option value="\d{2}"[^>]*>([^<]+)</option>', vi)
    assert provinces[:2] == ["Tỉnh An Giang", "Tỉnh Bắc Ninh"]  # by name, "Tỉnh" and "Thành phố" aside

    en = text(client.get(f"/ho-so/nhap/{draft_id}?lang=en"))
    assert '<label class="form-label" for="f-applicant_name">Applicant\'s full name<span' in en
    assert "12 digits." in en and "House number, street, village" in en
    assert "Save draft" in en and "Submit" in en


def test_saving_keeps_the_answers_as_json_shaped_by_the_schema(client, app):
    service_id, _keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    answers = {**FORM, "copies_requested": 3, "receive_by_post": True, "receive_online": False}
    response = submit_form(client, f"/ho-so/nhap/{draft_id}", posted(answers))
    assert response.status_code == 302 and response.headers["Location"] == f"/ho-so/nhap/{draft_id}"
    saved = reload_draft(draft_id).form_data
    assert saved["applicant_address"] == FORM["applicant_address"]
    assert (
        saved["copies_requested"] == 3
        and saved["receive_by_post"] is True
        and saved["receive_online"] is False
    )
    assert (
        saved["applicant_email"] == "binh@example.vn" and saved["request_details"] == FORM["request_details"]
    )
    page = text(client.get(f"/ho-so/nhap/{draft_id}"))
    assert '<option value="01" selected>' in page and 'value="12 Phố Điện Biên Phủ"' in page
    # A box the citizen unticked stays unticked (not back to its default).
    assert re.search(r'id="f-receive_online" name="receive_online" value="true">', page)


def test_a_citizen_starts_fills_attaches_and_submits_and_reads_the_receipt(client, app, jobs, upload_dir):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    assert submit_form(client, f"/ho-so/nhap/{draft_id}", posted(FORM)).status_code == 302

    png = attach(client, draft_id, keys[REQUIRED_DOC], png_bytes(), "to-khai.png")
    assert png.status_code == 302 and png.headers["Location"].endswith(f"#doc-{keys[REQUIRED_DOC]}")
    assert attach(client, draft_id, keys[OPTIONAL_DOC], pdf_bytes(), "uy-quyen.pdf").status_code == 302
    page = text(client.get(f"/ho-so/nhap/{draft_id}"))
    assert "to-khai.png" in page and "uy-quyen.pdf" in page
    removable = db.session.scalar(sa.select(Attachment).where(Attachment.original_name == "uy-quyen.pdf"))
    removed = submit_form(
        client, f"/ho-so/nhap/{draft_id}/tep/{removable.id}/xoa", {}, get_url=f"/ho-so/nhap/{draft_id}"
    )
    assert removed.status_code == 302 and "uy-quyen.pdf" not in text(client.get(f"/ho-so/nhap/{draft_id}"))
    assert attachments() == 1 and len(files_in(upload_dir)) == 1

    edited = posted({**FORM, "request_details": "Xin cấp hai bản sao trích lục khai sinh."})
    response = submit_form(client, f"/ho-so/nhap/{draft_id}/nop", edited, get_url=f"/ho-so/nhap/{draft_id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/ho-so/{draft_id}/bien-nhan"
    jobs()
    dossier = reload_draft(draft_id)
    assert dossier.state == "filed" and re.fullmatch(CODE_PATTERN, dossier.code)
    # What was typed on the page when Submit was pressed is what was filed.
    assert dossier.form_data["request_details"] == "Xin cấp hai bản sao trích lục khai sinh."

    receipt = text(client.get(f"/ho-so/{draft_id}/bien-nhan?lang=en"))
    assert dossier.code in receipt and "Cấp bản sao trích lục hộ tịch" in receipt and "Bộ Tư pháp" in receipt
    due = re.search(r'<time datetime="([^"]+)" id="due-date">(\d{2}/\d{2}/\d{4} 17:00)</time>', receipt)
    assert due and due.group(1).endswith("+07:00")
    assert "What happens next" in receipt
    assert f'href="/ho-so/{draft_id}"' in receipt and 'href="/ho-so"' in receipt


def test_the_draft_page_and_a_second_submit_of_a_filed_dossier_lead_to_its_receipt(client, app, jobs):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    attach(client, draft_id, keys[REQUIRED_DOC], pdf_bytes(), "to-khai.pdf")
    token = csrf_token(client.get(f"/ho-so/nhap/{draft_id}").get_data(as_text=True))
    first = client.post(f"/ho-so/nhap/{draft_id}/nop", data={**posted(FORM), "csrf_token": token})
    second = client.post(f"/ho-so/nhap/{draft_id}/nop", data={**posted(FORM), "csrf_token": token})
    jobs()
    assert first.headers["Location"] == second.headers["Location"] == f"/ho-so/{draft_id}/bien-nhan"
    assert client.get(f"/ho-so/nhap/{draft_id}").headers["Location"] == f"/ho-so/{draft_id}/bien-nhan"
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Dossier).where(Dossier.code.is_not(None)))
        == 1
    )


BAD = {
    **FORM,
    "applicant_birth_date": "17/05/1990",
    "applicant_phone": "12345",
    "applicant_address": {"province": "01", "commune": "Phường Ba Đình", "street": ""},
    "request_details": "",
    "copies_requested": "hai",
}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_invalid_answers_and_a_missing_document_are_shown_beside_their_fields_and_nothing_is_lost(
    client, app, lang
):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    token = csrf_token(client.get(f"/ho-so/nhap/{draft_id}?lang={lang}").get_data(as_text=True))
    response = client.post(f"/ho-so/nhap/{draft_id}/nop", data={**posted(BAD), "csrf_token": token})

    assert response.status_code == 400
    page = text(response)
    with language(app, lang):
        vi = lang == "vi"
        expected = {
            "f-applicant_birth_date": _(
                "%(field)s: enter a date as YYYY-MM-DD.", field="Ngày sinh" if vi else "Date of birth"
            ),
            "f-applicant_phone": _(
                "%(field)s: the format is not valid.", field="Số điện thoại" if vi else "Phone number"
            ),
            "f-applicant_address-street": _(
                "%(field)s: this information is required.",
                field="Địa chỉ: Số nhà, đường, thôn" if vi else "Address: House number, street, village",
            ),
            "f-request_details": _(
                "%(field)s: this information is required.",
                field="Nội dung đề nghị" if vi else "What you are asking for",
            ),
            "f-copies_requested": _(
                "%(field)s: enter a whole number.",
                field="Số bản kết quả đề nghị cấp" if vi else "Copies of the result",
            ),
            f"doc-{keys[REQUIRED_DOC]}": _("%(document)s: attach this document.", document=REQUIRED_DOC),
        }
    for element_id, message in expected.items():
        assert message in error_beside(page, element_id)
        assert f'<a href="#{element_id}">{message}</a>' in page  # the summary links to it
    assert f'<html lang="{lang}">' in page
    # Everything typed is still there, as typed.
    assert 'value="17/05/1990"' in page and 'type="text" id="f-applicant_birth_date"' in page
    assert 'value="12345"' in page and 'value="hai"' in page and 'value="Phường Ba Đình"' in page
    draft = reload_draft(draft_id)
    assert draft.state == "draft" and draft.code is None
    assert draft.form_data["applicant_phone"] == "12345" and draft.form_data["copies_requested"] == "hai"


@pytest.mark.parametrize("case", ["renamed program", "empty file", "over the size limit", "no file"])
def test_a_refused_upload_is_explained_beside_its_slot_and_the_draft_is_unchanged(
    client, app, upload_dir, monkeypatch, case
):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    submit_form(client, f"/ho-so/nhap/{draft_id}", posted(FORM))
    before = reload_draft(draft_id).form_data
    key = keys[REQUIRED_DOC]
    token = csrf_token(client.get(f"/ho-so/nhap/{draft_id}?lang=en").get_data(as_text=True))
    if case == "renamed program":
        response = attach(client, draft_id, key, exe_bytes(), "giay-khai-sinh.pdf", token=token)
        expected = "it is not a plain PDF, JPEG or PNG document"
    elif case == "empty file":
        response = attach(client, draft_id, key, b"", "trong.pdf", token=token)
        expected = "The file is empty."
    elif case == "over the size limit":
        monkeypatch.setitem(app.config, "UPLOAD_MAX_FILE_BYTES", 512 * 1024)
        noise = io.BytesIO()
        Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3)).save(noise, "PNG")
        response = attach(client, draft_id, key, noise.getvalue(), "anh-chup.png", token=token)
        expected = "The file is larger than 0.5 MiB."
    else:
        response = client.post(
            f"/ho-so/nhap/{draft_id}/tep",
            content_type="multipart/form-data",
            data={"csrf_token": token, "document_key": key},
        )
        expected = "Choose a file to attach."

    assert response.status_code == 400
    page = text(response)
    assert expected in error_beside(page, f"doc-{key}")
    assert f'<a href="#doc-{key}">' in page
    assert attachments() == 0 and files_in(upload_dir) == []
    assert reload_draft(draft_id).form_data == before


def test_a_draft_that_is_too_many_is_refused_on_the_start_page(client, app, monkeypatch):
    service_id, _keys = make_filing_service()
    make_citizen()
    sign_in(client)
    monkeypatch.setitem(app.config, "DOSSIER_MAX_DRAFTS", 1)
    start_draft(client, service_id)
    response = submit_form(client, f"/dich-vu/{service_id}/nop-ho-so?lang=en", {})
    assert response.status_code == 409
    assert "You have too many unfinished dossiers" in text(response)


def test_discarding_a_draft_deletes_it_with_its_files(client, app, upload_dir):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    attach(client, draft_id, keys[REQUIRED_DOC], png_bytes(), "to-khai.png")
    response = submit_form(client, f"/ho-so/nhap/{draft_id}/huy", {}, get_url=f"/ho-so/nhap/{draft_id}")
    assert response.status_code == 302 and response.headers["Location"] == "/ho-so"
    assert reload_draft(draft_id) is None and attachments() == 0 and files_in(upload_dir) == []


# ------------------------------------------------------------------------------ refusals


def test_every_filing_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    client, app, upload_dir
):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    draft_id = start_draft(client, service_id)
    attach(client, draft_id, keys[REQUIRED_DOC], png_bytes(), "to-khai.png")
    attachment_id = db.session.scalar(sa.select(Attachment.id))
    before = reload_draft(draft_id).form_data
    posts = {
        f"/dich-vu/{service_id}/nop-ho-so": {},
        f"/ho-so/nhap/{draft_id}": posted(FORM),
        f"/ho-so/nhap/{draft_id}/nop": posted(FORM),
        f"/ho-so/nhap/{draft_id}/tep": {
            "document_key": keys[REQUIRED_DOC],
            "file": (io.BytesIO(pdf_bytes()), "a.pdf"),
        },
        f"/ho-so/nhap/{draft_id}/tep/{attachment_id}/xoa": {},
        f"/ho-so/nhap/{draft_id}/huy": {},
    }
    for url, data in posts.items():
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, url
    draft = reload_draft(draft_id)
    assert draft.state == "draft" and draft.form_data == before
    assert attachments() == 1 and len(files_in(upload_dir)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 1


def test_another_citizen_gets_404_on_every_filing_route_with_the_first_citizens_ids(
    client, app, jobs, upload_dir
):
    service_id, keys = make_filing_service()
    make_citizen()
    sign_in(client)
    filed_id = start_draft(client, service_id)
    attach(client, filed_id, keys[REQUIRED_DOC], pdf_bytes(), "to-khai.pdf")
    submit_form(client, f"/ho-so/nhap/{filed_id}/nop", posted(FORM), get_url=f"/ho-so/nhap/{filed_id}")
    jobs()
    draft_id = start_draft(client, service_id)
    attach(client, draft_id, keys[REQUIRED_DOC], png_bytes(), "to-khai.png")
    attachment_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.dossier_id == draft_id))
    before = reload_draft(draft_id).form_data

    make_citizen(email="an@example.vn", phone="0987654321", full_name="Nguyễn Văn An")
    intruder = app.test_client()
    sign_in(intruder, "an@example.vn")
    token = csrf_token(intruder.get(f"/dich-vu/{service_id}/nop-ho-so").get_data(as_text=True))
    gets = [
        f"/ho-so/nhap/{draft_id}",
        f"/ho-so/nhap/{filed_id}",
        f"/ho-so/{filed_id}/bien-nhan",
        f"/ho-so/{draft_id}/bien-nhan",
    ]
    for url in gets:
        assert intruder.get(url).status_code == 404, url
    posts = {
        f"/ho-so/nhap/{draft_id}": posted({**FORM, "applicant_name": "Kẻ lạ"}),
        f"/ho-so/nhap/{draft_id}/nop": posted(FORM),
        f"/ho-so/nhap/{filed_id}/nop": posted(FORM),
        f"/ho-so/nhap/{draft_id}/tep": {
            "document_key": keys[OPTIONAL_DOC],
            "file": (io.BytesIO(pdf_bytes()), "x.pdf"),
        },
        f"/ho-so/nhap/{draft_id}/tep/{attachment_id}/xoa": {},
        f"/ho-so/nhap/{draft_id}/huy": {},
    }
    for url, data in posts.items():
        response = intruder.post(url, data={**data, "csrf_token": token}, content_type="multipart/form-data")
        assert response.status_code == 404, url
    draft = reload_draft(draft_id)
    assert draft.state == "draft" and draft.form_data == before
    assert attachments() == 2 and len(files_in(upload_dir)) == 2
