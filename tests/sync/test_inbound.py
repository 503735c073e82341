"""Inbound dossier events: the four results, counter-filed dossiers, clocks, jurisdiction."""

from __future__ import annotations

import json

import pytest

from portal.dossiers.models import Dossier, DossierEvent
from tests.sync.support import (
    AGENCY,
    block,
    count,
    dossier,
    event,
    history,
    make_partner,
    post_events,
    results,
)

CODE = f"{AGENCY}-250102-0001"


def test_an_event_about_a_counter_filed_dossier_creates_it_and_is_applied(app, jobs):
    secret = make_partner()
    response = post_events(app.test_client(), secret, [event("H56-1", CODE, 2, 0, dossier=block())])
    assert response.get_json() == {"results": [{"event_id": "H56-1", "result": "applied"}]}
    d = dossier(CODE)
    assert d.status == 2 and d.channel == 1 and d.agency_code == AGENCY and d.procedure_code == "1.001193"
    assert d.applicant_name == "Trần Thị B" and d.applicant_id_number == "038190000001"
    assert d.received_at is not None and d.state == "filed"
    (e,) = history(CODE)
    assert e.source == "partner:H56" and e.external_id == "H56-1" and e.result == "applied"
    assert e.handler_name == "Nguyễn Văn A" and e.handler_unit == "Phòng Tư pháp"


def test_the_same_event_sent_twice_is_a_duplicate_and_changes_nothing(app, jobs):
    secret = make_partner()
    client = app.test_client()
    first = [event("H56-1", CODE, 2, 0, dossier=block())]
    assert results(post_events(client, secret, first)) == ["applied"]
    assert results(post_events(client, secret, first)) == ["duplicate"]
    assert results(post_events(client, secret, first + first)) == ["duplicate", "duplicate"]
    assert count(DossierEvent) == 1 and count(Dossier) == 1


def test_a_stale_event_is_kept_in_history_but_not_applied(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert results(post_events(client, secret, [event("e2", CODE, 4, 5, dossier=block())])) == ["applied"]
    assert results(post_events(client, secret, [event("e1", CODE, 2, 1)])) == ["stale"]
    assert dossier(CODE).status == 4
    assert [(e.status, e.result) for e in history(CODE)] == [(2, "stale"), (4, "applied")]


def test_an_unknown_dossier_without_its_dossier_object_is_rejected(app):
    secret = make_partner()
    response = post_events(app.test_client(), secret, [event("e1", "NOPE-1", 2, 0)])
    (result,) = response.get_json()["results"]
    assert result["result"] == "rejected" and result["error"]["error"] == "UnknownDossier"
    assert count(Dossier) == 0 and count(DossierEvent) == 0


# ------------------------------------------------------------------- malformed batches


def _post_raw(app, secret: str, body: bytes):
    from tests.sync.support import EVENTS_PATH, signed

    return app.test_client().post(EVENTS_PATH, data=body, headers=signed(body, secret))


@pytest.mark.parametrize(
    "body, token",
    [
        (b"not json", "InvalidJson"),
        (b"\xff\xfe", "InvalidJson"),
        (b"[]", "ValidationError"),
        (b'{"events": "x"}', "ValidationError"),
        (b'{"events": []}', "ValidationError"),
        (b'{"events": [1, 2]}', "ValidationError"),
        (b'{"events": [{"event_id": "a"}, null]}', "ValidationError"),
        (b'{"evts": []}', "ValidationError"),
        (b"", "InvalidJson"),
    ],
)
def test_a_malformed_batch_answers_400_and_stores_nothing(app, body, token):
    secret = make_partner()
    response = _post_raw(app, secret, body)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["error"] == token
    assert count(Dossier) == 0 and count(DossierEvent) == 0


def test_more_than_500_events_answers_413_and_stores_nothing(app):
    secret = make_partner()
    events = [event(f"e{i}", CODE, 2, i, dossier=block()) for i in range(501)]
    response = post_events(app.test_client(), secret, events)
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["error"] == "PayloadTooLarge"
    assert count(Dossier) == 0 and count(DossierEvent) == 0


def test_a_body_over_one_mebibyte_answers_413_and_stores_nothing(app):
    secret = make_partner()
    events = [event("e1", CODE, 2, 0, dossier=block(), note="x" * 1000)] * 1
    body = json.dumps({"events": events, "padding": "y" * (1024 * 1024)}).encode()
    response = _post_raw(app, secret, body)
    assert response.status_code == 413
    assert count(Dossier) == 0 and count(DossierEvent) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"status": 11},
        {"status": 0},
        {"status": "4"},
        {"status": True},
        {"event_id": ""},
        {"event_id": 5},
        {"event_id": "x" * 129},
        {"dossier_code": None},
        {"occurred_at": "2025-01-02T08:30:00"},
        {"occurred_at": "yesterday"},
        {"occurred_at": "2999-01-01T00:00:00+07:00"},
        {"due_at": "2025-01-09"},
        {"note": "a\x00b"},
        {"note": "n" * 2001},
        {"handler": "Nguyễn Văn A"},
        {"dossier_code": "A\x00B"},
    ],
)
def test_an_invalid_event_is_rejected_alone_and_the_rest_of_the_batch_is_applied(app, jobs, change):
    secret = make_partner()
    bad = {**event("bad", CODE, 4, 1), **change}
    good = event("good", CODE, 2, 0, dossier=block())
    response = post_events(app.test_client(), secret, [bad, good])
    first, second = response.get_json()["results"]
    assert first["result"] == "rejected" and first["error"]["error"] == "ValidationError"
    assert second == {"event_id": "good", "result": "applied"}
    assert [e.external_id for e in history(CODE)] == ["good"]


