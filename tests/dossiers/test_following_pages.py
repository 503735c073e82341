"""Following dossiers through the pages: My dossiers, a dossier's page, the citizen's actions, downloads.

Pages speak Vietnamese by default; tests that read this feature's own sentences ask for
English (``lang`` cookie) so they do not depend on translations still being merged. Status
words and the service's messages are checked in Vietnamese.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.db import transactional, utcnow
from portal.dossiers import queries, service
from portal.dossiers.models import Attachment, Dossier, DossierEvent, Rating
from portal.extensions import db
from tests.dossiers.support import (
    exe_bytes,
    freeze,
    make_draft,
    make_filed,
    make_service,
    make_user,
    partner_event,
    pdf_bytes,
    png_bytes,
    reload,
    required_key,
)
from tests.web import csrf_token, submit_form

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "bánh mì pate trứng ốp la"


def sign_in_citizen(client, **user_fields) -> User:
    """A citizen with a confirmed e-mail and a password, signed in on ``client`` through the sign-in page."""
    user = make_user(**user_fields)
    user.password_hash = hash_password(PASSWORD)
    user.email_verified_at = utcnow()
    db.session.commit()
    response = submit_form(client, "/tai-khoan/dang-nhap", {"identifier": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return user


def in_english(client) -> None:
    client.set_cookie("lang", "en")


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """POST a form of ``page`` (default: the dossier page the action belongs to) with its CSRF token."""
    page = page or re.sub(r"/(rut|bo-sung|bo-sung/xong|danh-gia)$", "", url)
    html = text(client.get(page))
    # A closed dossier's page has no form left: any page's token of this session will do.
    token = csrf_token(html if "csrf_token" in html else text(client.get("/tra-cuu-ho-so")))
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


@transactional
def counter_dossier(*, code: str, id_number: str, status: int = 4, received: datetime | None = None) -> int:
    """A dossier filed at a counter, as partner sync records it (fast: no files, no mail)."""
    received = received or datetime(2025, 3, 3, 8, 0, tzinfo=VN)
    dossier = Dossier(
        state="filed",
        channel=1,
        code=code,
        procedure_code="1.001193",
        agency_code="000.00.15.H56",
        applicant_name="Trần Thị Bình",
        applicant_id_number=id_number,
        received_at=received,
        due_at=received + timedelta(days=7),
    )
    db.session.add(dossier)
    db.session.flush()
    service.apply_status(
        dossier, status, occurred_at=received, source="partner:H56", external_id=code, notify=False
    )
    return dossier.id


@pytest.fixture
def citizen(client, app, jobs, monkeypatch):
    """A signed-in citizen with one dossier filed on Monday 3 March 2025 at 09:00, due in five working days."""
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    user = sign_in_citizen(client)
    service_id, keys = make_service(processing_days=5)
    filed = make_filed(user, service_id, keys)
    return {
        "user": user,
        "service_id": service_id,
        "keys": keys,
        "id": filed["id"],
        "code": filed["code"],
        "url": f"/ho-so/{filed['id']}",
    }


# -------------------------------------------------------------------------------- my dossiers


def test_my_dossiers_lists_filed_dossiers_in_words_and_drafts_apart_but_not_another_citizens(client, citizen):
    draft_id = make_draft(citizen["user"], citizen["service_id"])
    partner_event(citizen["id"], 2, datetime(2025, 3, 3, 14, 0, tzinfo=VN))
    stranger = make_user(full_name="Người Khác", email="khac@example.vn", phone="0987654321")
    other = make_filed(stranger, citizen["service_id"], citizen["keys"])

    response = client.get("/ho-so")
    assert response.status_code == 200
    html = text(response)
    assert citizen["code"] in html and f'href="/ho-so/{citizen["id"]}"' in html
    assert other["code"] not in html and f'href="/ho-so/{other["id"]}"' not in html
    item = html.split(citizen["code"], 1)[1]
    assert "Cấp bản sao trích lục hộ tịch" in item and "Bộ Tư pháp" in item
    assert "Được tiếp nhận" in item  # the national status in words
    assert "03/03/2025 09:00" in item and "10/03/2025 17:00" in item  # received, due (Vietnam time)
    assert "badge--on-time" in item
    assert f'href="/ho-so/nhap/{draft_id}"' in html.split('id="filed-title"')[0]  # drafts listed apart


def test_my_dossiers_filters_by_status_searches_by_code_and_pages(client, app, jobs):
    sign_in_citizen(client, id_number="038190000001", verified_id=True)
    for n in range(1, 23):
        counter_dossier(
            code=f"000.00.15.H56-250303-{n:04d}",
            id_number="038190000001",
            status=9 if n == 7 else 4,
            received=datetime(2025, 3, 3, 8, 0, tzinfo=VN) + timedelta(minutes=n),
        )

    first = text(client.get("/ho-so"))
    assert first.count('class="dossier-item"') == 20
    assert "000.00.15.H56-250303-0022" in first and "000.00.15.H56-250303-0002" not in first  # newest first
    assert 'href="/ho-so?page=2"' in first
    second = text(client.get("/ho-so?page=2"))
    assert second.count('class="dossier-item"') == 2 and "000.00.15.H56-250303-0001" in second

    by_status = text(client.get("/ho-so?status=9"))
    assert by_status.count('class="dossier-item"') == 1 and "000.00.15.H56-250303-0007" in by_status
    assert '<option selected value="9">' in by_status

    by_code = text(client.get("/ho-so?q=250303-0013"))
    assert by_code.count('class="dossier-item"') == 1 and "000.00.15.H56-250303-0013" in by_code
    assert client.get("/ho-so?q=%25").get_data(as_text=True).count('class="dossier-item"') == 0

    many = [
        counter_dossier(code=f"000.00.15.H56-250304-{n:04d}", id_number="038190000001", status=9)
        for n in range(1, 22)
    ]
    pages = text(client.get("/ho-so?status=9&q=H56"))
    assert len(many) == 21 and 'href="/ho-so?page=2&amp;status=9&amp;q=H56"' in pages  # filters kept


@pytest.mark.parametrize(
    "query", ["status=11", "status=abc", "page=0", "page=x", "q=" + "9" * 65, "q=ab%00cd"]
)
def test_my_dossiers_with_bad_filters_answers_a_readable_400(client, app, query):
    sign_in_citizen(client)
    response = client.get(f"/ho-so?{query}")
    assert response.status_code == 400
    assert 'class="alert alert--error"' in text(response) and 'href="/ho-so"' in text(response)


def test_pages_of_dossiers_send_visitors_who_are_not_signed_in_to_sign_in_and_back(client, app):
    for path in ("/ho-so", "/ho-so/1", "/ho-so/tep/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/tai-khoan/dang-nhap?next={path}")


def test_the_menu_links_my_dossiers_when_signed_in_and_lookup_for_everyone(client, app):
    assert 'href="/tra-cuu-ho-so"' in text(client.get("/"))
    assert 'href="/ho-so"' not in text(client.get("/"))
    sign_in_citizen(client)
    home = text(client.get("/"))
    assert 'href="/ho-so"' in home and 'href="/tra-cuu-ho-so"' in home


# ---------------------------------------------------------------------------- one dossier


def test_the_dossier_page_shows_every_event_in_vietnam_time_with_pauses_and_the_moved_due_date(
    client, citizen, monkeypatch
):
    dossier_id = citizen["id"]
    partner_event(
        dossier_id,
        2,
        datetime(2025, 3, 3, 14, 0, tzinfo=VN),
        external_id="e1",
        handler={"name": "Nguyễn Văn A", "unit": "Phòng Tư pháp"},
        note="Tiếp nhận hồ sơ",
    )
    partner_event(
        dossier_id,
        6,
        datetime(2025, 3, 4, 9, 0, tzinfo=VN),
        external_id="e2",
        note="Nộp lệ phí <b>8.000 đồng</b>",
    )
    partner_event(dossier_id, 4, datetime(2025, 3, 6, 9, 0, tzinfo=VN), external_id="e3")
    freeze(monkeypatch, datetime(2025, 3, 7, 9, 0, tzinfo=VN))

    html = text(client.get(citizen["url"]))
    timeline = html.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    statuses = re.findall(r'class="timeline__status">([^<]+)<', timeline)
    assert statuses == ["Mới đăng ký", "Được tiếp nhận", "Yêu cầu thực hiện nghĩa vụ tài chính", "Đang xử lý"]
    assert "03/03/2025 14:00" in timeline and "Phòng Tư pháp" in timeline and "Tiếp nhận hồ sơ" in timeline
    assert "Nguyễn Văn A" not in html  # the officer's name stays with the agency
    assert "Nộp lệ phí &lt;b&gt;8.000 đồng&lt;/b&gt;" in timeline  # a partner's note is text, never markup
    pauses = html.split('class="pauses"', 1)[1].split("</ul>", 1)[0]
    assert (
        "04/03/2025 09:00" in pauses
        and "06/03/2025 09:00" in pauses
        and "Yêu cầu thực hiện nghĩa vụ tài chính" in pauses
    )
    summary = html.split('class="summary"', 1)[1].split("</dl>", 1)[0]
    assert "12/03/2025 17:00" in summary  # due date moved by two working days
    assert "<s><time" in summary and "10/03/2025 17:00" in summary  # the first one kept
    assert "badge--on-time" in html

    freeze(monkeypatch, datetime(2025, 3, 13, 9, 0, tzinfo=VN))
    assert "badge--late" in text(client.get(citizen["url"]))
    partner_event(dossier_id, 5, datetime(2025, 3, 13, 10, 0, tzinfo=VN), external_id="e4")
    assert "badge--paused" in text(client.get(citizen["url"]))


def test_a_dossier_finished_before_its_due_date_is_shown_early(client, citizen):
    partner_event(citizen["id"], 9, datetime(2025, 3, 5, 9, 0, tzinfo=VN))
    html = text(client.get(citizen["url"]))
    assert "badge--early" in html and "Đã xử lý xong" in html


def test_unknown_ids_and_drafts_are_not_dossier_pages(client, citizen):
    draft_id = make_draft(citizen["user"], citizen["service_id"])
    for path in (f"/ho-so/{draft_id}", "/ho-so/999999", "/ho-so/tep/999999", "/ho-so/99999999999999999999"):
        assert client.get(path).status_code == 404, path


# --------------------------------------------------------------------------------- withdrawal


def test_a_withdrawal_needs_a_reason_and_a_confirmation_then_closes_the_dossier(client, citizen):
    in_english(client)
    url = citizen["url"] + "/rut"

    no_reason = post(client, url, {"reason": "  ", "confirm": "y"})
    assert no_reason.status_code == 400 and 'id="reason-error"' in text(no_reason)
    not_confirmed = post(client, url, {"reason": "Tôi nộp nhầm thủ tục."})
    assert not_confirmed.status_code == 400 and 'id="confirm-error"' in text(not_confirmed)
    assert "Tôi nộp nhầm thủ tục." in text(not_confirmed)  # what was typed is kept
    nul = post(client, url, {"reason": "Nhầm\x00", "confirm": "y"})
    assert nul.status_code == 400 and 'id="reason-error"' in text(nul)
    assert reload(citizen["id"]).status == 1

    done = post(client, url, {"reason": "Tôi nộp nhầm thủ tục.", "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"] == citizen["url"]
    page = text(client.get(citizen["url"]))
    assert "Your dossier is withdrawn." in page
    assert "Withdrawn by the citizen" in page and f'action="/ho-so/{citizen["id"]}/rut"' not in page
    dossier = reload(citizen["id"])
    assert dossier.status == 7
    last = db.session.scalars(
        sa.select(DossierEvent)
        .where(DossierEvent.dossier_id == citizen["id"])
        .order_by(DossierEvent.id.desc())
    ).first()
    assert (last.source, last.note) == ("citizen", "Tôi nộp nhầm thủ tục.")

    again = post(client, url, {"reason": "Lần nữa", "confirm": "y"})
    assert again.status_code == 409
    assert "This dossier is closed: its status can no longer change." in text(again)


# --------------------------------------------------------------------------------- supplement


def test_a_supplement_sent_from_the_page_resumes_the_clock_with_a_new_due_date_and_keeps_the_first(
    client, citizen, monkeypatch, upload_dir
):
    dossier_id, key = citizen["id"], required_key(citizen["keys"])
    partner_event(dossier_id, 2, datetime(2025, 3, 3, 14, 0, tzinfo=VN))
    partner_event(dossier_id, 5, datetime(2025, 3, 4, 10, 0, tzinfo=VN), note="Bổ sung tờ khai có chữ ký")
    page = text(client.get(citizen["url"]))
    assert "Bổ sung tờ khai có chữ ký" in page.split('id="supplement"', 1)[1]
    assert f'name="doc-{key}"' in page and 'enctype="multipart/form-data"' in page

    nothing = post(client, citizen["url"] + "/bo-sung/xong")
    assert nothing.status_code == 400
    assert "Hãy đính kèm" in text(nothing) or "Attach the requested documents" in text(nothing)

    renamed_program = post(
        client, citizen["url"] + "/bo-sung", {f"doc-{key}": (io.BytesIO(exe_bytes()), "to-khai.pdf")}
    )
    assert renamed_program.status_code == 400 and 'role="alert"' in text(renamed_program)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Attachment).where(Attachment.kind == "supplement")
        )
        == 0
    )

    freeze(monkeypatch, datetime(2025, 3, 6, 10, 0, tzinfo=VN))  # two working days later
    uploaded = post(
        client, citizen["url"] + "/bo-sung", {f"doc-{key}": (io.BytesIO(png_bytes()), "tờ khai ký.png")}
    )
    assert uploaded.status_code == 302 and uploaded.headers["Location"].endswith("#supplement")
    listed = text(client.get(citizen["url"])).split('id="supplement"', 1)[1]
    assert "tờ khai ký.png" in listed

    sent = post(client, citizen["url"] + "/bo-sung/xong")
    assert sent.status_code == 302
    html = text(client.get(citizen["url"]))
    assert 'id="supplement"' not in html
    summary = html.split('class="summary"', 1)[1].split("</dl>", 1)[0]
    assert "Đang xử lý" in summary
    assert "12/03/2025 17:00" in summary and "<s><time" in summary and "10/03/2025 17:00" in summary
    dossier = reload(dossier_id)
    assert dossier.status == 4 and dossier.due_at != dossier.original_due_at


def test_supplement_files_are_refused_when_no_supplement_was_requested(client, citizen):
    key = required_key(citizen["keys"])
    response = post(client, citizen["url"] + "/bo-sung", {f"doc-{key}": (io.BytesIO(pdf_bytes()), "a.pdf")})
    assert response.status_code == 409
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Attachment).where(Attachment.kind == "supplement")
        )
        == 0
    )


# ----------------------------------------------------------------------------------- rating


def test_a_delivered_dossier_can_be_rated_once_with_radio_buttons_in_a_fieldset(client, citizen):
    in_english(client)
    early = post(client, citizen["url"] + "/danh-gia", {"value": "satisfied"})
    assert early.status_code == 409 and "once its result has been delivered" in text(early)
    assert 'name="value"' not in text(client.get(citizen["url"]))

    partner_event(citizen["id"], 10, datetime(2025, 3, 7, 9, 0, tzinfo=VN))
    form = text(client.get(citizen["url"])).split('id="rating"', 1)[1]
    fieldset = form.split("<fieldset", 1)[1].split("</fieldset>", 1)[0]
    assert "<legend" in fieldset
    assert re.findall(r'type="radio" value="(\w+)"', fieldset) == [
        "very_satisfied",
        "satisfied",
        "not_satisfied",
    ]

    unchosen = post(client, citizen["url"] + "/danh-gia", {"comment": "Nhanh"})
    assert unchosen.status_code == 400 and 'id="value-error"' in text(unchosen)
    forged = post(client, citizen["url"] + "/danh-gia", {"value": "delighted"})
    assert forged.status_code == 400

    rated = post(
        client, citizen["url"] + "/danh-gia", {"value": "very_satisfied", "comment": "Cán bộ nhiệt tình."}
    )
    assert rated.status_code == 302
    page = text(client.get(citizen["url"]))
    assert "Thank you for rating this dossier." in page
    assert "Very satisfied" in page and "Cán bộ nhiệt tình." in page and 'name="value"' not in page

    twice = post(client, citizen["url"] + "/danh-gia", {"value": "not_satisfied"})
    assert twice.status_code == 409 and "You have already rated this dossier." in text(twice)
    ratings = db.session.scalars(sa.select(Rating)).all()
    assert [(r.value, r.comment) for r in ratings] == [("very_satisfied", "Cán bộ nhiệt tình.")]


# --------------------------------------------------------------------------------- downloads


def test_a_file_downloads_as_an_attachment_with_its_vietnamese_name_and_headers_that_keep_it_inert(
    client, citizen, upload_dir
):
    user, service_id, keys = citizen["user"], citizen["service_id"], citizen["keys"]
    draft_id = service.create_draft(user, service_id)
    from tests.dossiers.support import FORM, upload

    service.save_draft(user, draft_id, FORM)
    service.add_attachment(user, draft_id, required_key(keys), upload(pdf_bytes(), "Tờ khai đã ký.pdf"))
    service.submit(user, draft_id)
    detail = queries.get_dossier_for_owner(user, draft_id)
    attachment = detail["documents"][0]["attachments"][0]
    assert f'href="/ho-so/tep/{attachment["id"]}"' in text(client.get(f"/ho-so/{draft_id}"))

    response = client.get(f"/ho-so/tep/{attachment['id']}")
    assert response.status_code == 200
    assert response.data == pdf_bytes()
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="To khai da ky.pdf"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == "Tờ khai đã ký.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_draft_file_downloads_for_its_owner_with_its_stored_content_type(client, citizen, upload_dir):
    draft_id = make_draft(
        citizen["user"], citizen["service_id"], files={required_key(citizen["keys"]): png_bytes()}
    )
    attachment_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.dossier_id == draft_id))
    response = client.get(f"/ho-so/tep/{attachment_id}")
    assert response.status_code == 200 and response.data == png_bytes()
    assert response.headers["Content-Type"] == "image/png"


# ---------------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("action", ["rut", "bo-sung", "bo-sung/xong", "danh-gia"])
def test_an_action_posted_without_its_csrf_token_is_refused_and_changes_nothing(client, citizen, action):
    partner_event(citizen["id"], 5, datetime(2025, 3, 4, 10, 0, tzinfo=VN))
    before = (
        reload(citizen["id"]).status,
        db.session.scalar(sa.select(sa.func.count()).select_from(DossierEvent)),
    )
    data = {
        "reason": "Nhầm",
        "confirm": "y",
        "value": "satisfied",
        f"doc-{required_key(citizen['keys'])}": (io.BytesIO(pdf_bytes()), "a.pdf"),
    }
    response = client.post(f"{citizen['url']}/{action}", data=data)
    assert response.status_code == 400
    forged = client.post(
        f"{citizen['url']}/{action}",
        data={
            **data,
            "csrf_token": "forged",
            f"doc-{required_key(citizen['keys'])}": (io.BytesIO(pdf_bytes()), "a.pdf"),
        },
    )
    assert forged.status_code == 400
    after = (
        reload(citizen["id"]).status,
        db.session.scalar(sa.select(sa.func.count()).select_from(DossierEvent)),
    )
    assert after == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1  # only the filed one
