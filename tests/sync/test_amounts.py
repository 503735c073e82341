"""A status 6 event may say how much the citizen must pay (``amount``): recorded once, in
the batch's transaction, only for events that are stored, and refused per event when it
is not a whole positive number of đồng or comes with another status."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.dossiers.models import Dossier, DossierEvent
from portal.extensions import db
from portal.payments import fees
from portal.payments.models import FeeLine
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
OTHER = f"{AGENCY}-250102-0002"


def _lines() -> list[tuple]:
    db.session.expire_all()
    return [
        (line.dossier_id, line.amount, line.source, line.external_id, line.kind, line.description)
        for line in db.session.scalars(sa.select(FeeLine).order_by(FeeLine.id))
    ]


class _FeeStatements:
    """Counts the statements that write to fee_lines while it is active (the status notices
    the batch's jobs send may read what was asked)."""

    def __init__(self):
        self.count = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if "fee_lines" in statement and not statement.lstrip().upper().startswith("SELECT"):
            self.count += 1

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self)


def test_a_status_6_amount_is_owed_once_even_when_the_event_is_sent_again(app, jobs):
    secret = make_partner()
    client = app.test_client()
    asked = [event("H56-6", CODE, 6, 1, dossier=block(), amount=150_000)]
    assert results(post_events(client, secret, asked)) == ["applied"]
    assert results(post_events(client, secret, asked)) == ["duplicate"]
    assert results(post_events(client, secret, asked + asked)) == ["duplicate", "duplicate"]
    d = dossier(CODE)
    assert d.status == 6
    assert _lines() == [(d.id, 150_000, "partner:H56", "H56-6", "unspecified", fees.PARTNER_DESCRIPTION)]
    assert fees.amounts(d.id) == {"total": 150_000, "paid": 0, "owed": 150_000}


@pytest.mark.parametrize(
    "amount",
    [
        "150000",
        150_000.0,
        -150_000,
        0,
        True,
        False,
        fees.MAX_AMOUNT + 1,
        10**30,
        [150_000],
        {"vnd": 1},
    ],
    ids=[
        "string",
        "float",
        "negative",
        "zero",
        "true",
        "false",
        "over-max",
        "huge",
        "list",
        "object",
    ],
)
def test_an_invalid_amount_rejects_its_event_and_stores_nothing_of_it(app, jobs, amount):
    secret = make_partner()
    batch = [
        event("H56-2", CODE, 2, 0, dossier=block()),
        event("H56-6", CODE, 6, 1, amount=amount),
    ]
    answer = post_events(app.test_client(), secret, batch).get_json()["results"]
    assert answer[0] == {"event_id": "H56-2", "result": "applied"}
    assert answer[1]["result"] == "rejected" and answer[1]["error"]["error"] == "ValidationError"
    assert "amount" in answer[1]["error"]["message"]
    assert [(e.status, e.external_id) for e in history(CODE)] == [(2, "H56-2")]
    assert dossier(CODE).status == 2 and count(FeeLine) == 0


def test_the_largest_amount_allowed_is_recorded_exactly(app, jobs):
    secret = make_partner()
    batch = [event("H56-6", CODE, 6, 1, dossier=block(), amount=fees.MAX_AMOUNT)]
    assert results(post_events(app.test_client(), secret, batch)) == ["applied"]
    assert [line[1] for line in _lines()] == [fees.MAX_AMOUNT]


@pytest.mark.parametrize("status", [2, 4, 5, 9])
def test_an_amount_on_a_status_other_than_6_is_rejected(app, jobs, status):
    secret = make_partner()
    batch = [event("H56-x", CODE, status, 1, dossier=block(), amount=50_000)]
    (answer,) = post_events(app.test_client(), secret, batch).get_json()["results"]
    assert answer["result"] == "rejected" and answer["error"]["error"] == "ValidationError"
    assert "status 6" in answer["error"]["message"]
    assert count(Dossier) == 0 and count(DossierEvent) == 0 and count(FeeLine) == 0


def test_a_status_6_event_without_an_amount_owes_nothing(app, jobs):
    secret = make_partner()
    batch = [
        event("H56-6", CODE, 6, 1, dossier=block()),
        event("H56-n", OTHER, 6, 1, dossier=block(), amount=None),
    ]
    assert results(post_events(app.test_client(), secret, batch)) == ["applied", "applied"]
    assert dossier(CODE).status == 6 and count(FeeLine) == 0


