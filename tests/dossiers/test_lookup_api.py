"""The lookup as JSON (POST /api/v1/dossiers/lookup): same answers and limits as the page."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal.dossiers import lookup, queries
from portal.dossiers.statuses import aware, timeliness
from portal.extensions import db
from portal.workdays import VN_TZ as VN
from tests.conftest import _delete_all_rows, make_test_app
from tests.dossiers.conftest import dossier_app_settings
from tests.dossiers.support import freeze, make_filed, make_service, make_user, partner_event, reload

URL = "/api/v1/dossiers/lookup"


@pytest.fixture
def filed(app, jobs):
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    return make_filed(owner, service_id, keys)


def test_the_right_code_and_phone_answer_the_public_status_and_nothing_personal(client, filed):
    response = client.post(URL, json={"code": f" {filed['code']} ", "secret": "+84 912 345 678"})
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {
        "code",
        "procedure_name",
        "agency_name",
        "status",
        "status_name",
        "received_at",
        "due_at",
        "timeliness",
    }
    assert body["code"] == filed["code"] and body["status"] == 1 and body["timeliness"] == "on_time"
    assert body["status_name"] == {"vi": "Mới đăng ký", "en": "Submitted, not yet checked"}
    assert body["agency_name"] == "Bộ Tư pháp"
    assert "0912345678" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Set-Cookie" not in response.headers  # no session, no language cookie


def test_a_wrong_code_and_a_wrong_secret_get_the_identical_404(client, filed):
    answers = [
        client.post(URL, json={"code": filed["code"][:-1] + "9", "secret": "0912345678"}),
        client.post(URL, json={"code": filed["code"], "secret": "0912345679"}),
        client.post(URL, json={"code": filed["code"], "secret": "038190000002"}),
    ]
    assert {r.status_code for r in answers} == {404}
    assert len({r.get_data() for r in answers}) == 1
    assert answers[0].get_json()["errors"][0]["error"] == "NotFound"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "x" * 65, "secret": "0912345678"}, "code"),
        ({"code": "000.00.00.G15-250101-0001", "secret": "9" * 33}, "secret"),
        ({"code": "000.00.00.G15\x00-250101-0001", "secret": "0912345678"}, "code"),
        ({"code": "", "secret": "0912345678"}, "code"),
        ({"code": 12, "secret": "0912345678"}, "code"),
        ({"code": ["a"], "secret": "0912345678"}, "code"),
        ({"code": "000.00.00.G15-250101-0001"}, "secret"),
        ({"code": "a", "secret": "0912345678", "applicant_name": "x"}, "applicant_name"),
    ],
)
def test_malformed_fields_get_a_400_naming_the_field(client, filed, body, field):
    response = client.post(URL, json=body)
    errors = response.get_json()["errors"]
    assert response.status_code == 400
    assert field in {e.get("field") for e in errors} and all(e["error"] == "ValidationError" for e in errors)
    assert "\x00" not in response.get_data(as_text=True)


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b'"code"', b"null", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_gets_a_400(client, filed, raw):
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["error"] in ("ValidationError", "BadRequest")


def test_a_form_post_or_a_query_string_is_not_accepted(client, filed):
    form = client.post(URL, data={"code": filed["code"], "secret": "0912345678"})
    assert form.status_code == 415 and form.get_json()["errors"][0]["error"] == "UnsupportedMediaType"
    query = client.get(f"{URL}?code={filed['code']}&secret=0912345678")
    assert query.status_code == 405


def test_an_oversized_body_gets_a_413(client, filed, app):
    big = b'{"code": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    response = client.post(URL, data=big, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["errors"][0]["error"] == "PayloadTooLarge"


def test_the_api_and_the_page_share_the_per_address_limit(_tmp_root):
    suffix = "lookup-api-limits"
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
            for n in range(10):
                wrong = {"code": f"000.00.00.G15-250101-{n:04d}", "secret": "0912345678"}
                assert client.post(URL, json=wrong).status_code == 404
            limited = client.post(URL, json={"code": code, "secret": "0912345678"})
            assert limited.status_code == 429
            assert limited.get_json()["errors"][0]["error"] == "RateLimited"
            db.session.remove()
    finally:
        _delete_all_rows(app)


def test_the_lookup_judges_on_time_late_paused_and_early_as_the_dossier_page_does(client, filed, monkeypatch):
    dossier_id, code = filed["id"], filed["code"]

    def both() -> tuple[str | None, str | None]:
        answer = client.post(URL, json={"code": code, "secret": "0912345678"}).get_json()["timeliness"]
        return answer, timeliness(reload(dossier_id), lookup.utcnow())

    received = aware(reload(dossier_id).received_at)
    partner_event(dossier_id, 2, received, external_id="a1")
    assert both() == ("on_time", "on_time")
    freeze(monkeypatch, datetime(2099, 1, 1, 9, 0, tzinfo=VN))
    assert both() == ("late", "late")
    partner_event(dossier_id, 5, datetime(2099, 1, 1, 9, 0, tzinfo=VN), external_id="a2")
    assert both() == ("paused", "paused")
    partner_event(dossier_id, 4, datetime(2099, 1, 2, 9, 0, tzinfo=VN), external_id="a3")
    partner_event(dossier_id, 9, datetime(2099, 1, 2, 10, 0, tzinfo=VN), external_id="a4")
    assert both() == ("late", "late")  # judged by when the result was first ready
    row = queries.find_for_lookup(code)
    assert row.finished_at is not None and not row.paused
