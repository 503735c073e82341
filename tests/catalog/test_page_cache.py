"""Whole catalog pages cached for visitors who are not signed in, and the catalog's query
allowance that replaces the default per-request limit on catalog reads."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from services_catalog.models import Procedure
from tests.dossiers.support import make_service
from tests.dossiers.test_following_pages import sign_in_citizen

CODE = "9.000001"
PAGE = f"/thu-tuc/{CODE}"


def _rename(new_name: str) -> None:
    """Change the stored name without an import, so only a fresh render can show it."""
    db.session.execute(sa.update(Procedure).where(Procedure.code == CODE).values(name=new_name))
    db.session.commit()


def test_an_anonymous_visitor_gets_the_same_cached_page_the_first_visitor_got(client, app):
    make_service(code=CODE, name="Cấp bản sao trích lục hộ tịch")
    first = client.get(PAGE)
    _rename("Tên đã đổi mà chưa nhập lại")
    again = app.test_client().get(PAGE)
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    assert "opendvc_session" not in again.headers.get("Set-Cookie", "")


def test_a_signed_in_citizen_gets_a_page_with_their_menu_not_the_cached_anonymous_page(client, app):
    make_service(code=CODE)
    anonymous = app.test_client().get(PAGE).get_data(as_text=True)
    assert "/tai-khoan/dang-nhap" in anonymous
    sign_in_citizen(client)
    mine = client.get(PAGE).get_data(as_text=True)
    assert "/ho-so-cua-toi" in mine or "Hồ sơ của tôi" in mine
    # ... and the anonymous page cached afterwards still has no account in it.
    assert "Hồ sơ của tôi" not in app.test_client().get(PAGE).get_data(as_text=True)


def test_the_cached_page_is_kept_per_language(client, app):
    make_service(code=CODE)
    english = app.test_client().get(PAGE + "?lang=en").get_data(as_text=True)
    vietnamese = app.test_client().get(PAGE).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="vi"' in vietnamese


def test_other_query_arguments_are_rendered_for_that_request_and_never_reach_the_cache(client, app):
    make_service(code=CODE)
    hostile = app.test_client().get(PAGE + "?utm_x=%3Cscript%3Ex%3C%2Fscript%3E")
    assert hostile.status_code == 200 and "<script>x" not in hostile.get_data(as_text=True)
    assert "utm_x" in hostile.get_data(as_text=True)  # its language links keep its arguments
    plain = app.test_client().get(PAGE).get_data(as_text=True)
    assert "utm_x" not in plain


def test_an_unknown_code_is_a_404_page_and_is_not_cached_as_a_page(client, app):
    make_service(code=CODE)
    assert client.get("/thu-tuc/9.999999").status_code == 404
    assert client.get("/thu-tuc/9.999999").status_code == 404
    assert client.get(PAGE).status_code == 200
    pages = [key for key in app.extensions["portal_cache_local"].texts if ":page:vi:procedure:" in key]
    assert any(key.endswith(CODE) for key in pages)  # a found page is kept ...
    assert not any(key.endswith("9.999999") for key in pages)  # ... a 404 is not


def test_cached_catalog_reads_are_free_and_uncached_ones_count_against_the_allowance(_tmp_root):
    from tests.conftest import make_test_app

    app = make_test_app(
        _tmp_root, "catalog-allowance", RATELIMIT_ENABLED=True, CATALOG_QUERY_LIMIT="3 per minute"
    )
    with app.app_context():
        make_service(code=CODE)
        client = app.test_client()
        # One uncached search, then the same answer many times over: one query counted.
        for _ in range(20):
            assert client.get("/api/v1/procedures?q=trich+luc").status_code == 200
        assert client.get("/api/v1/procedures?q=ho+tich").status_code == 200
        assert client.get("/api/v1/procedures?q=ban+sao").status_code == 200
        limited = client.get("/api/v1/procedures?q=cap+ban")
        assert limited.status_code == 429
        assert limited.get_json()["errors"][0]["error"] == "RateLimited"
        # What the cache already holds is still served.
        assert client.get("/api/v1/procedures?q=trich+luc").status_code == 200
        page = client.get("/thu-tuc?q=cap+moi", headers={"Accept": "text/html"})
        assert page.status_code == 429 and page.mimetype == "text/html"
