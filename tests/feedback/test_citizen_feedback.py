"""Citizens send feedback (signed in, or as guests who confirm by e-mail), follow it on its
page, add information and close it."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from portal.dossiers.statuses import aware
from portal.extensions import db
from portal.feedback.models import Ticket, TicketMessage
from portal.workdays import WorkCalendar
from tests.dossiers.support import pdf_bytes
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.feedback.support import FORM, link_in, send_feedback
from tests.web import csrf_token, submit_form

NUMBER = re.compile(r"PA-\d{6}-\d{5}")


def tickets() -> list[Ticket]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Ticket).order_by(Ticket.id)))


def test_a_signed_in_citizen_gets_a_number_a_due_date_a_page_and_an_e_mail(app, client, jobs, smtp):
    user = sign_in_citizen(client)
    response = send_feedback(client)
    assert response.status_code == 302
    [ticket] = tickets()
    assert NUMBER.fullmatch(ticket.number) and ticket.status == "new" and ticket.user_id == user.id
    calendar = WorkCalendar.from_config(app.config)
    assert aware(ticket.due_at) == calendar.due_at(aware(ticket.received_at), 5)  # "dossier": 5 working days
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.number in page and FORM["title"] in page
    jobs()
    [mail] = smtp.to(user.email)
    assert ticket.number in mail["Subject"] + smtp.body(mail)
    assert f"/phan-anh-kien-nghi/{ticket.number}" in smtp.body(mail)


def test_a_guest_confirms_by_e_mail_before_the_desk_sees_the_ticket(app, client, jobs, smtp):
    response = send_feedback(client, contact_email="Khach@Example.vn")
    assert response.status_code == 200
    [ticket] = tickets()
    assert (
        ticket.status == "unconfirmed"
        and ticket.number is None
        and ticket.contact_email == "khach@example.vn"
    )
    jobs()
    confirm = link_in(smtp, "khach@example.vn", "/phan-anh-kien-nghi/xac-nhan")
    # Opening the link (a mail scanner) changes nothing; the button does.
    page = client.get(confirm)
    assert page.status_code == 200 and tickets()[0].status == "unconfirmed"
    done = client.post(confirm, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert done.status_code == 302
    [ticket] = tickets()
    assert ticket.status == "new" and NUMBER.fullmatch(ticket.number) and ticket.due_at is not None
    assert client.get(done.headers["Location"]).status_code == 200
    jobs()
    link = link_in(smtp, "khach@example.vn", f"/phan-anh-kien-nghi/{ticket.number}")
    assert "ma=" in link and app.test_client().get(link).status_code == 200
    # Replayed confirmation: refused, nothing changes.
    again = app.test_client()
    page = again.get(confirm)
    assert (
        again.post(confirm, data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 400
    )
    assert len(tickets()) == 1


def test_a_guest_must_give_an_e_mail_address(app, client):
    response = send_feedback(client)
    assert response.status_code == 400 and tickets() == []


def test_nobody_else_opens_a_ticket_page(app, client, jobs):
    sign_in_citizen(client)
    send_feedback(client)
    [ticket] = tickets()
    stranger = app.test_client()
    assert stranger.get(f"/phan-anh-kien-nghi/{ticket.number}").status_code == 404
    assert stranger.get(f"/phan-anh-kien-nghi/{ticket.number}?ma=doan-bua").status_code == 404
    other = app.test_client()
    sign_in_citizen(other, full_name="Lê Văn Cường", email="cuong@example.vn", phone="0987654321")
    assert other.get(f"/phan-anh-kien-nghi/{ticket.number}").status_code == 404
    assert other.get("/phan-anh-kien-nghi/PA-000000-99999").status_code == 404
    assert other.get("/phan-anh-kien-nghi/" + "x" * 300).status_code == 404


def test_the_citizen_adds_information_and_closes_the_ticket(app, client, jobs):
    sign_in_citizen(client)
    send_feedback(client)
    [ticket] = tickets()
    page = f"/phan-anh-kien-nghi/{ticket.number}"
    response = submit_form(client, f"{page}/bo-sung", {"body": "Mã biên nhận của tôi là 123."}, get_url=page)
    assert response.status_code == 302
    assert [m.body for m in db.session.scalars(sa.select(TicketMessage))] == ["Mã biên nhận của tôi là 123."]
    assert submit_form(client, f"{page}/dong", {}, get_url=page).status_code == 302
    assert tickets()[0].status == "closed"
    # Closed: no more additions; closing again changes nothing.
    token = csrf_token(client.get("/phan-anh-kien-nghi/gui").get_data(as_text=True))
    assert client.post(f"{page}/bo-sung", data={"csrf_token": token, "body": "Thêm nữa"}).status_code == 400
    assert client.post(f"{page}/dong", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketMessage)) == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"category": "other"}, "category"),
        ({"title": ""}, "title"),
        ({"title": "abc"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"content": "ngắn"}, "content"),
        ({"content": "x" * 10_001}, "content"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"dossier_code": "<script>alert(1)</script>"}, "dossier_code"),
        ({"agency_code": "999.99.99.Z99"}, "agency_code"),
    ],
)
def test_malformed_feedback_is_refused_with_a_message_and_nothing_is_written(app, client, changes, field):
    sign_in_citizen(client)
    response = send_feedback(client, **changes)
    assert response.status_code == 400
    assert 'class="form-error"' in response.get_data(as_text=True)
    assert tickets() == []


def test_hostile_text_is_stored_as_text_and_shown_escaped(app, client, jobs):
    sign_in_citizen(client)
    send_feedback(
        client,
        title="<script>alert('x')</script> Hồ sơ",
        content="Nội dung\x00 có ký tự lạ\x07 <b>đậm</b> và dài hơn mười ký tự",
    )
    [ticket] = tickets()
    assert "\x00" not in ticket.content and "\x07" not in ticket.content
    page = client.get(f"/phan-anh-kien-nghi/{ticket.number}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&lt;b&gt;đậm" in page


def test_an_attachment_is_kept_and_a_bad_one_refused_without_leaving_anything(app, client, jobs, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    try:
        sign_in_citizen(client)
        bad = send_feedback(client, attachment=(io.BytesIO(b"MZ\x90\x00 not a document"), "virus.exe"))
        assert bad.status_code == 400 and tickets() == []
        assert [p for p in tmp_path.iterdir()] == []
        big = send_feedback(
            client,
            attachment=(
                io.BytesIO(b"%PDF-1.4" + b"0" * (app.config["UPLOAD_MAX_FILE_BYTES"] + 10)),
                "to.pdf",
            ),
        )
        assert big.status_code in (400, 413) and tickets() == []
        good = send_feedback(client, attachment=(io.BytesIO(pdf_bytes()), "../../etc/đơn.pdf"))
        assert good.status_code == 302
        [ticket] = tickets()
        assert ticket.attachment_name == "đơn.pdf" and (tmp_path / ticket.attachment_stored).exists()
    finally:
        app.config["UPLOAD_DIR"] = None


def test_a_form_without_its_csrf_token_is_refused(app, client):
    sign_in_citizen(client)
    assert client.post("/phan-anh-kien-nghi/gui", data=FORM).status_code == 400
    assert tickets() == []


def test_feedback_is_rate_limited_per_address(limited_app):
    client = limited_app.test_client()
    limited_app.config["FEEDBACK_RATE_LIMIT"] = "2 per hour"
    limited_app.config["JOBS_MODE"] = "inline"
    try:
        answers = [send_feedback(client, contact_email=f"khach{i}@example.vn").status_code for i in range(3)]
    finally:
        limited_app.config["FEEDBACK_RATE_LIMIT"] = "5 per hour"
        limited_app.config["JOBS_MODE"] = "strict"
    assert answers == [200, 200, 429]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2
