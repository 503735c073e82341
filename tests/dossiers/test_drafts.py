"""Drafts: only offered services, answers kept as typed within the form and a size."""

import pytest
import sqlalchemy as sa

from portal.dossiers import queries, service
from portal.dossiers.models import Dossier
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from services_catalog.models import OnlineService
from tests.dossiers.support import FORM, make_service, make_user, reload


def test_a_draft_of_an_offered_service_starts_with_what_the_account_knows(app):
    user = make_user(id_number="038190000001")
    service_id, _ = make_service()
    draft_id = service.create_draft(user, service_id)
    draft = reload(draft_id)
    assert draft.state == "draft" and draft.code is None and draft.status is None
    assert draft.agency_code == "000.00.00.G15" and draft.procedure_code == "9.000001"
    assert draft.form_data == {
        "applicant_name": "Trần Thị Bình",
        "applicant_id_number": "038190000001",
        "applicant_phone": "0912345678",
        "applicant_email": "binh@example.vn",
    }
    assert [d["id"] for d in queries.list_drafts(user)] == [draft_id]
    assert queries.list_dossiers(user)["total"] == 0


@pytest.mark.parametrize("unsafe_id", [999999, "abc", None, -1, "1 OR 1=1"])
def test_an_unknown_online_service_is_not_found(app, unsafe_id):
    user = make_user()
    with pytest.raises(NotFound):
        service.create_draft(user, unsafe_id)


def test_an_inactive_service_or_retired_procedure_gets_no_draft(app):
    user = make_user()
    service_id, _ = make_service()
    online = db.session.get(OnlineService, service_id)
    online.active = False
    db.session.commit()
    with pytest.raises(NotFound):
        service.create_draft(user, service_id)
    online.active = True
    online.procedure.active = False
    db.session.commit()
    with pytest.raises(NotFound):
        service.create_draft(user, service_id)


def test_saving_keeps_what_was_typed_but_only_the_fields_the_form_has(app):
    user = make_user()
    service_id, _ = make_service()
    draft_id = service.create_draft(user, service_id)
    typed = {
        **FORM,
        "applicant_phone": "09-not-yet",
        "is_admin": True,
        "applicant_address": {"province": "01", "street": "", "evil": "<script>"},
    }
    service.save_draft(user, draft_id, typed)
    kept = reload(draft_id).form_data
    assert kept["applicant_phone"] == "09-not-yet"
    assert "is_admin" not in kept
    assert kept["applicant_address"] == {"province": "01", "street": ""}


def test_a_draft_larger_than_64_kib_or_not_an_object_is_refused_and_the_old_answers_stay(app):
    user = make_user()
    service_id, _ = make_service()
    draft_id = service.create_draft(user, service_id)
    service.save_draft(user, draft_id, FORM)
    with pytest.raises(ValidationFailed) as error:
        service.save_draft(user, draft_id, {**FORM, "request_details": "x" * (65 * 1024)})
    assert error.value.token == "DraftTooLarge"
    with pytest.raises(ValidationFailed):
        service.save_draft(user, draft_id, ["not", "a", "form"])
    assert reload(draft_id).form_data == FORM


def test_a_citizen_has_at_most_the_configured_number_of_drafts(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOSSIER_MAX_DRAFTS", 2)
    user = make_user()
    service_id, _ = make_service()
    service.create_draft(user, service_id)
    service.create_draft(user, service_id)
    with pytest.raises(Conflict) as error:
        service.create_draft(user, service_id)
    assert error.value.token == "TooManyDrafts"


def test_discarding_a_draft_deletes_it(app):
    user = make_user()
    service_id, _ = make_service()
    draft_id = service.create_draft(user, service_id)
    service.discard_draft(user, draft_id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0
    with pytest.raises(NotFound):
        service.discard_draft(user, draft_id)