@pytest.mark.parametrize(
    "change",
    [
        {"applicant": None},
        {"applicant": {"name": ""}},
        {"agency_code": None},
        {"channel": 7},
        {"received_at": "soon"},
        {"applicant": {"name": "B", "id_number": "12ab"}},
        {"applicant": {"name": "B", "email": "not an address"}},
    ],
)
def test_an_invalid_dossier_object_creates_nothing(app, change):
    secret = make_partner()
    response = post_events(
        app.test_client(), secret, [event("e1", CODE, 2, 0, dossier={**block(), **change})]
    )
    (result,) = response.get_json()["results"]
    assert result["result"] == "rejected" and result["error"]["error"] == "ValidationError"
    assert count(Dossier) == 0 and count(DossierEvent) == 0


# ---------------------------------------------------------------------- status rules


def test_no_event_moves_a_dossier_out_of_a_final_status(app, jobs):
    secret = make_partner()
    client = app.test_client()
    path = [event("e1", CODE, 2, 0, dossier=block()), event("e2", CODE, 4, 1), event("e3", CODE, 10, 2)]
    assert results(post_events(client, secret, path)) == ["applied"] * 3
    later = post_events(client, secret, [event("e4", CODE, 4, 3), event("e5", CODE, 10, 4)]).get_json()
    assert later["results"][0]["result"] == "rejected"
    assert later["results"][0]["error"]["error"] == "InvalidTransition"
    # The same final status again is no move out of it.
    assert later["results"][1]["result"] == "applied"
    assert results(post_events(client, secret, [event("e0", CODE, 1, -1)])) == ["stale"]
    d = dossier(CODE)
    assert d.status == 10 and d.finished_at is not None
    assert "e4" not in {e.external_id for e in history(CODE)}


@pytest.mark.parametrize("final", [3, 7, 10])
def test_every_final_status_closes_the_dossier(app, jobs, final):
    secret = make_partner()
    client = app.test_client()
    results(
        post_events(client, secret, [event("e1", CODE, 2, 0, dossier=block()), event("e2", CODE, final, 1)])
    )
    (answer,) = post_events(client, secret, [event("e3", CODE, 4, 2)]).get_json()["results"]
    assert answer["error"]["error"] == "InvalidTransition" and dossier(CODE).status == final


