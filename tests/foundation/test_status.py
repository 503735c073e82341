from unittest import mock

from portal.extensions import db


def test_healthz_answers_ok_without_touching_the_database(client):
    with mock.patch.object(db.session, "execute", side_effect=AssertionError("no DB in healthz")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database_at_the_migration_head(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    if app.config.get("REDIS_URL"):
        assert body["checks"]["redis"] == "ok"


def test_readyz_answers_503_when_the_database_is_behind_the_migrations(client):
    from sqlalchemy import text

    db.session.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"] == "not at migration head"
    finally:
        from portal.status.service import migration_head

        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": migration_head()})
        db.session.commit()


def test_readyz_says_unreachable_without_leaking_the_connection_error(client):
    # Fault injection: no local stand-in for "the database went away" mid-request.
    secret = "postgresql://admin:hunter2@db.internal/opendvc"
    with mock.patch("portal.status.service.db.session.execute", side_effect=RuntimeError(secret)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unreachable"
    assert b"hunter2" not in response.data
