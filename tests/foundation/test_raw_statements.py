"""portal.db.Raw (hot-path statements straight on the driver) and the machine paths' null
session. Run on SQLite and, in CI's second pass, on PostgreSQL (where Raw goes to psycopg)."""

from datetime import UTC, datetime

import sqlalchemy as sa

from portal.db import Raw, transactional
from portal.extensions import db


def _events(app):
    return db.session.execute(
        sa.text("SELECT external_id, type, result, occurred_at, payload FROM payment_events ORDER BY id")
    ).all()


_INSERT = Raw(
    "INSERT INTO payment_events (source, external_id, type, result, occurred_at, received_at, payload) "
    "VALUES (:source, :external_id, :type, 'ignored', :occurred_at, :received_at, :payload) "
    "ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
    occurred_at=sa.DateTime(timezone=True),
    received_at=sa.DateTime(timezone=True),
    payload=sa.JSON(),
)


def _row(external_id: str, **extra) -> dict:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return {
        "source": "test",
        "external_id": external_id,
        "type": "charge.succeeded",
        "occurred_at": moment,
        "received_at": moment,
        "payload": {"id": external_id, "amount": 200_000, "name": "Nguyễn Văn A"},
        **extra,
    }


def test_a_raw_statement_stores_values_as_the_orm_reads_them_back(app):
    inserted = transactional(_INSERT.first)(_row("evt_1"))
    assert inserted is not None and isinstance(inserted[0], int)
    from portal.payments.models import PaymentEvent

    stored = db.session.scalars(sa.select(PaymentEvent)).one()
    assert stored.external_id == "evt_1"
    assert stored.payload == {"id": "evt_1", "amount": 200_000, "name": "Nguyễn Văn A"}
    assert stored.occurred_at.replace(tzinfo=UTC) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_raw_statement_that_returns_nothing_answers_none_and_a_repeat_changes_nothing(app):
    transactional(_INSERT.first)(_row("evt_1"))
    assert transactional(_INSERT.first)(_row("evt_1")) is None  # ON CONFLICT DO NOTHING
    assert len(_events(app)) == 1


def test_many_writes_one_row_or_several_and_nothing_for_none(app):
    plain = Raw(
        "INSERT INTO payment_events (source, external_id, type, result, received_at, payload) "
        "VALUES (:source, :external_id, :type, 'ignored', :received_at, :payload)",
        received_at=sa.DateTime(timezone=True),
        payload=sa.JSON(),
    )
    transactional(plain.many)([])
    transactional(plain.many)([{k: v for k, v in _row("a").items() if k != "occurred_at"}])
    transactional(plain.many)([{k: v for k, v in _row(x).items() if k != "occurred_at"} for x in "bcd"])
    assert [row[0] for row in _events(app)] == ["a", "b", "c", "d"]


def test_a_raw_statement_rolls_back_with_the_transaction_it_ran_in(app):
    @transactional
    def insert_then_fail():
        _INSERT.first(_row("evt_lost"))
        raise RuntimeError("something after the insert failed")

    try:
        insert_then_fail()
    except RuntimeError:
        pass
    assert _events(app) == []


def test_named_parameters_become_the_drivers_and_casts_and_percent_signs_survive():
    statement = Raw("SELECT CAST(:a AS varchar), :b::text, '50%' WHERE x = 'a:b' AND y = :c")
    assert (
        statement.psycopg
        == "SELECT CAST(%(a)s AS varchar), %(b)s::text, '50%%' WHERE x = 'a:b' AND y = %(c)s"
    )


def test_machine_paths_never_open_or_write_a_session(app, client, monkeypatch):
    inner = app.session_interface.inner  # the configured store, behind MachineSessions
    calls = []
    for name in ("open_session", "save_session"):
        real = getattr(inner, name)
        monkeypatch.setattr(inner, name, lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    # A page opens a session (a CSRF token on the form): its cookie comes back.
    assert "Set-Cookie" in client.get("/tra-cuu-ho-so").headers
    assert calls == ["open_session", "save_session"]
    calls.clear()
    # A machine path neither reads nor writes the store, and never answers with a session
    # cookie, even when the caller sends one.
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    answer = client.post("/api/v1/dossiers/lookup", json={"code": "X-1", "secret": "0912345678"})
    assert answer.status_code == 404
    assert "Set-Cookie" not in answer.headers
    assert calls == []