def test_events_of_one_batch_are_applied_in_the_order_they_happened(app, jobs):
    secret = make_partner()
    batch = [event("e3", CODE, 9, 3), event("e1", CODE, 2, 1, dossier=block()), event("e2", CODE, 4, 2)]
    assert results(post_events(app.test_client(), secret, batch)) == ["applied"] * 3
    assert dossier(CODE).status == 9


# ---------------------------------------------------------------------- jurisdiction


def test_a_partner_cannot_report_dossiers_of_another_province(app):
    secret = make_partner()
    other = "000.00.15.H22-250102-0001"
    answer = post_events(
        app.test_client(), secret, [event("e1", other, 2, 0, dossier=block(agency="000.00.15.H22"))]
    ).get_json()
    assert answer["results"][0]["error"]["error"] == "OutsideJurisdiction"
    assert count(Dossier) == 0


def test_a_partner_cannot_report_on_a_dossier_another_partner_owns(app, jobs):
    h56 = make_partner()
    h22 = make_partner("H22")
    client = app.test_client()
    assert results(post_events(client, h56, [event("e1", CODE, 2, 0, dossier=block())])) == ["applied"]
    answer = post_events(client, h22, [event("x1", CODE, 10, 1)], code="H22").get_json()
    assert answer["results"][0]["error"]["error"] == "OutsideJurisdiction"
    assert dossier(CODE).status == 2


def test_a_ministry_partner_covers_the_agencies_below_it_in_the_tree(app, jobs):
    from tests.dossiers.support import make_service

    make_service()  # imports the bundled agencies, among them 000.00.00.G15
    secret = make_partner("000.00.00.G15")
    code = "000.00.00.G15-250102-0001"
    batch = [event("e1", code, 2, 0, dossier=block(agency="000.00.00.G15", procedure="9.000001"))]
    assert results(post_events(app.test_client(), secret, batch, code="000.00.00.G15")) == ["applied"]


# -------------------------------------------------------------------- clock and people


def test_pauses_are_recorded_and_move_the_due_date_computed_from_the_procedure(app, jobs):
    from tests.dossiers.support import make_service
    from tests.sync.support import pauses

    make_service(processing_days=5)
    secret = make_partner("G15")
    code = "000.00.00.G15-250102-0009"
    first = event("e1", code, 2, 0, dossier=block(agency="000.00.00.G15", procedure="9.000001"))
    assert results(post_events(app.test_client(), secret, [first], code="G15")) == ["applied"]
    due = dossier(code).due_at
    assert due is not None and dossier(code).processing_days == 5
    batch = [event("e2", code, 4, 1), event("e3", code, 5, 2), event("e4", code, 4, 24 * 6)]
    assert results(post_events(app.test_client(), secret, batch, code="G15")) == ["applied"] * 3
    (pause,) = pauses(code)
    assert pause.status == 5 and pause.ended_at is not None
    d = dossier(code)
    assert d.due_at > due and d.original_due_at == due


def test_a_due_date_sent_with_an_event_wins(app, jobs):
    secret = make_partner()
    due = "2025-01-09T17:00:00+07:00"
    batch = [event("e1", CODE, 2, 0, dossier=block(), due_at=due)]
    assert results(post_events(app.test_client(), secret, batch)) == ["applied"]
    assert dossier(CODE).due_at.replace(tzinfo=None).isoformat() == "2025-01-09T10:00:00"