def test_a_payment_request_reported_late_is_stale_but_still_owed(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert results(post_events(client, secret, [event("H56-4", CODE, 4, 5, dossier=block())])) == ["applied"]
    assert results(post_events(client, secret, [event("H56-6", CODE, 6, 2, amount=70_000)])) == ["stale"]
    d = dossier(CODE)
    assert d.status == 4
    assert [(line[1], line[3]) for line in _lines()] == [(70_000, "H56-6")]


def test_a_payment_request_refused_on_a_closed_dossier_adds_nothing(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert results(post_events(client, secret, [event("H56-10", CODE, 10, 1, dossier=block())])) == [
        "applied"
    ]
    (answer,) = post_events(client, secret, [event("H56-6", CODE, 6, 2, amount=70_000)]).get_json()["results"]
    assert answer["result"] == "rejected" and answer["error"]["error"] == "InvalidTransition"
    assert count(FeeLine) == 0


def test_an_unknown_dossier_or_one_outside_the_jurisdiction_owes_nothing(app, jobs):
    secret = make_partner()
    batch = [
        event("H56-a", "NOPE-1", 6, 1, amount=70_000),
        event(
            "H56-b", "000.00.15.H22-250102-0001", 6, 1, dossier=block(agency="000.00.15.H22"), amount=70_000
        ),
    ]
    answer = post_events(app.test_client(), secret, batch).get_json()["results"]
    assert [a["error"]["error"] for a in answer] == ["UnknownDossier", "OutsideJurisdiction"]
    assert count(FeeLine) == 0


def test_a_mixed_batch_records_the_amounts_of_its_stored_events_in_one_statement(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert results(
        post_events(client, secret, [event("H56-old", OTHER, 6, 9, dossier=block(), amount=10_000)])
    ) == ["applied"]
    batch = [
        event("H56-1", CODE, 2, 0, dossier=block()),
        event("H56-2", CODE, 6, 1, amount=100_000),
        event("H56-3", CODE, 4, 2),
        event("H56-4", CODE, 6, 3, amount=25_000),
        event("H56-2", CODE, 6, 1, amount=100_000),  # the same event twice in the batch
        event("H56-5", CODE, 6, 4, amount="25000"),  # rejected: not a number
        event("H56-6", OTHER, 4, 1, amount=5_000),  # rejected: not status 6
        event("H56-7", OTHER, 6, 2, amount=30_000),  # stale: older than H56-old
        event("H56-old", OTHER, 6, 9, amount=10_000),  # already sent
    ]
    with _FeeStatements() as statements:
        answer = post_events(client, secret, batch).get_json()["results"]
    assert [a["result"] for a in answer] == [
        "applied",
        "applied",
        "applied",
        "applied",
        "duplicate",
        "rejected",
        "rejected",
        "stale",
        "duplicate",
    ]
    assert statements.count == 1
    code_id, other_id = dossier(CODE).id, dossier(OTHER).id
    assert sorted((line[0], line[1], line[3]) for line in _lines()) == sorted(
        [
            (other_id, 10_000, "H56-old"),
            (code_id, 100_000, "H56-2"),
            (code_id, 25_000, "H56-4"),
            (other_id, 30_000, "H56-7"),
        ]
    )
    assert fees.amounts(code_id)["owed"] == 125_000 and fees.amounts(other_id)["owed"] == 40_000


def test_a_batch_without_amounts_does_not_touch_what_dossiers_owe(app, jobs):
    secret = make_partner()
    batch = [
        event("H56-1", CODE, 2, 0, dossier=block()),
        event("H56-2", CODE, 6, 1),
        event("H56-3", OTHER, 4, 1, dossier=block()),
    ]
    with _FeeStatements() as statements:
        assert results(post_events(app.test_client(), secret, batch)) == ["applied", "applied", "applied"]
    assert statements.count == 0


def test_the_email_about_a_status_6_event_says_how_much_to_pay(app, jobs, smtp):
    secret = make_partner()
    client = app.test_client()
    batch = [
        event("H56-2", CODE, 2, 0, dossier=block(email="b@example.vn")),
        event("H56-6", CODE, 6, 1, amount=1_250_000),
    ]
    assert results(post_events(client, secret, batch)) == ["applied", "applied"]
    jobs()
    jobs()
    bodies = [smtp.body(message) for message in smtp.to("b@example.vn")]
    assert len(bodies) == 2
    asked = [body for body in bodies if "1.250.000 đ" in body]
    assert len(asked) == 1  # the status 6 notice, not the status 2 one
    assert "Số tiền cần nộp: 1.250.000 đ" in asked[0]  # in Vietnamese, the applicant's language
