"""Following dossiers: the citizen's list, one dossier whole, its timeline and clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.db import transactional
from portal.dossiers import queries, service
from portal.dossiers.models import Dossier
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from tests.dossiers.support import freeze, make_filed, make_service, make_user, partner_event, reload

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@transactional
def counter_dossier(*, code: str, id_number: str, status: int = 4) -> int:
    """A dossier filed at a counter, as partner sync will record it."""
    received = datetime(2025, 3, 3, 8, 0, tzinfo=VN)
    dossier = Dossier(
        state="filed",
        channel=1,
        code=code,
        procedure_code="1.001193",
        agency_code="000.00.15.H56",
        applicant_name="Trần Thị Bình",
        applicant_id_number=id_number,
        received_at=received,
        due_at=received + timedelta(days=7),
    )
    db.session.add(dossier)
    db.session.flush()
    service.apply_status(
        dossier, status, occurred_at=received, source="partner:H56", external_id=code, notify=False
    )
    return dossier.id


def test_the_list_holds_the_citizens_filed_dossiers_and_counter_ones_with_their_verified_id(app, jobs):
    owner = make_user(id_number="038190000001", verified_id=True)
    service_id, keys = make_service()
    filed = make_filed(owner, service_id, keys)
    draft_id = service.create_draft(owner, service_id)
    counter_id = counter_dossier(code="000.00.15.H56-250303-0001", id_number="038190000001")
    counter_dossier(code="000.00.15.H56-250303-0002", id_number="001090000009")
    stranger = make_user(full_name="Người Khác", email="khac@example.vn", phone="0987654321")
    make_filed(stranger, service_id, keys)

    listed = queries.list_dossiers(owner)
    assert {item["id"] for item in listed["items"]} == {filed["id"], counter_id}
    assert listed["total"] == 2
    assert draft_id not in {item["id"] for item in listed["items"]}
    assert [d["id"] for d in queries.list_drafts(owner)] == [draft_id]
    assert queries.get_dossier_for_owner(owner, counter_id)["channel"] == 1


def test_an_id_number_typed_at_registration_alone_does_not_show_counter_dossiers(app):
    typed_only = make_user(id_number="038190000001", verified_id=False)
    counter_id = counter_dossier(code="000.00.15.H56-250303-0001", id_number="038190000001")
    assert queries.list_dossiers(typed_only)["total"] == 0
    with pytest.raises(NotFound):
        queries.get_dossier_for_owner(typed_only, counter_id)


def test_the_list_filters_by_status_and_by_part_of_the_code_with_wildcards_taken_literally(app, jobs):
    owner = make_user(id_number="038190000001", verified_id=True)
    counter_dossier(code="000.00.15.H56-250303-0001", id_number="038190000001", status=4)
    counter_dossier(code="000.00.15.H56-250303-0002", id_number="038190000001", status=9)
    assert [i["code"] for i in queries.list_dossiers(owner, status=9)["items"]] == [
        "000.00.15.H56-250303-0002"
    ]
    assert queries.list_dossiers(owner, unsafe_code_query="0001")["total"] == 1
    assert queries.list_dossiers(owner, unsafe_code_query="%")["total"] == 0
    assert queries.list_dossiers(owner, unsafe_code_query="_")["total"] == 0
    assert queries.list_dossiers(owner, per_page=1, page=2)["items"][0]["code"].endswith("0001")
    with pytest.raises(ValidationFailed):
        queries.list_dossiers(owner, status=11)
    with pytest.raises(ValidationFailed):
        queries.list_dossiers(owner, page=0)


def test_a_dossier_shows_its_timeline_in_vietnam_time_with_status_words_and_handler_unit(
    app, jobs, monkeypatch
):
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    filed = make_filed(owner, service_id, keys)
    partner_event(
        filed["id"],
        2,
        datetime(2025, 3, 3, 14, 0, tzinfo=VN),
        external_id="e1",
        handler={"name": "Nguyễn Văn A", "unit": "Phòng Tư pháp"},
        note="Tiếp nhận hồ sơ",
    )
    partner_event(filed["id"], 6, datetime(2025, 3, 4, 9, 0, tzinfo=VN), external_id="e2")
    partner_event(filed["id"], 4, datetime(2025, 3, 6, 9, 0, tzinfo=VN), external_id="e3")
    freeze(monkeypatch, datetime(2025, 3, 7, 9, 0, tzinfo=VN))
    detail = queries.get_dossier_for_owner(owner, filed["id"])
    assert [e["status"] for e in detail["events"]] == [1, 2, 6, 4]
    accepted = detail["events"][1]
    assert accepted["occurred_at"] == "2025-03-03T14:00:00+07:00"
    assert accepted["status_name"] == {"vi": "Được tiếp nhận", "en": "Accepted"}
    assert accepted["handler_unit"] == "Phòng Tư pháp" and accepted["note"] == "Tiếp nhận hồ sơ"
    assert "handler_name" not in accepted
    assert detail["pauses"] == [
        {
            "status": 6,
            "status_name": {"vi": "Yêu cầu thực hiện nghĩa vụ tài chính", "en": "Payment required"},
            "started_at": "2025-03-04T09:00:00+07:00",
            "ended_at": "2025-03-06T09:00:00+07:00",
            "working_days": 2,
        }
    ]
    assert detail["original_due_at"] == "2025-03-10T17:00:00+07:00"
    assert detail["due_at"] == "2025-03-12T17:00:00+07:00"
    assert detail["received_at"] == "2025-03-03T09:00:00+07:00"
    assert detail["status"] == 4
    assert [d["required"] for d in detail["documents"]] == [True, False, False]
    assert len(detail["documents"][0]["attachments"]) == 1
    assert detail["can_withdraw"] and not detail["can_rate"] and not detail["can_supplement"]


def test_a_dossier_is_on_time_paused_late_or_early_by_its_due_date(app, jobs, monkeypatch):
    freeze(monkeypatch, datetime(2025, 3, 3, 9, 0, tzinfo=VN))
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    dossier_id = make_filed(owner, service_id, keys)["id"]
    assert queries.get_dossier_for_owner(owner, dossier_id)["timeliness"] == "on_time"
    partner_event(dossier_id, 5, datetime(2025, 3, 4, 9, 0, tzinfo=VN))
    assert queries.get_dossier_for_owner(owner, dossier_id)["timeliness"] == "paused"
    partner_event(dossier_id, 4, datetime(2025, 3, 4, 11, 0, tzinfo=VN))
    freeze(monkeypatch, datetime(2025, 3, 11, 9, 0, tzinfo=VN))
    assert queries.get_dossier_for_owner(owner, dossier_id)["timeliness"] == "late"
    partner_event(dossier_id, 9, datetime(2025, 3, 7, 9, 0, tzinfo=VN))
    assert queries.get_dossier_for_owner(owner, dossier_id)["timeliness"] == "early"


def test_drafts_and_unknown_ids_are_not_found_as_dossiers(app):
    owner = make_user()
    service_id, _ = make_service()
    draft_id = service.create_draft(owner, service_id)
    for unsafe_id in (draft_id, 424242, "x", None):
        with pytest.raises(NotFound):
            queries.get_dossier_for_owner(owner, unsafe_id)
    assert queries.get_draft(owner, draft_id)["form_schema"]["type"] == "object"
    assert reload(draft_id).state == "draft"