def test_a_counter_filed_dossier_shows_in_the_my_dossiers_of_the_citizen_with_that_verified_id(app, jobs):
    from portal.dossiers import queries
    from tests.dossiers.support import make_user

    citizen = make_user(id_number="038190000001", verified_id=True)
    stranger = make_user(email="x@example.vn", phone="0987654321", id_number="038190000002")
    secret = make_partner()
    assert results(post_events(app.test_client(), secret, [event("e1", CODE, 2, 0, dossier=block())])) == [
        "applied"
    ]
    assert [d["code"] for d in queries.list_dossiers(citizen)["items"]] == [CODE]
    assert queries.list_dossiers(stranger)["items"] == []
    assert dossier(CODE).user_id == citizen.id


def test_the_citizen_is_emailed_through_a_job_for_each_applied_change_only(app, jobs, smtp):
    secret = make_partner()
    client = app.test_client()
    batch = [event("e1", CODE, 2, 0, dossier=block(email="b@example.vn")), event("e2", CODE, 4, 5)]
    assert results(post_events(client, secret, batch)) == ["applied", "applied"]
    assert results(post_events(client, secret, [event("e0", CODE, 1, -1), event("e2", CODE, 4, 5)])) == [
        "stale",
        "duplicate",
    ]
    jobs()
    jobs()
    mails = smtp.to("b@example.vn")
    assert len(mails) == 2
    assert CODE in str(mails[0]["Subject"])


def test_a_dossier_filed_on_the_portal_follows_its_partners_events(app, jobs):
    from tests.dossiers.support import make_filed, make_service, make_user

    service_id, keys = make_service()
    filed = make_filed(make_user(), service_id, keys)
    secret = make_partner("G15")
    batch = [{**event("p1", filed["code"], 2, 0), "occurred_at": "2099-01-01T00:00:00+07:00"}]
    answer = post_events(app.test_client(), secret, batch, code="G15").get_json()["results"]
    assert answer[0]["error"]["error"] == "ValidationError"  # far in the future
    from portal.db import utcnow

    now = utcnow().isoformat()
    batch = [{**event("p1", filed["code"], 2, 0), "occurred_at": now}]
    assert results(post_events(app.test_client(), secret, batch, code="G15")) == ["applied"]
    assert dossier(filed["code"]).status == 2
    assert [e.source for e in history(filed["code"])] == ["portal", "partner:G15"]


def test_ingest_and_the_citizens_own_status_changes_agree_on_the_clock(app, jobs):
    """The batch engine and apply_status (citizen actions) compute the same dossier."""
    from datetime import timedelta

    from portal.db import transactional
    from portal.dossiers import events as dossier_events
    from portal.extensions import db
    from tests.sync.support import T0, pauses

    secret = make_partner()
    path = [(2, 0), (4, 1), (5, 20), (4, 24 * 9), (6, 24 * 10), (4, 24 * 15), (9, 24 * 16), (10, 24 * 17)]
    other = CODE + "-B"
    due = "2025-01-09T17:00:00+07:00"
    first = [
        event("a0", CODE, 2, 0, dossier=block(), due_at=due),
        event("b0", other, 2, 0, dossier=block(), due_at=due),
    ]
    assert results(post_events(app.test_client(), secret, first)) == ["applied", "applied"]
    batch = [event(f"a{i}", CODE, s, h) for i, (s, h) in enumerate(path) if i]
    assert results(post_events(app.test_client(), secret, batch)) == ["applied"] * (len(path) - 1)

    @transactional
    def apply(status, hours):
        d = db.session.get(type(dossier(other)), dossier(other).id)
        dossier_events.apply_status(
            d, status, occurred_at=T0 + timedelta(hours=hours), source="x", notify=False
        )

    for status, hours in path[1:]:
        apply(status, hours)
    a, b = dossier(CODE), dossier(other)
    assert a.due_at.replace(tzinfo=None).isoformat() > "2025-01-09T10:00:00"  # moved by the pauses
    for column in ("status", "last_event_at", "due_at", "original_due_at", "finished_at"):
        assert getattr(a, column) == getattr(b, column), column
    assert [(p.status, p.started_at, p.ended_at) for p in pauses(CODE)] == [
        (p.status, p.started_at, p.ended_at) for p in pauses(other)
    ]
