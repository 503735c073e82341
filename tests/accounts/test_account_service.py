"""Account operations through the service layer, with mail received by aiosmtpd."""

import re
from datetime import UTC

import pytest
import sqlalchemy as sa

from portal.accounts import service
from portal.accounts.models import AccountToken, User, UserSession
from portal.errors import Forbidden, RateLimited, Unauthorized, ValidationFailed
from portal.extensions import db

GOOD_PASSWORD = "rau muống xào tỏi 2025"


def register(**overrides):
    values = dict(
        full_name="Trần Thị Bình",
        unsafe_email="binh@example.vn",
        unsafe_phone="0912345678",
        unsafe_id_number="038190000001",
        password=GOOD_PASSWORD,
    )
    values.update(overrides)
    service.register(**values)


def link_from(smtp, address, path):
    body = smtp.body(smtp.to(address)[-1])
    match = re.search(r"https?://\S+" + re.escape(path) + r"\?token=(\S+)", body)
    assert match, body
    return match.group(1)


def test_registration_stores_an_argon2id_hash_and_mails_a_verification_link(app, smtp, jobs):
    with app.test_request_context("/"):
        register()
    jobs()
    user = db.session.scalar(sa.select(User))
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in user.password_hash
    assert user.email_verified_at is None
    token = link_from(smtp, "binh@example.vn", "/tai-khoan/xac-nhan-email")
    service.verify_email(token)
    assert db.session.get(User, user.id).email_verified_at is not None


def test_a_verification_link_works_once(app, smtp, jobs):
    with app.test_request_context("/"):
        register()
    jobs()
    token = link_from(smtp, "binh@example.vn", "/tai-khoan/xac-nhan-email")
    service.verify_email(token)
    with pytest.raises(ValidationFailed):
        service.verify_email(token)


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678", "matkhau123", "qwertyuiop", "binh@example.vn", "x" * 129],
)
def test_weak_common_or_personal_passwords_are_refused(app, password):
    with app.test_request_context("/"), pytest.raises(ValidationFailed) as error:
        register(password=password)
    assert any(d["field"] == "password" for d in error.value.details)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_64_character_passphrase_is_accepted(app, jobs):
    with app.test_request_context("/"):
        register(password="một câu rất dài về những cánh đồng lúa xanh mướt ở quê nhà!!")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    "field,value",
    [
        ("unsafe_id_number", "12345"),
        ("unsafe_id_number", "999190000001"),
        ("unsafe_email", "not-an-email"),
        ("unsafe_phone", "12345"),
    ],
)
def test_malformed_contact_details_are_refused_by_field(app, field, value):
    with app.test_request_context("/"), pytest.raises(ValidationFailed) as error:
        register(**{field: value})
    assert error.value.details[0]["field"] == field.removeprefix("unsafe_")


def test_registering_an_existing_email_again_reveals_nothing_and_warns_the_owner(app, smtp, jobs):
    with app.test_request_context("/"):
        register()
        register(unsafe_phone=None, unsafe_id_number=None, full_name="Kẻ Mạo Danh")
    jobs()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    subjects = [str(m["Subject"]) for m in smtp.to("binh@example.vn")]
    assert len(subjects) == 2


def test_sign_in_requires_a_verified_email_then_starts_a_revocable_session(app, smtp, jobs):
    with app.test_request_context("/"):
        register()
    jobs()
    with app.test_request_context("/"):
        with pytest.raises(Forbidden):
            service.sign_in_with_password("binh@example.vn", GOOD_PASSWORD)
    service.verify_email(link_from(smtp, "binh@example.vn", "/tai-khoan/xac-nhan-email"))
    with app.test_request_context("/"):
        user = service.sign_in_with_password("BINH@example.vn ", GOOD_PASSWORD)
        assert user.full_name == "Trần Thị Bình"
    with app.test_request_context("/"):
        assert service.sign_in_with_password("0912345678", GOOD_PASSWORD).id == user.id
    with app.test_request_context("/"):
        assert service.sign_in_with_password("038190000001", GOOD_PASSWORD).id == user.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 3


