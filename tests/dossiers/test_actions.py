"""The citizen's actions and status changes: withdrawal, supplement, rating, stale and final events."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.dossiers import events as events_module
from portal.dossiers import service
from portal.dossiers.models import DossierEvent, DossierPause, Rating
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from tests.dossiers.support import (
    freeze,
    make_filed,
    make_service,
    make_user,
    partner_event,
    pdf_bytes,
    png_bytes,
    reload,
    required_key,
    upload,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def filed(app, jobs, monkeypatch):
    """A dossier received on Monday 3 March 2025 at 09:00, due five working days later."""
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    return owner, make_filed(owner, service_id, keys)["id"], keys


def events(dossier_id):
    return db.session.scalars(
        sa.select(DossierEvent).where(DossierEvent.dossier_id == dossier_id).order_by(DossierEvent.id)
    ).all()


# ------------------------------------------------------------------------------ withdrawal


def test_withdrawing_records_status_7_from_the_citizen_and_closes_the_dossier(filed):
    owner, dossier_id, _ = filed
    service.request_withdrawal(owner, dossier_id, "  Tôi nộp nhầm thủ tục.  ")
    dossier = reload(dossier_id)
    assert dossier.status == 7 and dossier.finished_at is not None
    last = events(dossier_id)[-1]
    assert (last.status, last.source, last.note, last.result) == (
        7,
        "citizen",
        "Tôi nộp nhầm thủ tục.",
        "applied",
    )
    with pytest.raises(Conflict) as error:
        service.request_withdrawal(owner, dossier_id, "Lần nữa")
    assert error.value.token == "InvalidTransition"


def test_a_withdrawal_needs_a_reason(filed):
    owner, dossier_id, _ = filed
    for reason in ("", "   ", "x" * 1001):
        with pytest.raises(ValidationFailed) as error:
            service.request_withdrawal(owner, dossier_id, reason)
        assert error.value.details[0]["field"] == "reason"
    assert reload(dossier_id).status == 1


def test_a_closed_dossier_cannot_be_withdrawn(filed):
    owner, dossier_id, _ = filed
    partner_event(dossier_id, 10, datetime(2025, 3, 7, 9, 0, tzinfo=VN))
    with pytest.raises(Conflict):
        service.request_withdrawal(owner, dossier_id, "Muộn rồi")


# ------------------------------------------------------------------------------ supplement


def test_a_supplement_resumes_the_clock_and_keeps_the_first_due_date(filed, monkeypatch, upload_dir):
    owner, dossier_id, keys = filed
    partner_event(dossier_id, 2, datetime(2025, 3, 3, 14, 0, tzinfo=VN))
    partner_event(dossier_id, 5, datetime(2025, 3, 4, 10, 0, tzinfo=VN), note="Bổ sung tờ khai có chữ ký")
    assert reload(dossier_id).status == 5
    freeze(monkeypatch, datetime(2025, 3, 6, 10, 0, tzinfo=VN))  # two working days later
    added = service.supplement(
        owner, dossier_id, [(required_key(keys), upload(png_bytes(), "to-khai-ky.png"))]
    )
    assert added[0]["kind"] == "supplement"
    service.complete_supplement(owner, dossier_id)
    dossier = reload(dossier_id)
    assert dossier.status == 4
    assert dossier.original_due_at.isoformat().startswith("2025-03-10T10:00")  # 17:00 in Vietnam
    assert dossier.due_at.isoformat().startswith("2025-03-12T10:00")
    (pause,) = db.session.scalars(sa.select(DossierPause)).all()
    assert pause.status == 5 and pause.ended_at is not None
    last = events(dossier_id)[-1]
    assert (last.status, last.source) == (4, "citizen")
    with pytest.raises(Conflict):
        service.complete_supplement(owner, dossier_id)


def test_supplement_files_are_refused_unless_a_supplement_was_requested(filed):
    owner, dossier_id, keys = filed
    with pytest.raises(Conflict) as error:
        service.supplement(owner, dossier_id, [(required_key(keys), upload(pdf_bytes()))])
    assert error.value.token == "NoSupplementRequested"
    with pytest.raises(Conflict):
        service.complete_supplement(owner, dossier_id)


def test_a_supplement_must_bring_a_file(filed):
    owner, dossier_id, keys = filed
    partner_event(dossier_id, 5, datetime(2025, 3, 4, 10, 0, tzinfo=VN))
    with pytest.raises(ValidationFailed) as error:
        service.complete_supplement(owner, dossier_id)
    assert error.value.token == "NothingSupplemented"
    with pytest.raises(ValidationFailed):
        service.supplement(owner, dossier_id, [])
    attachment = service.supplement(owner, dossier_id, [(required_key(keys), upload(pdf_bytes()))])[0]
    service.remove_attachment(owner, attachment["id"])  # a supplement file may be replaced before sending
    assert reload(dossier_id).status == 5


# --------------------------------------------------------------------------- status events


def test_an_event_older_than_the_newest_is_stored_as_stale_and_changes_nothing(filed):
    _, dossier_id, _ = filed
    assert partner_event(dossier_id, 4, datetime(2025, 3, 4, 9, 0, tzinfo=VN), external_id="e2") == "applied"
    assert partner_event(dossier_id, 2, datetime(2025, 3, 3, 14, 0, tzinfo=VN), external_id="e1") == "stale"
    assert partner_event(dossier_id, 5, datetime(2025, 3, 3, 15, 0, tzinfo=VN), external_id="e0") == "stale"
    dossier = reload(dossier_id)
    assert dossier.status == 4
    assert dossier.last_event_at.isoformat().startswith("2025-03-04T02:00")
    assert [e.result for e in events(dossier_id)] == ["applied", "applied", "stale", "stale"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DossierPause)) == 0


@pytest.mark.parametrize("final", [3, 7, 10])
def test_nothing_moves_a_dossier_out_of_a_final_status_but_older_events_are_kept(filed, final):
    _, dossier_id, _ = filed
    partner_event(dossier_id, final, datetime(2025, 3, 5, 9, 0, tzinfo=VN))
    assert reload(dossier_id).finished_at is not None
    with pytest.raises(Conflict) as error:
        partner_event(dossier_id, 4, datetime(2025, 3, 6, 9, 0, tzinfo=VN), external_id="late")
    assert error.value.token == "InvalidTransition"
    assert "late" not in {e.external_id for e in events(dossier_id)}
    assert partner_event(dossier_id, 4, datetime(2025, 3, 4, 9, 0, tzinfo=VN), external_id="old") == "stale"
    assert reload(dossier_id).status == final


def test_payment_and_stopped_pauses_open_and_close_and_a_partner_due_date_wins(filed):
    _, dossier_id, _ = filed
    partner_event(dossier_id, 6, datetime(2025, 3, 4, 9, 0, tzinfo=VN))
    partner_event(dossier_id, 8, datetime(2025, 3, 5, 9, 0, tzinfo=VN))
    partner_event(
        dossier_id, 4, datetime(2025, 3, 6, 9, 0, tzinfo=VN), due_at=datetime(2025, 3, 20, 17, 0, tzinfo=VN)
    )
    pauses = db.session.scalars(sa.select(DossierPause).order_by(DossierPause.started_at)).all()
    assert [(p.status, p.ended_at is not None) for p in pauses] == [(6, True), (8, True)]
    dossier = reload(dossier_id)
    assert dossier.due_at.isoformat().startswith("2025-03-20T10:00")
    assert dossier.original_due_at.isoformat().startswith("2025-03-10T10:00")


def test_a_status_change_is_mailed_to_the_applicant_once_even_if_the_job_runs_twice(filed, smtp, jobs):
    _, dossier_id, _ = filed
    jobs()
    smtp.messages.clear()
    partner_event(dossier_id, 9, datetime(2025, 3, 5, 9, 0, tzinfo=VN), note="Mời nhận kết quả")
    jobs()
    event_id = events(dossier_id)[-1].id
    events_module.send_status_notice(event_id)
    jobs()
    (message,) = smtp.to("binh@example.vn")
    assert "Đã xử lý xong" in message["Subject"]
    assert "Mời nhận kết quả" in smtp.body(message)


# ---------------------------------------------------------------------------------- rating


def test_a_delivered_dossier_is_rated_once(filed):
    owner, dossier_id, _ = filed
    with pytest.raises(Conflict) as error:
        service.rate(owner, dossier_id, "satisfied")
    assert error.value.token == "NotDelivered"
    partner_event(dossier_id, 10, datetime(2025, 3, 7, 9, 0, tzinfo=VN))
    with pytest.raises(ValidationFailed):
        service.rate(owner, dossier_id, "ecstatic")
    service.rate(owner, dossier_id, "very_satisfied", "Nhanh, đúng hẹn.")
    with pytest.raises(Conflict) as error:
        service.rate(owner, dossier_id, "not_satisfied")
    assert error.value.token == "AlreadyRated"
    (rating,) = db.session.scalars(sa.select(Rating)).all()
    assert (rating.value, rating.comment) == ("very_satisfied", "Nhanh, đúng hẹn.")


# ------------------------------------------------------------------------ another citizen


def test_every_function_taking_an_id_answers_not_found_to_another_citizen(app, jobs):
    owner = make_user()
    service_id, keys = make_service()
    draft_id = service.create_draft(owner, service_id)
    draft_file = service.add_attachment(owner, draft_id, required_key(keys), upload(pdf_bytes()))
    filed_id = make_filed(owner, service_id, keys)["id"]
    partner_event(filed_id, 5, datetime(2099, 1, 5, 9, 0, tzinfo=VN))
    filed_file = service.supplement(owner, filed_id, [(required_key(keys), upload(pdf_bytes()))])[0]
    stranger = make_user(full_name="Kẻ Lạ", email="la@example.vn", phone="0987654321")
    from portal.dossiers import queries

    calls = {
        "save_draft": lambda: service.save_draft(stranger, draft_id, {"applicant_name": "X"}),
        "discard_draft": lambda: service.discard_draft(stranger, draft_id),
        "add_attachment": lambda: service.add_attachment(
            stranger, draft_id, required_key(keys), upload(pdf_bytes())
        ),
        "remove_attachment (draft)": lambda: service.remove_attachment(stranger, draft_file["id"]),
        "remove_attachment (filed)": lambda: service.remove_attachment(stranger, filed_file["id"]),
        "open_attachment": lambda: service.open_attachment(stranger, draft_file["id"]),
        "submit": lambda: service.submit(stranger, draft_id),
        "get_draft": lambda: queries.get_draft(stranger, draft_id),
        "get_dossier_for_owner": lambda: queries.get_dossier_for_owner(stranger, filed_id),
        "request_withdrawal": lambda: service.request_withdrawal(stranger, filed_id, "Không phải của tôi"),
        "supplement": lambda: service.supplement(
            stranger, filed_id, [(required_key(keys), upload(pdf_bytes()))]
        ),
        "complete_supplement": lambda: service.complete_supplement(stranger, filed_id),
        "rate": lambda: service.rate(stranger, filed_id, "satisfied"),
    }
    answered = {}
    for name, call in calls.items():
        with pytest.raises(NotFound) as error:
            call()
        answered[name] = error.value.status_code
    assert set(answered.values()) == {404}
    dossier = reload(filed_id)
    assert dossier.status == 5 and reload(draft_id).state == "draft"
    assert service.open_attachment(owner, draft_file["id"])[0].exists()
    assert queries.list_dossiers(stranger)["total"] == 0 and queries.list_drafts(stranger) == []
