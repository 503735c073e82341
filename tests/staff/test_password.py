"""A staff member changes their own password: the citizens' policy, other sessions ended,
this one kept, audited without the password."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.accounts.passwords import verify_password
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.staff.models import StaffSession, StaffUser
from tests.staff.support import PASSWORD, make_staff, next_code, sign_in_staff
from tests.web import submit_form

NEW_PASSWORD = "đèn lồng đỏ bên hồ Gươm 2026"
PAGE = "/quan-tri/mat-khau"


def change(client, current=PASSWORD, new=NEW_PASSWORD, again=None):
    return submit_form(
        client,
        PAGE,
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
    )


def stored_hash(staff) -> str:
    db.session.expire_all()
    return db.session.get(StaffUser, staff.id).password_hash


def open_sessions(staff) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StaffSession)
        .where(StaffSession.staff_id == staff.id, StaffSession.revoked_at.is_(None))
    )


def test_the_password_page_is_linked_from_every_back_office_page(app, client):
    sign_in_staff(client, make_staff("agent"))
    assert f'href="{PAGE}"' in client.get("/quan-tri/").get_data(as_text=True)
    assert client.get(PAGE).status_code == 200


def test_changing_the_password_keeps_this_session_ends_the_others_and_is_audited(app, client):
    staff = make_staff("agent")
    other_browser = app.test_client()
    sign_in_staff(other_browser, staff)
    sign_in_staff(client, staff)
    assert open_sessions(staff) == 2
    response = change(client)
    assert response.status_code == 302
    assert client.get("/quan-tri/").status_code == 200
    gone = other_browser.get("/quan-tri/")
    assert gone.status_code == 302 and "/quan-tri/dang-nhap" in gone.headers["Location"]
    assert open_sessions(staff) == 1
    assert verify_password(stored_hash(staff), NEW_PASSWORD)
    assert not verify_password(stored_hash(staff), PASSWORD)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staff.password_changed"))
    assert entry.actor_id == staff.id and entry.changes == {"other_sessions_ended": 1}
    text = str(entry.serialize())
    assert NEW_PASSWORD not in text and PASSWORD not in text


def test_the_new_password_signs_in_and_the_old_one_no_longer_does(app, client):
    staff = make_staff("supervisor")
    sign_in_staff(client, staff)
    assert change(client).status_code == 302
    fresh = app.test_client()
    old = submit_form(fresh, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert old.status_code == 401
    new = submit_form(fresh, "/quan-tri/dang-nhap", {"email": staff.email, "password": NEW_PASSWORD})
    assert new.status_code == 302
    assert submit_form(fresh, new.headers["Location"], {"code": next_code(staff)}).status_code == 302


def test_a_wrong_current_password_is_refused_next_to_its_field_audited_and_changes_nothing(app, client):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    before = stored_hash(staff)
    response = change(client, current="không phải mật khẩu này")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="current_password-error"' in page
    assert stored_hash(staff) == before and open_sessions(staff) == 1
    actions = list(db.session.scalars(sa.select(AuditEntry.action)))
    assert "staff.password_change_failed" in actions and "staff.password_changed" not in actions


@pytest.mark.parametrize(
    ("new", "again"),
    [
        ("ngắn1", None),  # too short
        ("password123", None),  # common
        ("matkhau2024", None),  # common here
        ("12345678", None),  # a sequence
        ("Nguyễn Văn Hỗ Trợ 99", None),  # their own name
        (PASSWORD, None),  # the same as now
        ("x" * 129, None),  # too long
        (NEW_PASSWORD, NEW_PASSWORD + "!"),  # the two differ
        ("", ""),  # empty
    ],
)
def test_a_new_password_outside_the_policy_is_refused_with_the_reason_next_to_the_field(
    app, client, new, again
):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    before = stored_hash(staff)
    response = change(client, new=new, again=again)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="new_password-error"' in page or 'id="confirm_password-error"' in page
    assert new not in page or not new  # a password is never echoed back
    assert stored_hash(staff) == before
    assert "staff.password_changed" not in list(db.session.scalars(sa.select(AuditEntry.action)))


def test_wrong_current_passwords_are_rate_limited_per_account(limited_app):
    staff = make_staff("agent")
    client = limited_app.test_client()
    sign_in_staff(client, staff)
    codes = [change(client, current=f"sai lần thứ {n}").status_code for n in range(6)]
    assert codes[:5] == [400] * 5 and codes[5] == 429
    assert change(client).status_code == 429
    assert not verify_password(stored_hash(staff), NEW_PASSWORD)


def test_a_form_without_its_csrf_token_changes_nothing(app, client):
    staff = make_staff("agent")
    sign_in_staff(client, staff)
    before = stored_hash(staff)
    response = client.post(
        PAGE,
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 400 and stored_hash(staff) == before


# --------------------------------------------------------- an administrator's reset


def _temporary_password(page: str) -> str:
    import re

    match = re.search(r'id="temporary-password">.*?<code>([^<]+)</code>', page, re.S)
    assert match, "no temporary password on the page"
    return match.group(1)


def test_an_administrators_reset_shows_a_temporary_password_once_and_ends_the_owners_sessions(app, client):
    admin = make_staff("admin")
    agent = make_staff("agent", email="agent@dichvucong.example.vn")
    agent_browser = app.test_client()
    sign_in_staff(agent_browser, agent)
    sign_in_staff(client, admin)
    response = submit_form(
        client,
        f"/quan-tri/nhan-vien/{agent.id}/dat-lai-mat-khau",
        {},
        get_url=f"/quan-tri/nhan-vien/{agent.id}",
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    temporary = _temporary_password(response.get_data(as_text=True))
    assert len(temporary) >= 16
    assert temporary not in client.get(f"/quan-tri/nhan-vien/{agent.id}").get_data(as_text=True)
    assert "/quan-tri/dang-nhap" in agent_browser.get("/quan-tri/").headers["Location"]
    assert open_sessions(agent) == 0
    assert verify_password(stored_hash(agent), temporary) and not verify_password(
        stored_hash(agent), PASSWORD
    )
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "staff.password_reset"))
    assert entry.actor_id == admin.id and entry.target_id == str(agent.id)
    assert temporary not in str(entry.serialize())


def test_a_temporary_password_opens_only_the_password_page_until_it_is_replaced(app, client):
    admin = make_staff("admin")
    agent = make_staff("agent", email="agent@dichvucong.example.vn")
    with app.test_request_context("/"):
        from portal.staff import service

        temporary = service.reset_password(admin, agent.id)
    first = submit_form(client, "/quan-tri/dang-nhap", {"email": agent.email, "password": temporary})
    assert first.status_code == 302
    assert submit_form(client, first.headers["Location"], {"code": next_code(agent)}).status_code == 302
    for path in ("/quan-tri/", "/quan-tri/phan-anh/", "/quan-tri/thong-ke"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(PAGE), path
    assert client.get(PAGE).status_code == 200
    assert change(client, current=temporary).status_code == 302
    assert client.get("/quan-tri/").status_code == 200
    db.session.expire_all()
    assert db.session.get(StaffUser, agent.id).password_must_change is False


def test_an_administrator_resets_their_own_password_on_their_password_page_only(app, client):
    admin = make_staff("admin")
    sign_in_staff(client, admin)
    before = stored_hash(admin)
    response = submit_form(
        client,
        f"/quan-tri/nhan-vien/{admin.id}/dat-lai-mat-khau",
        {},
        get_url=f"/quan-tri/nhan-vien/{admin.id}",
    )
    assert response.status_code == 400 and 'id="temporary-password"' not in response.get_data(as_text=True)
    assert stored_hash(admin) == before