def test_wrong_password_and_unknown_account_get_the_same_answer(app):
    with app.test_request_context("/"):
        register(unsafe_email=None)
    with app.test_request_context("/"):
        with pytest.raises(Unauthorized) as wrong:
            service.sign_in_with_password("0912345678", "not the password at all")
        with pytest.raises(Unauthorized) as unknown:
            service.sign_in_with_password("0999999999", "not the password at all")
    assert wrong.value.message == unknown.value.message


def test_sign_in_is_rate_limited_per_account(_tmp_root):
    from tests.conftest import _delete_all_rows, make_test_app

    limited = make_test_app(_tmp_root, "accounts-ratelimit", RATELIMIT_ENABLED=True)
    try:
        with limited.app_context():
            with limited.test_request_context("/"):
                register(unsafe_email=None)
            for _ in range(5):
                with limited.test_request_context("/"), pytest.raises(Unauthorized):
                    service.sign_in_with_password("0912345678", "wrong password here")
            # Even the right password is refused now, with a clear answer.
            with limited.test_request_context("/"), pytest.raises(RateLimited):
                service.sign_in_with_password("0912345678", GOOD_PASSWORD)
            # Another account from elsewhere is not affected.
            with limited.test_request_context("/", environ_base={"REMOTE_ADDR": "10.0.0.9"}):
                with pytest.raises(Unauthorized):
                    service.sign_in_with_password("0911111111", "wrong password here")
    finally:
        _delete_all_rows(limited)


def test_password_reset_link_is_single_use_expires_and_signs_out_everywhere(app, smtp, jobs):
    with app.test_request_context("/"):
        register()
    jobs()
    service.verify_email(link_from(smtp, "binh@example.vn", "/tai-khoan/xac-nhan-email"))
    with app.test_request_context("/"):
        service.sign_in_with_password("binh@example.vn", GOOD_PASSWORD)
    with app.test_request_context("/"):
        service.request_password_reset("binh@example.vn")
        service.request_password_reset("nobody@example.vn")  # same outcome, no mail
    jobs()
    token = link_from(smtp, "binh@example.vn", "/tai-khoan/dat-lai-mat-khau")
    service.reset_password(token, "cà phê sữa đá mỗi sáng")
    with pytest.raises(ValidationFailed):
        service.reset_password(token, "cà phê sữa đá mỗi sáng")
    assert all(s.revoked_at is not None for s in db.session.scalars(sa.select(UserSession)))
    assert smtp.to("nobody@example.vn") == []
    # An expired token is refused.
    with app.test_request_context("/"):
        service.request_password_reset("binh@example.vn")
    jobs()
    token = link_from(smtp, "binh@example.vn", "/tai-khoan/dat-lai-mat-khau")
    from datetime import datetime, timedelta

    db.session.execute(sa.update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.session.commit()
    with pytest.raises(ValidationFailed):
        service.reset_password(token, "một mật khẩu mới rất dài")


def test_national_id_sign_in_links_an_existing_account_by_its_verified_id_number(app):
    with app.test_request_context("/"):
        register(unsafe_email=None)
    claims = {"sub": "vneid-123", "name": "TRẦN THỊ BÌNH", "id_number": "038190000001"}
    with app.test_request_context("/"):
        user = service.sign_in_with_identity(issuer="https://id.example.vn", claims=claims)
    assert user.phone == "0912345678"
    with app.test_request_context("/"):
        again = service.sign_in_with_identity(issuer="https://id.example.vn", claims={"sub": "vneid-123"})
    assert again.id == user.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_production_hashes_passwords_with_the_rfc_9106_argon2id_profile(monkeypatch):
    from portal.config import load_config

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/opendvc")
    config = load_config("production")
    assert (config.ARGON2_TIME_COST, config.ARGON2_MEMORY_KIB, config.ARGON2_PARALLELISM) == (3, 65536, 4)
