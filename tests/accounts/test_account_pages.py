"""Accounts through their pages: CSRF, verification, sign-in, sessions that really end."""

import re

import pytest
import sqlalchemy as sa
from flask import Response, request

from portal.accounts.models import User, UserSession
from portal.extensions import db
from tests.web import csrf_token, session_cookie, submit_form

PASSWORD = "bánh mì pate trứng ốp la"
EMAIL = "an.nguyen@example.vn"


def register_and_verify(client, smtp, jobs, email=EMAIL, phone="0987654321"):
    response = submit_form(
        client,
        "/tai-khoan/dang-ky",
        {
            "full_name": "Nguyễn Văn An",
            "email": email,
            "phone": phone,
            "id_number": "",
            "password": PASSWORD,
            "accept": "y",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    jobs()
    body = smtp.body(smtp.to(email)[-1])
    path = re.search(r"https?://[^/\s]+(/tai-khoan/xac-nhan-email\?token=\S+)", body).group(1)
    confirm = submit_form(client, path, {})
    assert confirm.status_code == 302


def sign_in(client, identifier=EMAIL, password=PASSWORD, next_url=None):
    url = "/tai-khoan/dang-nhap" + (f"?next={next_url}" if next_url else "")
    return submit_form(client, url, {"identifier": identifier, "password": password})


def test_a_form_posted_without_its_csrf_token_is_refused_and_stores_nothing(client):
    response = client.post(
        "/tai-khoan/dang-ky",
        data={"full_name": "X Y", "email": "x@example.vn", "password": PASSWORD, "accept": "y"},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_register_verify_sign_in_and_see_the_account_page(client, smtp, jobs):
    register_and_verify(client, smtp, jobs)
    response = sign_in(client)
    assert response.status_code == 302
    page = client.get("/tai-khoan")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.get_data(as_text=True)


def test_registration_errors_are_shown_next_to_their_fields(client):
    response = submit_form(
        client,
        "/tai-khoan/dang-ky",
        {
            "full_name": "An",
            "email": "not-an-email",
            "phone": "",
            "id_number": "123",
            "password": "12345678",
            "accept": "y",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and 'id="id_number-error"' in html and 'id="password-error"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_account_pages_redirect_to_sign_in_and_come_back_after(client, smtp, jobs):
    response = client.get("/tai-khoan")
    assert response.status_code == 302
    assert "/tai-khoan/dang-nhap?next=/tai-khoan" in response.headers["Location"]
    register_and_verify(client, smtp, jobs)
    assert sign_in(client, next_url="/tai-khoan").headers["Location"] == "/tai-khoan"


@pytest.mark.parametrize(
    "hostile", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_never_redirects_to_another_site(client, smtp, jobs, hostile):
    register_and_verify(client, smtp, jobs)
    location = sign_in(client, next_url=hostile).headers["Location"]
    assert location == "/"


def test_signing_in_gives_a_new_session_id(client, smtp, jobs, app):
    register_and_verify(client, smtp, jobs)
    client.get("/tai-khoan/dang-nhap")
    before = session_cookie(client, app)
    sign_in(client)
    after = session_cookie(client, app)
    assert before and after and before != after


def test_a_copied_cookie_replayed_after_sign_out_gets_nothing(client, smtp, jobs, app):
    register_and_verify(client, smtp, jobs)
    sign_in(client)
    stolen = session_cookie(client, app)
    page = client.get("/tai-khoan")
    submit_form(client, "/tai-khoan/dang-xuat", {}, get_url="/tai-khoan")
    assert page.status_code == 200
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = thief.get("/tai-khoan")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_sign_out_everywhere_ends_every_other_browser_too(client, smtp, jobs, app):
    register_and_verify(client, smtp, jobs)
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    assert other.get("/tai-khoan").status_code == 200
    submit_form(client, "/tai-khoan/dang-xuat-moi-noi", {}, get_url="/tai-khoan")
    assert other.get("/tai-khoan").status_code == 302
    assert client.get("/tai-khoan").status_code == 302
    live = db.session.scalars(sa.select(UserSession).where(UserSession.revoked_at.is_(None))).all()
    assert live == []


def test_changing_the_password_signs_out_other_browsers_but_not_this_one(client, smtp, jobs, app):
    register_and_verify(client, smtp, jobs)
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    response = submit_form(
        client,
        "/tai-khoan/doi-mat-khau",
        {"current_password": PASSWORD, "new_password": "một mật khẩu mới thật dài"},
    )
    assert response.status_code == 302
    assert client.get("/tai-khoan").status_code == 200
    assert other.get("/tai-khoan").status_code == 302


def test_a_wrong_password_shows_one_message_and_no_session(client, smtp, jobs):
    register_and_verify(client, smtp, jobs)
    response = sign_in(client, password="sai mật khẩu rồi")
    assert response.status_code == 401
    assert client.get("/tai-khoan").status_code == 302


def test_a_replayed_sign_in_form_token_from_another_session_is_refused(client, app):
    page = client.get("/tai-khoan/dang-nhap")
    token = csrf_token(page.get_data(as_text=True))
    stranger = app.test_client()
    response = stranger.post(
        "/tai-khoan/dang-nhap",
        data={"identifier": EMAIL, "password": PASSWORD, "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 400


def test_a_request_that_changes_nothing_in_the_session_never_writes_it_back(client, smtp, jobs, app):
    # The race that cost a citizen a CSRF token: a stylesheet request loads the session, the
    # page request stores its CSRF token, then the stylesheet request ends. Had it written
    # its stale copy back, the form posted next would be refused with 400.
    register_and_verify(client, smtp, jobs)
    sign_in(client)
    interface = app.session_interface
    cookie = session_cookie(client, app)
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/static/css/portal.css", headers={"Cookie": f"{name}={cookie}"}):
        stale = interface.open_session(app, request)
        stale.get("_ut")  # read, as the user loader does
        token = csrf_token(client.get("/tai-khoan").get_data(as_text=True))
        interface.save_session(app, stale, Response())
    response = client.post("/tai-khoan/dang-xuat", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/tai-khoan").status_code == 302  # signed out: the token was still good
