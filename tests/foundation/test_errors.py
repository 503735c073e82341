"""One JSON error shape for machines, readable pages for people, nothing internal."""

import pytest
from flask import Blueprint

from portal.errors import Conflict, NotFound, ValidationFailed


def test_unknown_api_route_answers_404_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {
        "status_code": 404,
        "errors": [{"error": "NotFound", "message": response.get_json()["errors"][0]["message"]}],
    }


def test_wrong_method_answers_405_with_allow_in_the_error_shape_for_machines(client):
    response = client.delete("/healthz", headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert "GET" in response.headers.get("Allow", "")
    assert response.get_json()["errors"][0]["error"] == "MethodNotAllowed"


def test_unknown_page_answers_a_readable_404_page(client):
    response = client.get("/khong-co-trang-nay", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"404" in response.data


@pytest.fixture
def failing_app(_tmp_root):
    """A separate app with routes that raise, to prove the handlers (routes added before first request)."""
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "errors")
    bp = Blueprint("boom", __name__)

    @bp.get("/api/v1/boom")
    def boom():
        raise RuntimeError("password=hunter2 at postgresql://admin:hunter2@db/x")

    @bp.get("/boom")
    def boom_page():
        raise RuntimeError("password=hunter2")

    @bp.get("/api/v1/typed/<kind>")
    def typed(kind):
        raise {
            "404": NotFound("no such dossier"),
            "409": Conflict("already paid"),
            "400": ValidationFailed(
                "bad",
                details=[
                    {"error": "ValidationError", "message": "a is bad"},
                    {"error": "ValidationError", "message": "b is bad"},
                ],
            ),
        }[kind]

    @bp.post("/api/v1/echo")
    def echo():
        from flask import request

        return {"size": len(request.get_data())}

    from portal.extensions import csrf
    from portal.security import guard, public_access

    guard(bp, public_access)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_an_unexpected_error_on_the_api_answers_500_and_shows_nothing_internal(failing_app, caplog):
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json() == {
        "status_code": 500,
        "errors": [{"error": "InternalError", "message": "internal error"}],
    }
    assert b"hunter2" not in response.data
    assert any("unhandled error" in r.message for r in caplog.records)


def test_an_unexpected_error_on_a_page_shows_a_readable_page_without_internals(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert b"hunter2" not in response.data
    assert b"Traceback" not in response.data


@pytest.mark.parametrize("kind,status,token", [("404", 404, "NotFound"), ("409", 409, "Conflict")])
def test_typed_errors_map_to_their_status_and_token(failing_app, kind, status, token):
    response = failing_app.test_client().get(f"/api/v1/typed/{kind}")
    assert response.status_code == status
    assert response.get_json()["errors"][0]["error"] == token


def test_validation_errors_list_every_problem(failing_app):
    body = failing_app.test_client().get("/api/v1/typed/400").get_json()
    assert body["status_code"] == 400
    assert [e["message"] for e in body["errors"]] == ["a is bad", "b is bad"]


def test_a_body_over_the_size_limit_is_refused_with_413_before_it_is_read(failing_app):
    failing_app.config["MAX_CONTENT_LENGTH"] = 1024
    response = failing_app.test_client().post(
        "/api/v1/echo", data=b"x" * 2048, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["error"] == "PayloadTooLarge"
    ok = failing_app.test_client().post(
        "/api/v1/echo", data=b"x" * 512, content_type="application/octet-stream"
    )
    assert ok.get_json() == {"size": 512}
