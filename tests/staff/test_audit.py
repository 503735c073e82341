"""The audit log: who, what, when, from where, what changed; append-only; searchable by
supervisors and administrators only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEntry, AuditLogIsAppendOnly
from portal.audit.service import record, record_now
from portal.extensions import db
from tests.staff.support import make_staff, sign_in_staff


def test_an_entry_keeps_who_what_when_where_and_the_changes(app):
    staff = make_staff("admin")
    with app.test_request_context(
        "/",
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
        headers={"User-Agent": "Thử nghiệm/1.0", "X-Request-Id": "req-42"},
    ):
        from flask import g, request

        g.request_id = "req-42"
        record(staff, "payment.refunded", ("payments", 17), {"amount": [50000, 0]}, request)
        db.session.commit()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payment.refunded"))
    assert entry.serialize() | {"id": 0, "occurred_at": ""} == {
        "id": 0,
        "occurred_at": "",
        "actor_kind": "staff",
        "actor_id": staff.id,
        "actor_label": staff.email,
        "action": "payment.refunded",
        "target_type": "payments",
        "target_id": "17",
        "changes": {"amount": [50000, 0]},
        "ip_address": "203.0.113.7",
        "user_agent": "Thử nghiệm/1.0",
        "request_id": "req-42",
    }


def test_an_entry_in_a_rolled_back_transaction_is_gone_but_record_now_survives(app):
    staff = make_staff("agent")
    record(staff, "ticket.noted", ("tickets", 1), {})
    record_now(staff, "staff.two_factor_failed", staff, {})
    db.session.rollback()
    assert list(
        db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action != "staff.created"))
    ) == ["staff.two_factor_failed"]


def test_the_orm_refuses_to_change_or_delete_an_entry(app):
    staff = make_staff("agent")
    entry = db.session.scalar(sa.select(AuditEntry))
    entry.action = "something.else"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEntry)))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEntry.action)) == "staff.created" and staff.id


def test_the_database_refuses_updates_of_entries_even_behind_the_orms_back(app):
    make_staff("agent")
    with pytest.raises(sa.exc.DatabaseError):
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE audit_entries SET action = 'forged'"))
    assert db.session.scalar(sa.select(AuditEntry.action)) == "staff.created"


def test_long_values_are_cut_and_nothing_is_dropped(app):
    record("system", "catalog.imported", None, {"report": "x" * 5000, "count": 3})
    db.session.commit()
    entry = db.session.scalar(sa.select(AuditEntry))
    assert len(entry.changes["report"]) == 2001 and entry.changes["count"] == 3
    assert entry.actor_kind == "system" and entry.actor_label == "system"


def test_supervisors_search_the_log_by_actor_action_and_object(app, client):
    supervisor = make_staff("supervisor")
    make_staff("agent", email="agent.x@dichvucong.example.vn")
    sign_in_staff(client, supervisor)
    page = client.get("/quan-tri/nhat-ky?action=staff.created").get_data(as_text=True)
    assert "agent.x@dichvucong.example.vn" in page or "staff_users" in page
    assert page.count("<code>staff.created</code>") == 2
    only_one = client.get(
        f"/quan-tri/nhat-ky?action=staff.&target_type=staff_users&target_id={supervisor.id}&actor=cli"
    )
    assert only_one.get_data(as_text=True).count("<code>staff.created</code>") == 1
    hostile = client.get("/quan-tri/nhat-ky?actor=%25%27%3B--&from=not-a-date&to=2026-13-45&page=-5")
    assert hostile.status_code == 200


def test_agents_cannot_read_the_audit_log(app, client):
    sign_in_staff(client, make_staff("agent"))
    assert client.get("/quan-tri/nhat-ky").status_code == 403
