"""Staff sign-in: password then a TOTP code, every time; separate from citizens' sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.staff.models import StaffSession, StaffUser
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.staff.support import PASSWORD, make_staff, next_code, sign_in_staff
from tests.web import csrf_token, submit_form


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_password_alone_does_not_open_the_back_office(app, client):
    staff = make_staff("admin")
    response = submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/quan-tri/xac-thuc")
    page = client.get("/quan-tri/")
    assert page.status_code == 302 and "/quan-tri/dang-nhap" in page.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 0


def test_password_and_code_sign_in_and_are_audited(app, client):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    assert client.get("/quan-tri/").status_code == 200
    assert actions() == ["staff.created", "staff.password_accepted", "staff.signed_in"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staff.signed_in"))
    assert entry.actor_kind == "staff" and entry.actor_id == staff.id and entry.ip_address


def test_a_wrong_password_is_refused_and_audited_even_though_the_operation_rolls_back(app, client):
    staff = make_staff("agent")
    response = submit_form(
        client, "/quan-tri/dang-nhap", {"email": staff.email, "password": "sai mật khẩu rồi"}
    )
    assert response.status_code == 401
    assert "sign_in_failed" in actions()[-1]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staff.sign_in_failed"))
    assert entry.changes == {"email": staff.email} and PASSWORD not in str(entry.serialize())


def test_an_unknown_e_mail_gets_the_same_answer_as_a_wrong_password(app, client):
    make_staff("agent")
    unknown = submit_form(client, "/quan-tri/dang-nhap", {"email": "ai@example.vn", "password": PASSWORD})
    assert unknown.status_code == 401
    assert "The sign-in details are not correct." in unknown.get_data(
        as_text=True
    ) or "không đúng" in unknown.get_data(as_text=True)


def test_a_wrong_code_is_refused_audited_and_gives_no_session(app, client):
    staff = make_staff("agent")
    submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    response = submit_form(
        client, "/quan-tri/xac-thuc", {"code": "000000" if next_code(staff) != "000000" else "111111"}
    )
    assert response.status_code == 401
    assert actions()[-1] == "staff.two_factor_failed"
    assert client.get("/quan-tri/").status_code == 302


def test_a_code_is_accepted_once_only(app, client):
    staff = make_staff("agent")
    code = next_code(staff)
    submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert submit_form(client, "/quan-tri/xac-thuc", {"code": code}).status_code == 302
    other = app.test_client()
    submit_form(other, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert submit_form(other, "/quan-tri/xac-thuc", {"code": code}).status_code == 401


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "9" * 5000, "１２３４５６"])
def test_malformed_codes_are_refused_cleanly(app, client, code):
    staff = make_staff("agent")
    submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    response = submit_form(client, "/quan-tri/xac-thuc", {"code": code})
    assert response.status_code in (200, 401)
    assert client.get("/quan-tri/").status_code == 302


def test_codes_are_rate_limited_per_account(limited_app):
    client = limited_app.test_client()
    staff = make_staff("agent", email=f"totp-{uuid.uuid4().hex[:8]}@example.vn")
    submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    answers = [submit_form(client, "/quan-tri/xac-thuc", {"code": "000001"}).status_code for _ in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    # Even the right code is refused until the limit passes.
    assert submit_form(client, "/quan-tri/xac-thuc", {"code": next_code(staff)}).status_code == 429
    assert client.get("/quan-tri/").status_code == 302


def test_sign_in_is_rate_limited_per_account(limited_app):
    client = limited_app.test_client()
    staff = make_staff("agent", email=f"pw-{uuid.uuid4().hex[:8]}@example.vn")
    answers = [
        submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": "sai"}).status_code
        for _ in range(6)
    ]
    assert answers == [401] * 5 + [429]
    assert (
        submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD}).status_code
        == 429
    )


def test_first_sign_in_enrols_two_factor_before_any_access(app, client):
    staff = make_staff("agent", enrolled=False)
    first = submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert first.headers["Location"].endswith("/quan-tri/kich-hoat-xac-thuc")
    page = client.get("/quan-tri/kich-hoat-xac-thuc").get_data(as_text=True)
    assert "otpauth://totp/" in page
    assert client.get("/quan-tri/").status_code == 302
    assert submit_form(client, "/quan-tri/kich-hoat-xac-thuc", {"code": next_code(staff)}).status_code == 302
    assert client.get("/quan-tri/").status_code == 200
    db.session.refresh(staff)
    assert staff.totp_confirmed_at is not None and "staff.two_factor_enrolled" in actions()


def test_an_enrolled_account_never_sees_its_secret_again(app, client):
    staff = make_staff("agent")
    submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    response = client.get("/quan-tri/kich-hoat-xac-thuc")
    assert response.status_code == 302 and staff.totp_secret not in response.get_data(as_text=True)


def test_a_citizen_session_never_opens_the_back_office(app, client):
    sign_in_citizen(client)
    response = client.get("/quan-tri/")
    assert response.status_code == 302 and "/quan-tri/dang-nhap" in response.headers["Location"]
    assert client.get("/quan-tri/phan-anh/", headers={"Accept": "application/json"}).status_code == 302


def test_a_staff_session_is_not_a_citizen_session(app, client):
    staff = make_staff("admin")
    sign_in_staff(client, staff)
    response = client.get("/tai-khoan")
    assert response.status_code == 302 and "/tai-khoan/dang-nhap" in response.headers["Location"]


def test_signing_in_as_a_citizen_ends_the_staff_session_in_that_browser(app, client):
    staff = make_staff("admin")
    sign_in_staff(client, staff)
    sign_in_citizen(client)
    assert client.get("/quan-tri/").status_code == 302


def test_staff_sessions_end_after_the_idle_timeout_and_the_lifetime(app, client):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    record = db.session.scalar(sa.select(StaffSession))
    record.last_seen_at = record.last_seen_at - timedelta(
        minutes=app.config["STAFF_SESSION_IDLE_MINUTES"] + 1
    )
    db.session.commit()
    assert client.get("/quan-tri/").status_code == 302
    sign_in_staff(client, staff)
    record = db.session.scalar(
        sa.select(StaffSession).where(StaffSession.revoked_at.is_(None)).order_by(StaffSession.id.desc())
    )
    assert record.expires_at - record.created_at == timedelta(
        minutes=app.config["STAFF_SESSION_LIFETIME_MINUTES"]
    )
    assert app.config["STAFF_SESSION_LIFETIME_MINUTES"] < app.config["SESSION_LIFETIME_HOURS"] * 60
    record.expires_at = record.created_at
    db.session.commit()
    assert client.get("/quan-tri/").status_code == 302


def test_sign_out_revokes_the_session_so_a_copied_cookie_is_useless(app, client):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    assert client.post("/quan-tri/dang-xuat", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert thief.get("/quan-tri/").status_code == 302
    assert db.session.scalar(sa.select(StaffSession.revoked_at)) is not None
    assert actions()[-1] == "staff.signed_out"


def test_a_deactivated_account_loses_its_session_at_once(app, client):
    admin = make_staff("admin", email="admin@dichvucong.example.vn")
    agent = make_staff("agent")
    agent_client = app.test_client()
    sign_in_staff(agent_client, agent)
    sign_in_staff(client, admin)
    response = submit_form(client, f"/quan-tri/nhan-vien/{agent.id}", {"role": "agent", "agencies": ""})
    assert response.status_code == 302
    assert agent_client.get("/quan-tri/").status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staff.updated"))
    assert entry.changes == {"is_active": [True, False]} and entry.actor_id == admin.id


def test_forms_without_a_csrf_token_are_refused(app, client):
    staff = make_staff("agent")
    response = client.post("/quan-tri/dang-nhap", data={"email": staff.email, "password": PASSWORD})
    assert response.status_code == 400
    sign_in_staff(client, staff)
    assert client.post("/quan-tri/dang-xuat").status_code == 400
    assert client.get("/quan-tri/").status_code == 200


def test_the_cli_creates_the_first_administrator(app):
    runner = CliRunner()
    from portal.staff.cli import staff_cli

    result = app.test_cli_runner().invoke(
        staff_cli,
        ["create-admin", "--email", "Boss@Example.vn", "--name", "Quản Trị Viên"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    staff = db.session.scalar(sa.select(StaffUser))
    assert staff.email == "boss@example.vn" and staff.role == "admin" and staff.totp_confirmed_at is None
    again = app.test_cli_runner().invoke(
        staff_cli,
        ["create-admin", "--email", "boss@example.vn", "--name", "X Y"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert again.exit_code != 0 and "Error:" in again.output
    weak = app.test_cli_runner().invoke(
        staff_cli,
        ["create", "--email", "a@example.vn", "--name", "A B", "--role", "agency_officer"],
        input="123\n123\n",
    )
    assert weak.exit_code != 0
    assert runner is not None


def test_an_agency_officer_needs_an_agency(app):
    from portal.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        make_staff("agency_officer")
