"""The public lookup page: a dossier's status for its code and the applicant's phone or ID number."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from tests.conftest import _delete_all_rows, make_test_app
from tests.dossiers.conftest import dossier_app_settings
from tests.dossiers.support import make_filed, make_service, make_user
from tests.web import csrf_token

NOT_FOUND_VI = "Không có hồ sơ nào khớp với mã hồ sơ và số điện thoại hoặc số định danh này."


@pytest.fixture
def filed_code(app, jobs):
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    return make_filed(owner, service_id, keys)["code"]


def look_up(client, code, secret, **kwargs):
    token = csrf_token(client.get("/tra-cuu-ho-so").get_data(as_text=True))
    return client.post("/tra-cuu-ho-so", data={"code": code, "secret": secret, "csrf_token": token}, **kwargs)


def without_form_values(html: str) -> str:
    """The page without what differs by design: the CSRF token and the values typed back."""
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_the_lookup_page_shows_a_form_with_labels_and_a_csrf_token(client, app):
    response = client.get("/tra-cuu-ho-so")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        '<label class="form-label" for="code">' in html and '<label class="form-label" for="secret">' in html
    )
    assert csrf_token(html)


@pytest.mark.parametrize("secret", ["0912345678", "+84 912 345 678", "038190000001"])
def test_the_right_code_with_the_phone_or_id_number_shows_the_status_and_nothing_personal(
    client, filed_code, secret
):
    response = look_up(client, f" {filed_code} ", secret)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    result = html.split('class="lookup-result"', 1)[1]
    assert filed_code in result and "Mới đăng ký" in result
    assert "Cấp bản sao trích lục hộ tịch" in result and "Bộ Tư pháp" in result
    assert "0912345678" not in html and "038190000001" not in html and "Trần Thị Bình" not in html
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_wrong_code_and_a_wrong_secret_get_the_identical_page(client, filed_code):
    wrong_code = look_up(client, filed_code[:-1] + "9", "0912345678")
    wrong_secret = look_up(client, filed_code, "0912345679")
    wrong_id = look_up(client, filed_code, "038190000002")
    assert wrong_code.status_code == wrong_secret.status_code == wrong_id.status_code == 404
    pages = {without_form_values(r.get_data(as_text=True)) for r in (wrong_code, wrong_secret, wrong_id)}
    assert len(pages) == 1
    (page,) = pages
    assert NOT_FOUND_VI in page and 'role="alert"' in page
    assert "0912345679" not in wrong_secret.get_data(as_text=True)  # the secret is not written back


def test_a_lookup_without_its_csrf_token_is_refused(client, filed_code):
    response = client.post("/tra-cuu-ho-so", data={"code": filed_code, "secret": "0912345678"})
    assert response.status_code == 400
    assert filed_code not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("code", "secret"),
    [
        ("x" * 10_000, "0912345678"),
        ("000.00.00.G15-250101-0001", "9" * 10_000),
        ("000.00.00.G15\x00-250101-0001", "0912345678"),
        ("000.00.00.G15-250101-0001", "0912\x00345678"),
        ("", ""),
    ],
)
def test_oversized_or_control_character_input_gets_a_readable_400(client, filed_code, code, secret):
    response = look_up(client, code, secret)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="form-error"' in html and 'aria-invalid="true"' in html
    assert "\x00" not in html


@pytest.mark.parametrize("code", ['"><script>alert(1)</script>', "' OR '1'='1", "%_%", "ÁÀẢÃẠ 中文 🙂"])
def test_quotes_markup_and_wildcards_are_just_an_unknown_code(client, filed_code, code):
    response = look_up(client, code, "0912345678")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and NOT_FOUND_VI in html
    assert "<script>alert(1)" not in html


def test_too_many_lookups_get_the_429_page(_tmp_root):
    suffix = "lookup-pages-limits"
    app = make_test_app(
        _tmp_root,
        suffix,
        RATELIMIT_ENABLED=True,
        JOBS_MODE="inline",
        **dossier_app_settings(_tmp_root, suffix),
    )
    try:
        with app.app_context():
            code = make_filed(make_user(), *make_service())["code"]
            client = app.test_client()
            for _ in range(10):
                assert look_up(client, "000.00.00.G15-250101-9999", "0912345678").status_code == 404
            limited = look_up(client, code, "0912345678")  # even the right answer, from this address
            html = limited.get_data(as_text=True)
            assert limited.status_code == 429
            assert 'role="alert"' in html and 'name="code"' in html and 'class="lookup-result"' not in html
            db.session.remove()
    finally:
        _delete_all_rows(app)
