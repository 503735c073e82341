"""Sign-in with the national identity provider, against oidc-provider-mock on loopback."""

from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from portal.accounts.models import IdentityLink, User
from portal.accounts.oidc import register_provider
from portal.extensions import db
from tests.web import submit_form


@pytest.fixture
def provider(app):
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        issuer = f"http://localhost:{server.server_port}"
        app.config.update(OIDC_ISSUER=issuer, OIDC_CLIENT_ID="opendvc", OIDC_CLIENT_SECRET="test-secret")
        register_provider(app)
        try:
            yield issuer
        finally:
            app.config["OIDC_ISSUER"] = None


def national_id_sign_in(client, issuer, sub, claims, next_url="/tai-khoan"):
    requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()
    start = client.get(f"/tai-khoan/dang-nhap/dinh-danh?next={next_url}")
    assert start.status_code == 302 and start.headers["Location"].startswith(issuer)
    answer = requests.post(start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = urlsplit(answer.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_the_sign_in_page_offers_the_national_id_when_configured(client, provider):
    assert "/tai-khoan/dang-nhap/dinh-danh" in client.get("/tai-khoan/dang-nhap").get_data(as_text=True)


def test_a_first_national_id_sign_in_creates_the_account_and_signs_in(client, provider):
    response = national_id_sign_in(
        client,
        provider,
        "vneid-0001",
        {
            "name": "Lê Thị Cúc",
            "id_number": "001190000123",
            "email": "cuc@example.vn",
            "email_verified": True,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/tai-khoan"
    page = client.get("/tai-khoan")
    assert page.status_code == 200 and "Lê Thị Cúc" in page.get_data(as_text=True)
    user = db.session.scalar(sa.select(User))
    assert (user.id_number, user.email, user.password_hash) == ("001190000123", "cuc@example.vn", None)
    assert user.email_verified_at is not None


def test_a_national_id_sign_in_links_the_account_with_the_same_verified_id_number(client, app, provider):
    submit_form(
        client,
        "/tai-khoan/dang-ky",
        {
            "full_name": "Lê Thị Cúc",
            "email": "",
            "phone": "0901234567",
            "id_number": "001190000123",
            "password": "hoa sen nở giữa hồ",
            "accept": "y",
        },
    )
    national_id_sign_in(client, provider, "vneid-0002", {"name": "LE THI CUC", "id_number": "001190000123"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    link = db.session.scalar(sa.select(IdentityLink))
    assert (link.issuer, link.subject) == (provider, "vneid-0002")
    # The second time the link is found by its subject.
    other = app.test_client()
    national_id_sign_in(other, provider, "vneid-0002", {"name": "LE THI CUC"})
    assert other.get("/tai-khoan").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityLink)) == 1


def test_an_unverified_email_claim_never_takes_over_an_existing_account(client, provider, jobs):
    submit_form(
        client,
        "/tai-khoan/dang-ky",
        {
            "full_name": "Chủ Thật",
            "email": "owner@example.vn",
            "phone": "",
            "id_number": "",
            "password": "hoa sen nở giữa hồ",
            "accept": "y",
        },
    )
    national_id_sign_in(
        client,
        provider,
        "vneid-evil",
        {"name": "Kẻ Giả", "email": "owner@example.vn", "email_verified": False},
    )
    owner = db.session.scalar(sa.select(User).where(User.email == "owner@example.vn"))
    assert owner.identities == []


def test_next_after_national_id_sign_in_stays_on_the_portal(client, provider):
    response = national_id_sign_in(
        client, provider, "vneid-0003", {"name": "A B"}, next_url="//evil.example/"
    )
    assert response.headers["Location"] == "/"


def test_a_callback_with_a_forged_state_is_refused_and_signs_nobody_in(client, provider):
    client.get("/tai-khoan/dang-nhap/dinh-danh")
    response = client.get("/tai-khoan/dang-nhap/dinh-danh/callback?code=abc&state=forged")
    assert response.status_code == 401
    assert client.get("/tai-khoan").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_denied_consent_answers_clearly(client, provider):
    response = client.get("/tai-khoan/dang-nhap/dinh-danh/callback?error=access_denied&state=x")
    assert response.status_code == 401
