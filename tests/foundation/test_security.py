"""Security headers, request ids, rate limits, CSRF and production configuration."""

import pytest

from portal.config import ConfigError, load_config


def test_pages_carry_the_security_headers(client):
    headers = client.get("/healthz").headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only in production


def test_production_adds_hsts(monkeypatch, _tmp_root):
    from tests.conftest import make_test_app

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(_tmp_root / "prod.sqlite3"))
    from portal import create_app

    app = create_app(
        "production",
        overrides={
            "INSTANCE_DIR": str(_tmp_root / "prod"),
            "CACHE_DIR": str(_tmp_root / "prod" / "cache"),
            "SESSION_DIR": str(_tmp_root / "prod" / "sessions"),
            "REDIS_URL": None,
        },
    )
    assert make_test_app  # the harness builds test apps; production is built by hand here
    headers = app.test_client().get("/healthz").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_every_response_carries_a_request_id_and_honours_a_safe_incoming_one(client):
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert len(generated) == 16
    assert (
        client.get("/healthz", headers={"X-Request-Id": "lb-123.abc"}).headers["X-Request-Id"] == "lb-123.abc"
    )
    hostile = client.get("/healthz", headers={"X-Request-Id": "<script>" + "a" * 80}).headers["X-Request-Id"]
    assert "<" not in hostile and len(hostile) == 16


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_its_secrets(monkeypatch, missing):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/opendvc")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        load_config("production")


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/opendvc")
    with pytest.raises(ConfigError, match="32"):
        load_config("production")


def test_an_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="PORTAL_ENV"):
        load_config("staging-typo")


def test_postgres_urls_get_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert load_config("testing").SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_rate_limits_answer_429_in_the_error_shape(_tmp_root):
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "ratelimit", RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="3 per minute")
    client = app.test_client()
    statuses = [
        client.get("/tra-cuu-ho-so", headers={"Accept": "application/json"}).status_code for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    body = client.get("/tra-cuu-ho-so", headers={"Accept": "application/json"}).get_json()
    assert body["status_code"] == 429 and body["errors"][0]["error"] == "RateLimited"
    page = client.get("/tra-cuu-ho-so", headers={"Accept": "text/html"})
    assert page.status_code == 429 and page.mimetype == "text/html"
    # Health checks stay reachable for load balancers, and other apps are not affected.
    assert client.get("/healthz").status_code == 200


def test_a_keyed_limit_raises_rate_limited_after_the_allowance(_tmp_root):
    from portal.errors import RateLimited
    from portal.ratelimit import hit
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "ratelimit-keyed", RATELIMIT_ENABLED=True)
    with app.app_context():
        hit("2 per minute", "signin", "user@example.vn")
        hit("2 per minute", "signin", "user@example.vn")
        hit("2 per minute", "signin", "other@example.vn")
        with pytest.raises(RateLimited):
            hit("2 per minute", "signin", "user@example.vn")


def test_several_keys_are_counted_in_one_call_and_a_refusal_stops_at_the_key_over_its_limit(_tmp_root):
    # On the PostgreSQL + Redis run this goes through the pipelined Redis path.
    from portal.errors import RateLimited
    from portal.ratelimit import check, hit_all
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "ratelimit-many", RATELIMIT_ENABLED=True)
    with app.app_context():
        hit_all("2 per minute", ("addr", "1.2.3.4"), ("code", "A"))
        hit_all("2 per minute", ("addr", "1.2.3.4"), ("code", "B"))
        with pytest.raises(RateLimited):
            hit_all("2 per minute", ("addr", "1.2.3.4"), ("code", "C"))  # the address is over
        # ...and the refused attempt did not use up code C's allowance.
        hit_all("2 per minute", ("addr", "5.6.7.8"), ("code", "C"))
        check("2 per minute", "code", "C")
        hit_all("2 per minute", ("addr", "5.6.7.9"), ("code", "C"))
        with pytest.raises(RateLimited):
            check("2 per minute", "code", "C")


def test_the_several_keys_count_survives_redis_losing_its_script(_tmp_root):
    from limits import parse

    from portal.ratelimit import hit_all
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "ratelimit-noscript", RATELIMIT_ENABLED=True)
    with app.app_context():
        storage = app.extensions["portal_limiter"].limiter.storage
        if hasattr(storage, "get_connection"):  # Redis (the embedded run counts in memory)
            storage.get_connection().script_flush()
        hit_all("5 per minute", ("addr", "9.9.9.9"))
        hit_all("5 per minute", ("addr", "9.9.9.9"))
        key = parse("5 per minute").key_for(app.config["RATELIMIT_KEY_PREFIX"], "addr", "9.9.9.9")
        assert storage.get(key) == 2


def test_forms_are_protected_by_csrf(_tmp_root):
    """A POST without the CSRF token is refused with a readable 400 (no route can opt out silently)."""
    from flask import Blueprint

    from portal.security import guard, public_access
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "csrf")
    bp = guard(Blueprint("csrf_probe", __name__), public_access)

    @bp.post("/csrf-probe")
    def probe():
        return "accepted"

    app.register_blueprint(bp)
    response = app.test_client().post("/csrf-probe", data={"x": "1"}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert b"accepted" not in response.data
