"""The catalog imports screen (administrators): past runs with counts and warnings, and an
import of the bundled catalog started from the screen and run by a job."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from services_catalog.models import CatalogImport
from tests.dossiers.support import make_service
from tests.staff.backoffice_support import audit, signed_in

PAGE = "/quan-tri/danh-muc/nhap"


def _runs() -> list[CatalogImport]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CatalogImport).order_by(CatalogImport.id)))


def test_an_administrator_starts_the_bundled_import_which_runs_as_a_job_and_is_listed(app, jobs):
    client, staff, token = signed_in(app, "admin")
    assert client.post(PAGE, data={"csrf_token": token, "confirm": "y"}).status_code == 302
    jobs()
    (run,) = _runs()
    assert run.started_by == staff.email and run.created > 500 and not run.full
    (entry,) = audit("catalog.import_started")
    assert entry.actor_id == staff.id
    page = client.get(PAGE).get_data(as_text=True)
    assert staff.email in page and str(run.created) in page
    detail = client.get(f"{PAGE}/{run.id}")
    assert detail.status_code == 200


def test_an_import_run_keeps_its_warnings_for_the_screen(app):
    make_service()  # imported without agencies known? the run is recorded either way
    (run,) = _runs()
    client, _staff, _token = signed_in(app, "admin")
    page = client.get(f"{PAGE}/{run.id}").get_data(as_text=True)
    assert run.source in page
    for warning in run.warnings:
        assert warning["message"] in page


def test_starting_an_import_needs_the_confirmation_and_the_csrf_token(app):
    client, _staff, token = signed_in(app, "admin")
    response = client.post(PAGE, data={"csrf_token": token})
    assert response.status_code == 400 and 'id="confirm-error"' in response.get_data(as_text=True)
    assert client.post(PAGE, data={"confirm": "y"}).status_code == 400
    assert _runs() == [] and audit("catalog.import_started") == []


def test_unknown_imports_are_not_found_and_supervisors_are_refused(app):
    client, _staff, _token = signed_in(app, "admin")
    assert client.get(f"{PAGE}/999999").status_code == 404
    other, _s, token = signed_in(app, "supervisor")
    assert other.get(PAGE).status_code == 403
    assert other.post(PAGE, data={"csrf_token": token, "confirm": "y"}).status_code == 403
