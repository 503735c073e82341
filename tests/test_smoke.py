def test_healthz_answers_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_catalog_app_holds_the_bundled_procedures(catalog_client):
    import sqlalchemy as sa

    from portal.extensions import db
    from services_catalog.models import Procedure

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 518
